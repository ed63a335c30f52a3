import { expect } from 'chai';
import { introspectionXml } from './introspection.js';
import { MANAGER_INTERFACE, MACHINE_INTERFACE } from './machine1.js';
import { signatureOf } from './interface-model.js';

describe('introspection XML', () => {
  it('lists standard interfaces, methods with directions, properties with annotations and child nodes', () => {
    const xml = introspectionXml([MACHINE_INTERFACE], ['child']);
    expect(xml).to.match(/^<!DOCTYPE node/);
    expect(xml).to.contain('<interface name="org.freedesktop.DBus.Properties">');
    expect(xml).to.contain('<interface name="org.freedesktop.machine1.Machine">');
    expect(xml).to.contain('<method name="Kill">\n   <arg type="s" name="who" direction="in"/>\n   <arg type="i" name="signal" direction="in"/>');
    expect(xml).to.contain('<property name="Id" type="ay" access="read">\n   <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/>');
    expect(xml).to.contain('<node name="child"/>');
  });

  it('escapes nothing it should not and keeps signatures intact', () => {
    const create = MANAGER_INTERFACE.methods.find((m) => m.name === 'CreateMachine')!;
    expect(signatureOf(create.in)).to.equal('sayssusa(sv)');
    expect(introspectionXml([MANAGER_INTERFACE])).to.contain('<arg type="a(sv)" name="scope_properties" direction="in"/>');
  });
});
