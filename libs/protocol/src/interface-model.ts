/**
 * The wire contract as data: every interface is a list of methods, properties and signals with
 * D-Bus signatures. Servers dispatch on it, introspection XML is generated from it, clients and
 * tests read signatures from it, so a signature is written down exactly once.
 */

export interface ArgSpec {
  name: string;
  type: string;
}

export interface MethodSpec {
  name: string;
  in: ArgSpec[];
  out: ArgSpec[];
}

/** How a property announces changes, as org.freedesktop.DBus.Property.EmitsChangedSignal. */
export type EmitsChange = 'true' | 'false' | 'const' | 'invalidates';

export interface PropertySpec {
  name: string;
  type: string;
  access: 'read' | 'readwrite';
  emitsChange: EmitsChange;
}

export interface SignalSpec {
  name: string;
  args: ArgSpec[];
}

export interface InterfaceSpec {
  name: string;
  methods: MethodSpec[];
  properties: PropertySpec[];
  signals: SignalSpec[];
}

/** Concatenated signature of an argument list, e.g. `sayssusa(sv)`. */
export function signatureOf(args: ArgSpec[]): string {
  return args.map((a) => a.type).join('');
}

/** Shorthand used by the interface tables: `arg('name', 's')`. */
export const arg = (name: string, type: string): ArgSpec => ({ name, type });

export function method(name: string, inArgs: ArgSpec[] = [], outArgs: ArgSpec[] = []): MethodSpec {
  return { name, in: inArgs, out: outArgs };
}

export function prop(name: string, type: string, emitsChange: EmitsChange = 'const', access: 'read' | 'readwrite' = 'read'): PropertySpec {
  return { name, type, access, emitsChange };
}

export function signal(name: string, args: ArgSpec[] = []): SignalSpec {
  return { name, args };
}

export function findMethod(spec: InterfaceSpec, name: string): MethodSpec | undefined {
  return spec.methods.find((m) => m.name === name);
}
