/** Our version, and the systemd release whose machinectl we follow. */
export const VERSION = '0.1.0';
export const UPSTREAM = 'systemd 252';
