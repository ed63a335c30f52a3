/**
 * What the userdb service needs to know about machines: their names and leader PIDs, and when that
 * changes. nss-helper's live machine table implements it; tests pass a plain object.
 */

export interface SourceMachine {
  name: string;
  leader: number;
  /** `container`, `vm`, `host` or '' when known; only containers own users (as upstream). */
  class?: string;
}

export interface MachineSource {
  list(): SourceMachine[];
  on(event: 'changed', listener: () => void): void;
}
