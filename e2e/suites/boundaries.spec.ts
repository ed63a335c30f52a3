/**
 * tools/check-boundaries.mjs: the real tree passes, and a fixture tree with one import of each
 * forbidden kind fails with a line naming the file, the line, the import and the rule.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BOUNDARY_CHECKER, REPO_ROOT, run, trackPath } from '../support/index.js';

function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

const pkg = (name: string): string => JSON.stringify({ name, type: 'module' });

describe('project boundaries (tools/check-boundaries.mjs)', () => {
  it('passes on the real tree', async () => {
    const r = await run(process.execPath, [BOUNDARY_CHECKER, REPO_ROOT]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.equal('');
  });

  describe('on a fixture tree with one violation of each kind', () => {
    let stdout: string;
    let code: number | null;

    before(async () => {
      const root = trackPath(mkdtempSync(join(tmpdir(), 'machined-e2e-boundaries-')));
      // The scope is read from each project's package.json, not assumed.
      writeTree(root, {
        'apps/a/package.json': pkg('@fx/a'),
        'apps/b/package.json': pkg('@fx/b'),
        'libs/l/package.json': pkg('@fx/l'),
        'libs/m/package.json': pkg('@fx/m'),
        'e2e/package.json': pkg('@fx/e2e'),
        'apps/a/src/app-to-app.ts': "import { b } from '@fx/b';\nexport const a = b;\n",
        'libs/l/src/lib-to-app.ts': "\nexport * from '@fx/a';\n",
        'apps/a/src/deep.ts': "import type { M } from '@fx/m/src/inner.js';\nexport type X = M;\n",
        'apps/a/src/dynamic-path.ts': "export async function f() {\n  return import('../../../libs/l/src/index.js');\n}\n",
        'apps/b/src/path-to-app.ts': "import '../../a/src/app-to-app.js';\n",
        'e2e/suites/path-to-lib.ts': "import {\n  x,\n} from '../../libs/m/src/index.js';\nexport { x };\n",
        'libs/m/src/require.cts': "const l = require('@fx/l/package.json');\nexport = l;\n",
        // Allowed: public entries, own files, lib to lib, e2e to app; and look-alikes that are no imports.
        'apps/a/src/fine.ts': [
          "import { l } from '@fx/l';",
          "import { m } from '@fx/m';",
          "import './deep.js';",
          "const text = \"import x from '@fx/b/src/x.js'\";",
          "// import('@fx/b'); export * from '@fx/b/src';",
          "/* import '../../b/src/x.js' */",
          "const re = /from '@fx\\/b'/;",
          "const tpl = `import('@fx/b/x')`;",
          'export { l, m, text, re, tpl };',
          '',
        ].join('\n'),
        'libs/l/src/index.ts': "export { m } from '@fx/m';\nexport const l = 1;\n",
        'libs/m/src/index.ts': 'export const m = 1;\nexport const x = 2;\n',
        'e2e/suites/uses-app.ts': "import { a } from '@fx/a';\nexport { a };\n",
        'apps/a/dist/ignored.ts': "import '@fx/b';\n",
        'apps/a/node_modules/dep/ignored.ts': "import '@fx/b';\n",
      });
      const r = await run(process.execPath, [BOUNDARY_CHECKER, root]);
      stdout = r.stdout;
      code = r.code;
    });

    const expected: Array<[string, string, string, string]> = [
      ['an app importing another app', 'apps/a/src/app-to-app.ts:1', '@fx/b', 'app-imports-app'],
      ['a lib re-exporting an app', 'libs/l/src/lib-to-app.ts:2', '@fx/a', 'lib-imports-app'],
      ["a lib's internals by package subpath", 'apps/a/src/deep.ts:1', '@fx/m/src/inner.js', 'deep-import'],
      ["a dynamic import of a lib's file by path", 'apps/a/src/dynamic-path.ts:2', '../../../libs/l/src/index.js', 'path-into-project'],
      ["another app's file by path (app rule)", 'apps/b/src/path-to-app.ts:1', '../../a/src/app-to-app.js', 'app-imports-app'],
      ["another app's file by path (path rule)", 'apps/b/src/path-to-app.ts:1', '../../a/src/app-to-app.js', 'path-into-project'],
      ["a lib's file by path from e2e, over several lines", 'e2e/suites/path-to-lib.ts:3', '../../libs/m/src/index.js', 'path-into-project'],
      ["require() of a lib's subpath", 'libs/m/src/require.cts:1', '@fx/l/package.json', 'deep-import'],
    ];

    it('exits 1', () => {
      expect(code).to.equal(1);
    });

    for (const [what, where, specifier, rule] of expected) {
      it(`reports ${what}`, () => {
        const line = stdout.split('\n').find((l) => l.startsWith(`${where}: '${specifier}' ${rule}:`));
        expect(line, stdout).to.not.equal(undefined);
      });
    }

    it('reports nothing else (public entries, own files, comments, strings, dist, node_modules)', () => {
      const lines = stdout.split('\n').filter(Boolean);
      expect(lines, stdout).to.have.length(expected.length);
    });
  });
});
