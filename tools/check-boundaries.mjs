#!/usr/bin/env node
// Enforces the workspace's project boundaries on every TypeScript file under apps/, libs/ and e2e/:
//   app-imports-app     an app must not import another app
//   lib-imports-app     a lib must not import any app
//   deep-import         a workspace package is imported only through its public entry
//                       (`@scope/name`, never `@scope/name/src/...`)
//   path-into-project   no relative or absolute path reaching into another project's directory
//                       (libs/<lib>/, apps/<other>/, e2e/): use the package name
// Static imports and re-exports (`import … from`, `import '…'`, `export … from`), dynamic
// `import('…')` and `require('…')` are checked; text inside comments and ordinary strings is not.
//
// usage: node tools/check-boundaries.mjs [ROOT]     (ROOT defaults to this checkout)
// Prints one line per violation, `file:line: 'specifier' rule: explanation`, and exits 1 if any.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const SOURCE_EXT = /\.(ts|mts|cts|tsx)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.nx', '.git']);

/** Every project: {kind: 'app'|'lib'|'e2e', dir: 'apps/x', pkg: '@scope/x' | undefined}. */
function findProjects() {
  const projects = [];
  for (const [kind, parent] of [['app', 'apps'], ['lib', 'libs']]) {
    const base = join(root, parent);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      if (statSync(join(base, name)).isDirectory()) projects.push(project(kind, `${parent}/${name}`));
    }
  }
  if (existsSync(join(root, 'e2e'))) projects.push(project('e2e', 'e2e'));
  return projects;
}

function project(kind, dir) {
  const pkgFile = join(root, dir, 'package.json');
  const pkg = existsSync(pkgFile) ? JSON.parse(readFileSync(pkgFile, 'utf8')).name : undefined;
  return { kind, dir, pkg };
}

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) yield* sourceFiles(join(dir, entry.name));
    } else if (SOURCE_EXT.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      yield join(dir, entry.name);
    }
  }
}

// ---- a small tokenizer: enough of TypeScript's lexical grammar to tell code from comments,
// strings, template literals and regular expressions.

const REGEX_AFTER_WORD = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await',
]);

/** Yields {type: 'word'|'string'|'punct', value, line}. Template literals and regexes are skipped. */
function* tokens(text) {
  let i = 0;
  let line = 1;
  let prev = null; // last significant token, for the regex-or-division decision
  const n = text.length;
  const advance = (to) => {
    for (let k = i; k < to; k++) if (text[k] === '\n') line++;
    i = to;
  };
  while (i < n) {
    const c = text[i];
    const d = text[i + 1];
    if (c === '\n') { line++; i++; continue; }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '/' && d === '/') { const e = text.indexOf('\n', i); advance(e < 0 ? n : e); continue; }
    if (c === '/' && d === '*') { const e = text.indexOf('*/', i + 2); advance(e < 0 ? n : e + 2); continue; }
    if (c === '"' || c === "'") {
      const start = line;
      let j = i + 1;
      let value = '';
      while (j < n && text[j] !== c && text[j] !== '\n') {
        if (text[j] === '\\') { value += text[j + 1] ?? ''; j += 2; } else { value += text[j]; j++; }
      }
      advance(Math.min(j + 1, n));
      yield (prev = { type: 'string', value, line: start });
      continue;
    }
    if (c === '`') { advance(skipTemplate(text, i + 1)); prev = { type: 'template', value: '', line }; continue; }
    if (c === '/' && regexAllowed(prev)) { advance(skipRegex(text, i + 1)); prev = { type: 'regex', value: '', line }; continue; }
    if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w$]/.test(text[j])) j++;
      yield (prev = { type: 'word', value: text.slice(i, j), line });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w.]/.test(text[j])) j++;
      prev = { type: 'number', value: text.slice(i, j), line };
      i = j;
      continue;
    }
    yield (prev = { type: 'punct', value: c, line });
    i++;
  }
}

function regexAllowed(prev) {
  if (!prev) return true;
  if (prev.type === 'word') return REGEX_AFTER_WORD.has(prev.value);
  if (prev.type === 'punct') return !')]}'.includes(prev.value);
  return false; // after a string, number, template or regex: division
}

