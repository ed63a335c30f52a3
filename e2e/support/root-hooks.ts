/**
 * Mocha root hook plugin (loaded through .mocharc.cjs "require"): prints the captured daemon and
 * container output when a test fails, and after the run removes everything the harness started,
 * whether the tests passed or not.
 */
import type { Context } from 'mocha';
import { cleanupAll } from './cleanup.js';
import { dropEndedFailureLogs, formatFailureLogs } from './failure-logs.js';

export const mochaHooks = {
  beforeEach(): void {
    dropEndedFailureLogs();
  },
  afterEach(this: Context): void {
    if (this.currentTest?.state === 'failed') {
      const logs = formatFailureLogs();
      if (logs) console.error(`\n${logs}\n`);
    }
  },
  async afterAll(this: Context): Promise<void> {
    this.timeout(60000);
    const problems = await cleanupAll();
    for (const p of problems) console.error(`e2e cleanup: ${p}`);
  },
};
