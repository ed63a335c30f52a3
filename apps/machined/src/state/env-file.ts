/**
 * The env-file syntax systemd writes its state files in (env_file_fputs_assignment) and reads them
 * with (parse_env_file): a value that needs it is double-quoted with `"\`$` escaped. Unit names of
 * machines contain backslashes (`machine-my\x2dbox.scope`), so this matters for every such name.
 */

// SHELL_NEED_QUOTES in systemd: SHELL_NEED_ESCAPE, GLOB_CHARS, whitespace and "'()<>|&;!".
const NEEDS_QUOTES = /["\\`$*?[\s'()<>|&;!]/;
const NEEDS_ESCAPE = /["\\`$]/g;

export function formatAssignment(key: string, value: string): string {
  if (!NEEDS_QUOTES.test(value)) return `${key}=${value}\n`;
  return `${key}="${value.replace(NEEDS_ESCAPE, (c) => '\\' + c)}"\n`;
}

/** Parses KEY=VALUE lines; comments and blank lines are skipped, unknown keys are kept. */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    out.set(key, parseValue(line.slice(eq + 1)));
  }
  return out;
}

function parseValue(raw: string): string {
  let v = '';
  let i = 0;
  const s = raw.replace(/\s+$/, '');
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) {
          v += s[i + 1];
          i += 2;
        } else {
          v += s[i++];
        }
      }
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      v += s.slice(i + 1, end < 0 ? s.length : end);
      i = end < 0 ? s.length : end + 1;
    } else if (c === '\\' && i + 1 < s.length) {
      v += s[i + 1];
      i += 2;
    } else {
      v += c;
      i++;
    }
  }
  return v;
}
