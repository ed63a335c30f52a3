/**
 * A port of the parts of systemd's format-table.c that machinectl's listings use: typed cells,
 * sorting by the first column (header kept first), column widths from the widest cell, multi-line
 * cells limited to N lines with "…" marking the cut, shrinking and ellipsizing to the terminal's
 * width (only on a terminal, as upstream), the last column's trailing blanks dropped, colours, and
 * the JSON form (`-o json`) keyed by the lower-case column names.
 */
import { consoleWidth, ellipsisGlyph, ellipsize } from './ellipsize.js';
import { formatBytes } from './bytes.js';
import type { JsonValue } from './json.js';
import { formatTimestamp, USEC_INFINITY } from './timestamp.js';
import { ANSI_NORMAL, ANSI_UNDERLINE, ansiGrey, type TerminalInfo } from '../output/terminal.js';

export type Cell =
  | { kind: 'empty' }
  | { kind: 'string'; value: string; color?: string }
  | { kind: 'boolean'; value: boolean; color?: string }
  | { kind: 'size'; value: bigint }
  | { kind: 'timestamp'; value: bigint };

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

/** A string cell, or an empty one for '' / undefined (upstream's empty_to_null()). */
export const str = (s: string | undefined | null): Cell => (s ? { kind: 'string', value: s } : { kind: 'empty' });

export interface TableOptions {
  /** Lower-case column names: printed upper-cased as the header, used as JSON keys. */
  columns: string[];
  /** What an empty cell shows: '' (upstream's default) or '-' (TABLE_ERSATZ_DASH). */
  ersatz?: string;
  /** Show at most this many lines of a multi-line cell. */
  cellHeightMax?: number;
  /** -l/--full: never shrink to the terminal. */
  full?: boolean;
  /**
   * Alignment (0 left … 100 right) of individual header cells. Body cells inherit it, as in
   * format-table.c, where a new cell takes its alignment from the cell above it.
   */
  headerAlign?: Record<number, number>;
}

interface Laid {
  text: string;
  color?: string;
  align: number;
  isEmpty: boolean;
}

export class Table {
  readonly rows: Cell[][] = [];
  header = true;

  constructor(readonly opts: TableOptions) {}

  add(row: Cell[]): void {
    if (row.length !== this.opts.columns.length) throw new Error(`table row has ${row.length} cells, expected ${this.opts.columns.length}`);
    this.rows.push(row);
  }

  get rowCount(): number {
    return this.rows.length;
  }

  /** Rows in display order: by the first column (byte order for strings), ties by insertion. */
  sortedRows(): Cell[][] {
    return this.rows
      .map((r, i) => ({ r, i }))
      .sort((a, b) => compareCells(a.r[0]!, a.i, b.r[0]!, b.i) || a.i - b.i)
      .map((x) => x.r);
  }

  private formatCell(c: Cell): string {
    switch (c.kind) {
      case 'empty':
        return this.opts.ersatz ?? '';
      case 'string':
        return c.value;
      case 'boolean':
        return c.value ? 'yes' : 'no';
      case 'size':
        return formatBytes(c.value) ?? this.opts.ersatz ?? '';
      case 'timestamp':
        return formatTimestamp(c.value) ?? '-';
    }
  }

