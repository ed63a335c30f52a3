import { expect } from 'chai';
import { busAddressFor, describeAddress } from './address.js';

describe('bus addresses', () => {
  it('uses DBUS_SYSTEM_BUS_ADDRESS, else the standard socket, and names it in errors', () => {
    expect(busAddressFor({ kind: 'local' }, { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/x' })).to.equal('unix:path=/x');
    expect(busAddressFor({ kind: 'local' }, {})).to.equal('unix:path=/run/dbus/system_bus_socket');
    expect(describeAddress({ kind: 'local' }, 'unix:path=/x', { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/x' })).to.equal('DBUS_SYSTEM_BUS_ADDRESS=unix:path=/x');
    expect(describeAddress({ kind: 'local' }, 'unix:path=/run/dbus/system_bus_socket', {})).to.equal(
      'DBUS_SYSTEM_BUS_ADDRESS is unset, tried unix:path=/run/dbus/system_bus_socket',
    );
  });

  it('reaches -H hosts through ssh and systemd-stdio-bridge, as sd-bus does', () => {
    expect(busAddressFor({ kind: 'remote', host: 'root@box:2222/ct' })).to.equal(
      'unixexec:path=ssh,arg1=-xT,arg2=-p,arg3=2222,arg4=--,arg5=root@box,arg6=systemd-stdio-bridge,arg7=--machine,arg8=ct',
    );
    expect(busAddressFor({ kind: 'remote', host: 'box' })).to.equal('unixexec:path=ssh,arg1=-xT,arg2=--,arg3=box,arg4=systemd-stdio-bridge');
  });
});