/** Index just past the template literal whose body starts at i; `${…}` may nest. */
function skipTemplate(text, i) {
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') { i += 2; continue; }
    if (c === '`') return i + 1;
    if (c === '$' && text[i + 1] === '{') { i = skipBraces(text, i + 2); continue; }
    i++;
  }
  return i;
}

function skipBraces(text, i) {
  let depth = 1;
  while (i < text.length && depth > 0) {
    const c = text[i];
    if (c === '`') { i = skipTemplate(text, i + 1); continue; }
    if (c === '"' || c === "'") {
      i++;
      while (i < text.length && text[i] !== c) i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') depth--;
    i++;
  }
  return i;
}

function skipRegex(text, i) {
  let inClass = false;
  while (i < text.length && text[i] !== '\n') {
    const c = text[i];
    if (c === '\\') { i += 2; continue; }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) {
      i++;
      while (i < text.length && /[a-z]/i.test(text[i])) i++;
      return i;
    }
    i++;
  }
  return i;
}

/** The module specifiers a file imports, with their lines. */
export function importsOf(text) {
  const found = [];
  const toks = [...tokens(text)];
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    const next = toks[k + 1];
    const before = toks[k - 1];
    if (t.type !== 'word' || !next) continue;
    const member = before?.type === 'punct' && before.value === '.'; // obj.import(…), obj.require(…)
    if (t.value === 'from' && next.type === 'string') {
      found.push({ specifier: next.value, line: next.line }); // import … from '…', export … from '…'
    } else if (t.value === 'import' && !member && next.type === 'string') {
      found.push({ specifier: next.value, line: next.line }); // import '…'
    } else if ((t.value === 'import' || t.value === 'require') && !member &&
      next.type === 'punct' && next.value === '(' && toks[k + 2]?.type === 'string') {
      found.push({ specifier: toks[k + 2].value, line: toks[k + 2].line }); // import('…'), require('…')
    }
  }
  return found;
}

// ---- the rules

function projectOfPath(projects, relPath) {
  const p = relPath.split(sep).join('/');
  return projects.find((pr) => p === pr.dir || p.startsWith(`${pr.dir}/`));
}

function check() {
  const projects = findProjects();
  const byPackage = new Map(projects.filter((p) => p.pkg).map((p) => [p.pkg, p]));
  const violations = [];
  let files = 0;

  for (const from of projects) {
    for (const file of sourceFiles(join(root, from.dir))) {
      files++;
      const rel = relative(root, file);
      for (const { specifier, line } of importsOf(readFileSync(file, 'utf8'))) {
        let target;
        let via;
        if (specifier.startsWith('.') || specifier.startsWith('/')) {
          const abs = specifier.startsWith('/') ? specifier : resolve(dirname(file), specifier);
          target = projectOfPath(projects, relative(root, abs));
          via = 'path';
        } else {
          const m = /^(@[^/]+\/[^/]+|[^@/][^/]*)(\/.*)?$/.exec(specifier);
          target = m && byPackage.get(m[1]);
          via = m?.[2] ? 'deep' : 'package';
        }
        if (!target || target === from) continue;
        const report = (rule, why) => violations.push(`${rel}:${line}: '${specifier}' ${rule}: ${why}`);
        if (from.kind === 'app' && target.kind === 'app') {
          report('app-imports-app', `an app must not import another app (${target.dir})`);
        }
        if (from.kind === 'lib' && target.kind === 'app') {
          report('lib-imports-app', `a lib must not import an app (${target.dir})`);
        }
        if (via === 'deep') {
          report('deep-import', `import ${target.pkg} only through its public entry, '${target.pkg}'`);
        }
        if (via === 'path') {
          report('path-into-project', `a path into ${target.dir}/ from outside it; import ${target.pkg ?? 'its package'} instead`);
        }
      }
    }
  }
  return { files, violations };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, violations } = check();
  for (const v of violations) console.log(v);
  if (violations.length > 0) {
    console.error(`check-boundaries: ${violations.length} violation(s) in ${files} files under ${root}`);
    process.exit(1);
  }
  console.error(`check-boundaries: ${files} files under ${root}, no violations`);
}
