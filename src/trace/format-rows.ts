/**
 * Query results as text: an aligned table, CSV (RFC 4180) or a JSON array, written a
 * batch of rows at a time so a result of any size prints in bounded memory. The table
 * takes its column widths from its first rows (all of them for formatRows, the first
 * {@link TABLE_WIDTH_ROWS} for `evsim query`): later rows print without re-aligning.
 */

export type QueryFormat = 'table' | 'csv' | 'json';

/** Rows `evsim query` reads before it fixes the table's column widths. */
export const TABLE_WIDTH_ROWS = 1000;

/**
 * Table cells show reals with 6 significant digits, but never fewer than their integer
 * part (29345622.7 stays 29345622.7, not 29345600); CSV and JSON keep every digit.
 */
function rounded(v: number): string {
  const intDigits = Math.abs(v) >= 1 ? Math.floor(Math.log10(Math.abs(v))) + 1 : 0;
  return String(Number(v.toPrecision(Math.max(6, Math.min(intDigits + 1, 17)))));
}

/** A BLOB as SQL writes it, x'0a1b…' (not its raw bytes, nor a JSON dump of a Buffer). */
const blob = (v: Uint8Array): string => `x'${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}'`;

const cell = (v: unknown, round = true): string =>
  v === null || v === undefined ? '' : v instanceof Uint8Array ? blob(v) : round && typeof v === 'number' && !Number.isInteger(v) ? rounded(v) : String(v);

/** A table cell on one line: a line break or tab inside it is shown escaped (\n, \r, \t), as the table's layout needs. */
const oneLine = (s: string): string => s.replace(/[\n\r\t]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));

/** A CSV field, quoted when it holds a comma, a quote or a line break (CR or LF, RFC 4180 §2.6). */
const csvField = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

const jsonValue = (v: unknown): string => (v === undefined ? 'null' : JSON.stringify(v instanceof Uint8Array ? blob(v) : v));

/** Text for a result's rows, a batch at a time: push(rows) for each batch in order, then end(). Every line ends in '\n'. */
export interface RowFormatter {
  push(rows: readonly (readonly unknown[])[]): string;
  end(): string;
}

/**
 * A formatter for a result of these columns (rows are arrays of values in that order).
 * The table buffers its first `widthRows` rows to size its columns; beyond them a wider
 * cell pushes the rest of its line right. A column is right-aligned when those rows hold
 * only numbers (or NULL).
 */
export function rowFormatter(format: QueryFormat, columns: readonly string[], widthRows = TABLE_WIDTH_ROWS): RowFormatter {
  if (format === 'csv') {
    // The header even for no rows, so a reader of the file still learns the columns.
    let header = columns.length > 0 ? `${columns.map(csvField).join(',')}\n` : '';
    const text = (rows: readonly (readonly unknown[])[]): string => {
      let s = header;
      header = '';
      for (const r of rows) s += `${r.map((v) => csvField(cell(v, false))).join(',')}\n`;
      return s;
    };
    return { push: text, end: () => text([]) };
  }
  if (format === 'json') {
    // JSON.stringify(rows, null, 2)'s layout, written by hand so the keys keep the
    // statement's order (an object lists integer-like keys such as "100" first).
    const keys = columns.map((c) => `    ${JSON.stringify(c)}: `);
    let n = 0;
    return {
      push: (rows) => {
        let s = '';
        for (const r of rows) s += `${n++ === 0 ? '[\n' : ',\n'}  {${r.length === 0 ? '' : `\n${r.map((v, i) => keys[i] + jsonValue(v)).join(',\n')}\n  `}}`;
        return s;
      },
      end: () => (n === 0 ? '[]\n' : '\n]\n'),
    };
  }
  const names = columns.map(oneLine);
  let pending: string[][] | null = [];
  let numeric: boolean[] = [];
  let widths: number[] = [];
  const numericSoFar = columns.map(() => true);
  const line = (vals: string[]): string => `${vals.map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join('  ').trimEnd()}\n`;
  /** Fixes the widths from the rows read so far and writes the header and those rows. */
  const flush = (): string => {
    const rows = pending!;
    pending = null;
    if (rows.length === 0) return '(no rows)\n';
    // A loop, not Math.max(...): a spread of 10⁵ rows overflows the call stack.
    widths = names.map((c, i) => rows.reduce((w, t) => Math.max(w, t[i]!.length), c.length));
    numeric = numericSoFar;
    let s = line(names) + `${widths.map((w) => '-'.repeat(w)).join('  ')}\n`;
    for (const t of rows) s += line(t);
    return s;
  };
  return {
    push: (rows) => {
      let s = '';
      for (const r of rows) {
        const text = r.map((v) => oneLine(cell(v)));
        if (pending === null) {
          s += line(text);
          continue;
        }
        r.forEach((v, i) => {
          if (v !== null && typeof v !== 'number') numericSoFar[i] = false;
        });
        pending.push(text);
        if (pending.length >= widthRows) s += flush();
      }
      return s;
    },
    end: () => (pending === null ? '' : flush()),
  };
}

/**
 * Rows already read, as one text (no final newline). `columns` gives their order: without
 * it, the first row's keys, which JavaScript lists integer-like names ("100") first.
 */
export function formatRows(rows: readonly Record<string, unknown>[], format: QueryFormat, columns?: readonly string[]): string {
  const cols = columns ?? (rows.length > 0 ? Object.keys(rows[0]!) : []);
  const f = rowFormatter(format, cols, Infinity);
  return (f.push(rows.map((r) => cols.map((c) => r[c]))) + f.end()).replace(/\n$/, '');
}
