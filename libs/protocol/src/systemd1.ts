/**
 * The slice of org.freedesktop.systemd1 that machine clients use (systemd 252 signatures): what
 * machined answers on hosts whose PID 1 is not systemd, and what its systemd backend calls where
 * PID 1 is. Anything not listed here is not offered, so other tools see no systemd.
 */
import { SYSTEMD1_MANAGER_INTERFACE, SYSTEMD1_SCOPE_INTERFACE, SYSTEMD1_UNIT_INTERFACE } from './bus-names.js';
import { arg, method, prop, signal, type InterfaceSpec } from './interface-model.js';

export const SYSTEMD1_SERVICE_INTERFACE = 'org.freedesktop.systemd1.Service';
export const SYSTEMD1_JOB_INTERFACE = 'org.freedesktop.systemd1.Job';
export const SYSTEMD1_JOB_PATH_PREFIX = '/org/freedesktop/systemd1/job';

const name = arg('name', 's');
const mode = arg('mode', 's');
const job = arg('job', 'o');

export const SYSTEMD1_MANAGER: InterfaceSpec = {
  name: SYSTEMD1_MANAGER_INTERFACE,
  methods: [
    method('GetUnit', [name], [arg('unit', 'o')]),
    method('GetUnitByPID', [arg('pid', 'u')], [arg('unit', 'o')]),
    method('LoadUnit', [name], [arg('unit', 'o')]),
    method('StartUnit', [name, mode], [job]),
    method('StopUnit', [name, mode], [job]),
    method('KillUnit', [name, arg('whom', 's'), arg('signal', 'i')]),
    method('GetUnitProcesses', [name], [arg('processes', 'a(sus)')]),
    method('SetUnitProperties', [name, arg('runtime', 'b'), arg('properties', 'a(sv)')]),
    method('Subscribe'),
    method('Unsubscribe'),
    method('Reload'),
    method('EnableUnitFiles', [arg('files', 'as'), arg('runtime', 'b'), arg('force', 'b')], [arg('carries_install_info', 'b'), arg('changes', 'a(sss)')]),
    method('DisableUnitFiles', [arg('files', 'as'), arg('runtime', 'b')], [arg('changes', 'a(sss)')]),
  ],
  properties: [],
  signals: [
    signal('UnitNew', [arg('id', 's'), arg('unit', 'o')]),
    signal('UnitRemoved', [arg('id', 's'), arg('unit', 'o')]),
    signal('JobNew', [arg('id', 'u'), job, arg('unit', 's')]),
    signal('JobRemoved', [arg('id', 'u'), job, arg('unit', 's'), arg('result', 's')]),
    signal('Reloading', [arg('active', 'b')]),
  ],
};

export const SYSTEMD1_UNIT: InterfaceSpec = {
  name: SYSTEMD1_UNIT_INTERFACE,
  methods: [method('Kill', [arg('whom', 's'), arg('signal', 'i')]), method('Stop', [mode], [job]), method('SetProperties', [arg('runtime', 'b'), arg('properties', 'a(sv)')])],
  properties: [
    prop('Id', 's'),
    prop('Names', 'as'),
    prop('Description', 's'),
    prop('LoadState', 's', 'true'),
    prop('ActiveState', 's', 'true'),
    prop('SubState', 's', 'true'),
    prop('FragmentPath', 's'),
  ],
  signals: [],
};

/** Cgroup and kill settings shared by the Scope and Service interfaces (the subset machined keeps). */
const cgroupProperties = [
  prop('Slice', 's', 'false'),
  prop('ControlGroup', 's', 'false'),
  prop('MemoryCurrent', 't', 'false'),
  prop('CPUUsageNSec', 't', 'false'),
  prop('TasksCurrent', 't', 'false'),
  prop('TasksMax', 't', 'false'),
  prop('MemoryMax', 't', 'false'),
  prop('CPUWeight', 't', 'false'),
  prop('KillMode', 's', 'false'),
  prop('KillSignal', 'i', 'false'),
];

export const SYSTEMD1_SCOPE: InterfaceSpec = {
  name: SYSTEMD1_SCOPE_INTERFACE,
  methods: [method('Abandon')],
  properties: [prop('Controller', 's', 'false'), prop('Result', 's', 'false'), ...cgroupProperties],
  signals: [signal('RequestStop')],
};

export const SYSTEMD1_SERVICE: InterfaceSpec = {
  name: SYSTEMD1_SERVICE_INTERFACE,
  methods: [],
  properties: [prop('MainPID', 'u', 'false'), prop('Result', 's', 'false'), ...cgroupProperties],
  signals: [],
};

export const SYSTEMD1_JOB: InterfaceSpec = {
  name: SYSTEMD1_JOB_INTERFACE,
  methods: [method('Cancel')],
  properties: [prop('Id', 'u'), prop('Unit', '(so)'), prop('JobType', 's'), prop('State', 's', 'false')],
  signals: [],
};
