/**
 * `signature` verification as systemd-pull does it: SHA256SUMS.gpg, a detached signature of
 * SHA256SUMS, checked by gpg against the first import keyring that exists, in a throw-away gpg
 * home so that no state of root's own gpg is used or changed.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolCommand } from '../image/child.js';
import { TransferError } from '../transfer/transfer.js';

const execFileAsync = promisify(execFile);

export async function verifySignature(sums: Buffer, signature: Buffer, keyrings: string[]): Promise<string> {
  const keyring = keyrings.find((k) => existsSync(k));
  if (!keyring) throw new TransferError(`No import keyring found (looked at ${keyrings.join(', ')}); cannot verify the signature.`);
  const home = await fs.mkdtemp(join(tmpdir(), 'importd-gpg-'));
  try {
    await fs.chmod(home, 0o700);
    await fs.writeFile(join(home, 'SHA256SUMS'), sums);
    await fs.writeFile(join(home, 'SHA256SUMS.gpg'), signature);
    try {
      await execFileAsync(...toolCommand('gpg', ['--homedir', home, '--no-options', '--no-default-keyring', '--no-auto-key-locate', '--no-auto-check-trustdb', '--batch', '--trust-model=always', `--keyring=${keyring}`, '--verify', join(home, 'SHA256SUMS.gpg'), join(home, 'SHA256SUMS')]),
        { timeout: 60_000, env: { ...process.env, LC_ALL: 'C' } },
      );
    } catch (e) {
      const stderr = ((e as { stderr?: string }).stderr ?? '').split('\n').filter((l) => /BAD|no public key|Can't check|not a detached|no valid OpenPGP/i.test(l));
      throw new TransferError(`Signature verification of SHA256SUMS failed${stderr.length ? `: ${stderr.map((l) => l.replace(/^gpg: /, '')).join('; ')}` : ''}.`);
    }
    return keyring;
  } finally {
    await fs.rm(home, { recursive: true, force: true });
  }
}
