/**
 * Upstream's pager: only when stdout is a terminal and --no-pager is not given; $SYSTEMD_PAGER,
 * else $PAGER, else less (then more); "" or "cat" means none. less gets $SYSTEMD_LESS or
 * "FRSXMK" (quit if one screen, raw colours, no init). We hand it the whole output at once.
 */

export function pagerCommand(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const p = env.SYSTEMD_PAGER ?? env.PAGER;
  if (p !== undefined) {
    const t = p.trim();
    return t === '' || t === 'cat' ? undefined : t;
  }
  return 'less';
}

/** Writes text through the pager; resolves when the pager has exited. */
export async function writeThroughPager(text: string, command: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // Loaded only when paging: child_process costs every other run a millisecond or two.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', `exec ${command}`], {
      stdio: ['pipe', 'inherit', 'inherit'],
      env: { ...env, LESS: env.SYSTEMD_LESS ?? 'FRSXMK', LESSCHARSET: env.LESSCHARSET ?? 'utf-8' },
    });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve();
    };
    child.once('error', () => {
      // No pager could be started: print directly, as upstream falls back to no pager.
      process.stdout.write(text, () => finish());
    });
    child.once('close', finish);
    child.stdin!.on('error', () => {});
    child.stdin!.end(text);
  });
}
