/**
 * `/run/systemd/machines/NAME` in systemd's format and key order (machine_save). libsystemd reads
 * CLASS, NETIF and LEADER from it (sd-login, libnss_mymachines, `-M`), and machined reloads it after
 * a restart, so the layout is upstream's, UID= included as newer machined writes it.
 */
import { formatAssignment, parseEnvFile } from './env-file.js';

export const STATE_FILE_HEADER = '# This is private data. Do not parse.\n';

export interface MachineState {
  name: string;
  uid: number;
  unit: string;
  service: string;
  rootDirectory: string;
  /** 32 hex digits or ''. */
  id: string;
  leader: number;
  class: string;
  realtime: bigint;
  monotonic: bigint;
  networkInterfaces: number[];
}

export function formatStateFile(m: MachineState): string {
  let s = STATE_FILE_HEADER;
  s += formatAssignment('NAME', m.name);
  s += `UID=${m.uid}\n`;
  if (m.unit) s += formatAssignment('SCOPE', m.unit);
  if (m.service) s += formatAssignment('SERVICE', m.service);
  if (m.rootDirectory) s += formatAssignment('ROOT', m.rootDirectory);
  if (m.id) s += `ID=${m.id}\n`;
  if (m.leader > 0) s += `LEADER=${m.leader}\n`;
  if (m.class) s += `CLASS=${m.class}\n`;
  if (m.realtime > 0n) s += `REALTIME=${m.realtime}\n`;
  if (m.monotonic > 0n) s += `MONOTONIC=${m.monotonic}\n`;
  if (m.networkInterfaces.length > 0) s += `NETIF="${m.networkInterfaces.join(' ')}"\n`;
  return s;
}

const int = (s: string | undefined, fallback: number): number => {
  if (s === undefined || !/^[0-9]+$/.test(s)) return fallback;
  return Number(s);
};
const big = (s: string | undefined): bigint => (s !== undefined && /^[0-9]+$/.test(s) ? BigInt(s) : 0n);

/**
 * Reads a state file leniently, as machine_load does: missing keys get defaults and unknown keys
 * are ignored (machined 258 crashed on files without UID=, systemd#39061; we must not).
 */
export function parseStateFile(text: string): Partial<MachineState> & { name?: string } {
  const kv = parseEnvFile(text);
  const id = (kv.get('ID') ?? '').toLowerCase();
  return {
    name: kv.get('NAME'),
    uid: int(kv.get('UID'), 0),
    unit: kv.get('SCOPE') ?? '',
    service: kv.get('SERVICE') ?? '',
    rootDirectory: kv.get('ROOT') ?? '',
    id: /^[0-9a-f]{32}$/.test(id) ? id : '',
    leader: int(kv.get('LEADER'), 0),
    class: kv.get('CLASS') ?? '',
    realtime: big(kv.get('REALTIME')),
    monotonic: big(kv.get('MONOTONIC')),
    networkInterfaces: (kv.get('NETIF') ?? '')
      .split(/\s+/)
      .filter((x) => /^[0-9]+$/.test(x))
      .map(Number)
      .filter((n) => n > 0),
  };
}