  render(term: TerminalInfo): string {
    const ncol = this.opts.columns.length;
    const grid: Laid[][] = [];
    if (this.header) {
      grid.push(this.opts.columns.map((name, j) => ({ text: name.toUpperCase(), align: this.opts.headerAlign?.[j] ?? 0, isEmpty: false })));
    }
    for (const row of this.sortedRows()) {
      grid.push(
        row.map((c, j) => ({
          text: this.formatCell(c),
          color: 'color' in c ? c.color : undefined,
          align: this.opts.headerAlign?.[j] ?? 0,
          isEmpty: c.kind === 'empty',
        })),
      );
    }
    const maxLines = this.opts.cellHeightMax;
    const glyph = ellipsisGlyph(term.utf8);

    // Pass 1: what every column asks for.
    const requested = new Array<number>(ncol).fill(0);
    for (const row of grid) {
      row.forEach((cell, j) => {
        let lines = cell.text.split('\n');
        let w: number;
        if (maxLines !== undefined && lines.length > maxLines) {
          lines = lines.slice(0, maxLines);
          w = Math.max(...lines.map(consoleWidth), consoleWidth(lines[maxLines - 1]!) + consoleWidth(glyph));
        } else w = Math.max(...lines.map(consoleWidth));
        requested[j] = Math.max(requested[j]!, w, 1);
      });
    }
    const tableRequested = requested.reduce((a, b) => a + b, ncol - 1);
    const effective = this.opts.full || !term.isTty || term.pagerActive ? tableRequested : Math.min(tableRequested, term.columns);
    const width = effective >= tableRequested ? requested : compress(requested, effective, grid.length);

    // Pass 2: print.
    let out = '';
    grid.forEach((row, rowIndex) => {
      const isHeader = this.header && rowIndex === 0;
      for (let sub = 0, more = true; more; sub++) {
        more = false;
        row.forEach((cell, j) => {
          const lines = cell.text.split('\n');
          let field = sub < lines.length ? lines[sub]! : '';
          let truncated = false;
          if (sub + 1 < lines.length) {
            if (maxLines === undefined || sub + 1 < maxLines) more = true;
            else truncated = true;
          }
          let l = consoleWidth(field);
          if (l > width[j]!) {
            field = ellipsize(field, width[j]!, 100, term.utf8);
          } else {
            if (truncated) {
              field = ellipsize(field + glyph, width[j]!, 100, term.utf8);
              l = consoleWidth(field);
            }
            if (l < width[j]!) {
              const space = width[j]! - l;
              const lspace = Math.floor((space * cell.align) / 100);
              field = ' '.repeat(lspace) + field + ' '.repeat(space - lspace);
              const color = cellColor(cell, term);
              if (j === ncol - 1 && (!term.colors || (!color && !isHeader))) field = field.replace(/\s+$/, '');
            }
          }
          const color = cellColor(cell, term);
          if (term.colors && isHeader) {
            // 252 underlines the header line whole, separators included.
            out += `${ANSI_NORMAL}${ANSI_UNDERLINE}${j > 0 ? ' ' : ''}${field}${ANSI_NORMAL}`;
            return;
          }
          if (j > 0) out += ' ';
          if (term.colors && color) out += color;
          out += field;
          if (term.colors && color) out += ANSI_NORMAL;
        });
        out += '\n';
      }
    });
    return out;
  }

  /** table_print_json(): an array of objects keyed by column name; empty cells are null. */
  toJson(): JsonValue {
    return this.sortedRows().map((row) => {
      const o: Record<string, JsonValue> = {};
      row.forEach((c, j) => {
        o[this.opts.columns[j]!] = cellJson(c);
      });
      return o;
    });
  }
}

function cellColor(cell: Laid, term: TerminalInfo): string | undefined {
  if (cell.color) return cell.color;
  // Upstream greys empty cells when they show an ersatz string.
  if (cell.isEmpty && cell.text !== '') return ansiGrey(term);
  return undefined;
}

function cellJson(c: Cell): JsonValue {
  switch (c.kind) {
    case 'empty':
      return null;
    case 'string':
      return c.value;
    case 'boolean':
      return c.value;
    case 'size':
      return c.value === UINT64_MAX ? null : c.value;
    case 'timestamp':
      return c.value === USEC_INFINITY ? null : c.value;
  }
}

function compareCells(a: Cell, ia: number, b: Cell, ib: number): number {
  if (a.kind !== b.kind) return ia - ib;
  switch (a.kind) {
    case 'string': {
      const x = Buffer.from(a.value);
      const y = Buffer.from((b as typeof a).value);
      return Buffer.compare(x, y);
    }
    case 'boolean':
      return Number(a.value) - Number((b as typeof a).value);
    case 'size':
    case 'timestamp': {
      const y = (b as typeof a).value;
      return a.value < y ? -1 : a.value > y ? 1 : 0;
    }
    default:
      return ia - ib;
  }
}

/**
 * The table does not fit: every column gets its minimum (1) and the room left is shared by
 * weight (every cell weighs the same, so by row count, i.e. evenly), never giving a column more
 * than it asked for (upstream's loop, restarting whenever a column is satisfied early).
 */
function compress(requested: number[], effective: number, rows: number): number[] {
  const n = requested.length;
  const minimum = new Array<number>(n).fill(1);
  const weight = new Array<number>(n).fill(100 * rows);
  let weightSum = weight.reduce((a, b) => a + b, 0);
  const tableMinimum = n - 1 + n;
  let extra = Math.max(effective, tableMinimum) - tableMinimum;
  const width = new Array<number | undefined>(n).fill(undefined);
  let finalize = false;
  for (;;) {
    let restart = false;
    for (let j = 0; j < n; j++) {
      if (width[j] !== undefined) continue;
      let w = weightSum === 0 ? minimum[j]! + Math.floor(extra / (n - j)) : minimum[j]! + Math.floor((extra * weight[j]!) / weightSum);
      if (w >= requested[j]!) {
        w = requested[j]!;
        restart = true;
      } else if (!finalize) continue;
      width[j] = w;
      extra -= w - minimum[j]!;
      weightSum -= weight[j]!;
      if (restart && !finalize) break;
    }
    if (finalize) break;
    if (!restart) finalize = true;
  }
  return width.map((w) => w ?? 1);
}
