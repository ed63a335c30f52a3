/**
 * Output that is worth seeing when a test fails (a daemon's stderr, a container's console).
 * Helpers register a source when they start something; the root afterEach hook prints every
 * source when the test failed, and sources of things that have ended are dropped before the next
 * test, so a suite's own afterEach may stop a daemon and its log still reaches the report.
 */
export interface FailureLogSource {
  label: string;
  lines(): string[];
  /** Set once the thing has ended; the source is dropped before the next test. */
  ended: boolean;
}

const sources = new Set<FailureLogSource>();

export function addFailureLog(label: string, lines: () => string[]): FailureLogSource {
  const source: FailureLogSource = { label, lines, ended: false };
  sources.add(source);
  return source;
}

export function dropEndedFailureLogs(): void {
  for (const s of sources) if (s.ended) sources.delete(s);
}

/** Every registered source, the last maxLines lines each, ready to print. */
export function formatFailureLogs(maxLines = 200): string {
  const parts: string[] = [];
  for (const s of sources) {
    const lines = s.lines();
    const shown = lines.slice(-maxLines);
    const cut = lines.length - shown.length;
    parts.push(
      `----- ${s.label}${s.ended ? ' (ended)' : ''}: ${lines.length} lines${cut ? `, first ${cut} left out` : ''} -----`,
      ...shown,
    );
  }
  return parts.join('\n');
}

/**
 * Splits a stream into lines, appending each complete one to buffer (capped at maxLines). A
 * trailing CR is dropped: nspawn's console is a PTY unless --console=pipe, so its lines end CRLF.
 */
export function lineCollector(buffer: string[], prefix = '', maxLines = 20000): (chunk: Buffer | string) => void {
  let partial = '';
  return (chunk) => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      buffer.push(prefix + line.replace(/\r$/, ''));
      if (buffer.length > maxLines) buffer.splice(0, buffer.length - maxLines);
    }
  };
}
