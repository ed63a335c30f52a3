/**
 * org.freedesktop.machine1 as systemd 252 defines it (Debian 12's machinectl, nspawn and
 * libnss_mymachines are the reference clients): the Manager, Machine and Image interfaces with
 * upstream's argument names (org.freedesktop.machine1(5)).
 */
import { MACHINE1_IMAGE_INTERFACE, MACHINE1_MACHINE_INTERFACE, MACHINE1_MANAGER_INTERFACE } from './bus-names.js';
import { arg, method, prop, signal, type InterfaceSpec } from './interface-model.js';

const name = arg('name', 's');
const path = arg('path', 'o');
const scopeProperties = arg('scope_properties', 'a(sv)');
const createArgs = [name, arg('id', 'ay'), arg('service', 's'), arg('class', 's'), arg('leader', 'u'), arg('root_directory', 's')];
const ptyOut = [arg('pty', 'h'), arg('pty_path', 's')];

export const MANAGER_INTERFACE: InterfaceSpec = {
  name: MACHINE1_MANAGER_INTERFACE,
  methods: [
    method('GetMachine', [name], [arg('machine', 'o')]),
    method('GetImage', [name], [arg('image', 'o')]),
    method('GetMachineByPID', [arg('pid', 'u')], [arg('machine', 'o')]),
    method('ListMachines', [], [arg('machines', 'a(ssso)')]),
    method('ListImages', [], [arg('images', 'a(ssbttto)')]),
    method('CreateMachine', [...createArgs, scopeProperties], [path]),
    method('CreateMachineWithNetwork', [...createArgs, arg('ifindices', 'ai'), scopeProperties], [path]),
    method('RegisterMachine', createArgs, [path]),
    method('RegisterMachineWithNetwork', [...createArgs, arg('ifindices', 'ai')], [path]),
    method('UnregisterMachine', [name]),
    method('TerminateMachine', [arg('id', 's')]),
    method('KillMachine', [name, arg('who', 's'), arg('signal', 'i')]),
    method('GetMachineAddresses', [name], [arg('addresses', 'a(iay)')]),
    method('GetMachineOSRelease', [name], [arg('fields', 'a{ss}')]),
    method('OpenMachinePTY', [name], ptyOut),
    method('OpenMachineLogin', [name], ptyOut),
    method('OpenMachineShell', [name, arg('user', 's'), arg('path', 's'), arg('args', 'as'), arg('environment', 'as')], ptyOut),
    method('BindMountMachine', [name, arg('source', 's'), arg('destination', 's'), arg('read_only', 'b'), arg('mkdir', 'b')]),
    method('CopyFromMachine', [name, arg('source', 's'), arg('destination', 's')]),
    method('CopyToMachine', [name, arg('source', 's'), arg('destination', 's')]),
    method('CopyFromMachineWithFlags', [name, arg('source', 's'), arg('destination', 's'), arg('flags', 't')]),
    method('CopyToMachineWithFlags', [name, arg('source', 's'), arg('destination', 's'), arg('flags', 't')]),
    method('OpenMachineRootDirectory', [name], [arg('fd', 'h')]),
    method('GetMachineUIDShift', [name], [arg('shift', 'u')]),
    method('MapFromMachineUser', [name, arg('uid_inner', 'u')], [arg('uid_outer', 'u')]),
    method('MapToMachineUser', [arg('uid_outer', 'u')], [arg('machine_name', 's'), arg('machine_path', 'o'), arg('uid_inner', 'u')]),
    method('MapFromMachineGroup', [name, arg('gid_inner', 'u')], [arg('gid_outer', 'u')]),
    method('MapToMachineGroup', [arg('gid_outer', 'u')], [arg('machine_name', 's'), arg('machine_path', 'o'), arg('gid_inner', 'u')]),
    method('RemoveImage', [name]),
    method('RenameImage', [name, arg('new_name', 's')]),
    method('CloneImage', [name, arg('new_name', 's'), arg('read_only', 'b')]),
    method('MarkImageReadOnly', [name, arg('read_only', 'b')]),
    method('GetImageHostname', [name], [arg('hostname', 's')]),
    method('GetImageMachineID', [name], [arg('id', 'ay')]),
    method('GetImageMachineInfo', [name], [arg('machine_info', 'a{ss}')]),
    method('GetImageOSRelease', [name], [arg('os_release', 'a{ss}')]),
    method('SetPoolLimit', [arg('size', 't')]),
    method('SetImageLimit', [name, arg('size', 't')]),
    method('CleanPool', [arg('mode', 's')], [arg('images', 'a(st)')]),
  ],
  properties: [prop('PoolPath', 's', 'false'), prop('PoolUsage', 't', 'false'), prop('PoolLimit', 't', 'false')],
  signals: [signal('MachineNew', [arg('machine', 's'), path]), signal('MachineRemoved', [arg('machine', 's'), path])],
};

