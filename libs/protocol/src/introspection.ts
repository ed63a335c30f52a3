/**
 * Introspection XML generated from the interface tables, in the layout sd-bus serves (standard
 * interfaces first, properties annotated with their change behaviour, child nodes last), so
 * `busctl introspect` and `busctl tree` show what upstream shows.
 */
import { INTROSPECTABLE_INTERFACE, PEER_INTERFACE, PROPERTIES_INTERFACE } from './bus-names.js';
import { arg, method, signal, type ArgSpec, type InterfaceSpec } from './interface-model.js';

const DOCTYPE =
  '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n' +
  '"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n';

export const STANDARD_INTERFACES: InterfaceSpec[] = [
  {
    name: PEER_INTERFACE,
    methods: [method('Ping'), method('GetMachineId', [], [arg('machine_uuid', 's')])],
    properties: [],
    signals: [],
  },
  {
    name: INTROSPECTABLE_INTERFACE,
    methods: [method('Introspect', [], [arg('xml_data', 's')])],
    properties: [],
    signals: [],
  },
  {
    name: PROPERTIES_INTERFACE,
    methods: [
      method('Get', [arg('interface_name', 's'), arg('property_name', 's')], [arg('value', 'v')]),
      method('GetAll', [arg('interface_name', 's')], [arg('props', 'a{sv}')]),
      method('Set', [arg('interface_name', 's'), arg('property_name', 's'), arg('value', 'v')]),
    ],
    properties: [],
    signals: [signal('PropertiesChanged', [arg('interface_name', 's'), arg('changed_properties', 'a{sv}'), arg('invalidated_properties', 'as')])],
  },
];

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function argXml(a: ArgSpec, direction?: 'in' | 'out'): string {
  const dir = direction ? ` direction="${direction}"` : '';
  return `   <arg type="${escapeXml(a.type)}" name="${escapeXml(a.name)}"${dir}/>\n`;
}

export function interfaceXml(spec: InterfaceSpec): string {
  let xml = ` <interface name="${spec.name}">\n`;
  for (const m of spec.methods) {
    xml += `  <method name="${m.name}">\n`;
    for (const a of m.in) xml += argXml(a, 'in');
    for (const a of m.out) xml += argXml(a, 'out');
    xml += '  </method>\n';
  }
  for (const s of spec.signals) {
    xml += `  <signal name="${s.name}">\n`;
    for (const a of s.args) xml += argXml(a);
    xml += '  </signal>\n';
  }
  for (const p of spec.properties) {
    xml += `  <property name="${p.name}" type="${escapeXml(p.type)}" access="${p.access}">\n`;
    xml += `   <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="${p.emitsChange}"/>\n`;
    xml += '  </property>\n';
  }
  xml += ' </interface>\n';
  return xml;
}

/** The whole document for one object: its interfaces (after the standard ones) and child nodes. */
export function introspectionXml(interfaces: InterfaceSpec[], childNodes: string[] = [], withStandard = true): string {
  let xml = DOCTYPE + '<node>\n';
  for (const spec of withStandard ? [...STANDARD_INTERFACES, ...interfaces] : interfaces) xml += interfaceXml(spec);
  for (const child of childNodes) xml += ` <node name="${escapeXml(child)}"/>\n`;
  xml += '</node>\n';
  return xml;
}
