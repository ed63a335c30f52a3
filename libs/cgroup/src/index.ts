export type { Accounting, Hierarchy, ScopeBackend, ScopeSpec, UnitLocation } from './scope-backend.js';
export { CgroupError } from './cgroup-error.js';
export { detectHierarchy, parseMountinfo, type CgroupLayout } from './hierarchy.js';
export { cgEscape, cgUnescape, slicePath, unitCgroupPath, unitFromCgroupPath, unitLocation } from './cgroup-path.js';
export { parseProcCgroup, readProcCgroup, systemdCgroupPath, type ProcCgroupEntry } from './proc-cgroup.js';
export { CgroupfsBackend, type CgroupfsBackendOptions } from './cgroupfs-backend.js';
export { SystemdBackend, type SystemdBackendOptions } from './systemd-backend.js';
export {
  selectScopeBackend, systemdIsServiceManager, type SelectScopeBackendOptions, type SystemdProbe,
} from './select-backend.js';