export const MACHINE_INTERFACE: InterfaceSpec = {
  name: MACHINE1_MACHINE_INTERFACE,
  methods: [
    method('Terminate'),
    method('Kill', [arg('who', 's'), arg('signal', 'i')]),
    method('GetAddresses', [], [arg('addresses', 'a(iay)')]),
    method('GetOSRelease', [], [arg('fields', 'a{ss}')]),
    method('GetUIDShift', [], [arg('shift', 'u')]),
    method('OpenPTY', [], ptyOut),
    method('OpenLogin', [], ptyOut),
    method('OpenShell', [arg('user', 's'), arg('path', 's'), arg('args', 'as'), arg('environment', 'as')], ptyOut),
    method('BindMount', [arg('source', 's'), arg('destination', 's'), arg('read_only', 'b'), arg('mkdir', 'b')]),
    method('CopyFrom', [arg('source', 's'), arg('destination', 's')]),
    method('CopyTo', [arg('source', 's'), arg('destination', 's')]),
    method('CopyFromWithFlags', [arg('source', 's'), arg('destination', 's'), arg('flags', 't')]),
    method('CopyToWithFlags', [arg('source', 's'), arg('destination', 's'), arg('flags', 't')]),
    method('OpenRootDirectory', [], [arg('fd', 'h')]),
  ],
  properties: [
    prop('Name', 's'),
    prop('Id', 'ay'),
    prop('Timestamp', 't'),
    prop('TimestampMonotonic', 't'),
    prop('Service', 's'),
    prop('Unit', 's'),
    prop('Leader', 'u'),
    prop('Class', 's'),
    prop('RootDirectory', 's'),
    prop('NetworkInterfaces', 'ai'),
    prop('State', 's', 'false'),
  ],
  signals: [],
};

export const IMAGE_INTERFACE: InterfaceSpec = {
  name: MACHINE1_IMAGE_INTERFACE,
  methods: [
    method('Remove'),
    method('Rename', [arg('new_name', 's')]),
    method('Clone', [arg('new_name', 's'), arg('read_only', 'b')]),
    method('MarkReadOnly', [arg('read_only', 'b')]),
    method('SetLimit', [arg('limit', 't')]),
    method('GetHostname', [], [arg('hostname', 's')]),
    method('GetMachineID', [], [arg('id', 'ay')]),
    method('GetMachineInfo', [], [arg('machine_info', 'a{ss}')]),
    method('GetOSRelease', [], [arg('os_release', 'a{ss}')]),
  ],
  properties: [
    prop('Name', 's', 'false'),
    prop('Path', 's', 'false'),
    prop('Type', 's', 'false'),
    prop('ReadOnly', 'b', 'false'),
    prop('CreationTimestamp', 't', 'false'),
    prop('ModificationTimestamp', 't', 'false'),
    prop('Usage', 't', 'false'),
    prop('Limit', 't', 'false'),
    prop('UsageExclusive', 't', 'false'),
    prop('LimitExclusive', 't', 'false'),
  ],
  signals: [],
};

/** polkit actions machined checks for callers that are not root (org.freedesktop.machine1.policy). */
export const Machine1Actions = {
  manageMachines: 'org.freedesktop.machine1.manage-machines',
  createMachine: 'org.freedesktop.machine1.create-machine',
  registerMachine: 'org.freedesktop.machine1.register-machine',
  manageImages: 'org.freedesktop.machine1.manage-images',
  login: 'org.freedesktop.machine1.login',
  hostLogin: 'org.freedesktop.machine1.host-login',
  shell: 'org.freedesktop.machine1.shell',
  hostShell: 'org.freedesktop.machine1.host-shell',
  openPty: 'org.freedesktop.machine1.open-pty',
  hostOpenPty: 'org.freedesktop.machine1.host-open-pty',
} as const;
