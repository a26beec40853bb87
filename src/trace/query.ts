/**
 * Read-only SQL over traces (`evsim query`): one reading statement (checked before it
 * runs), on a file opened with SQLITE_OPEN_READONLY so any write fails and changes
 * nothing. Results print as an aligned table, CSV or JSON.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { isWritable } from '../files.js';
import { pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import sqlite3 from 'sqlite3';
import { EvsimError } from '../errors.js';
import { all, assertTraceFile, close, exec, openDb } from './sqlite-sink.js';
import { NAMED_QUERIES } from './schema.js';

export type QueryFormat = 'table' | 'csv' | 'json';

/** The SQL's keywords and names: comments, string literals and quoted names blanked out. */
function sqlWords(sql: string): string {
  return sql.replace(/--[^\n]*|\/\*[\s\S]*?(\*\/|$)|'(''|[^'])*'?|"(""|[^"])*"?|`(``|[^`])*`?|\[[^\]]*\]?/g, ' ');
}

/** PRAGMAs that only read (a name alone or with a table or index argument). */
const READ_PRAGMAS = new Set([
  'table_info', 'table_xinfo', 'table_list', 'index_list', 'index_info', 'index_xinfo', 'foreign_key_list', 'database_list',
  'collation_list', 'function_list', 'pragma_list', 'compile_options', 'user_version', 'application_id', 'schema_version',
  'data_version', 'page_count', 'page_size', 'freelist_count', 'encoding', 'integrity_check', 'quick_check', 'foreign_key_check',
]);

/**
 * Refuses SQL that is not one read: a second statement (sqlite3 would silently drop
 * it), a statement that does not start with SELECT, WITH, VALUES or EXPLAIN, a PRAGMA
 * that could set something, and VACUUM (whose INTO form writes a new file even from a
 * read-only connection). Comments, literals and quoted names are blanked first.
 */
function checkReadOnly(sql: string): string {
  const words = sqlWords(sql);
  const statements = words.split(';').map((t) => t.trim()).filter((t) => t.length > 0);
  if (statements.length === 0) throw new EvsimError('BAD_SQL', 'the SQL is empty; give a SELECT statement');
  if (statements.length > 1) throw new EvsimError('BAD_SQL', `give one statement at a time (got ${statements.length})`);
  const st = statements[0]!;
  if (/\bvacuum\b/i.test(st)) throw new EvsimError('BAD_SQL', 'evsim query only reads: VACUUM (and VACUUM INTO, which writes a file) is refused; copy the trace with cp instead');
  const first = /^\w+/.exec(st)?.[0]?.toLowerCase() ?? '';
  if (first === 'pragma') {
    const name = /^pragma\s+(?:\w+\s*\.\s*)?(\w+)/i.exec(st)?.[1]?.toLowerCase() ?? '';
    if (!READ_PRAGMAS.has(name) || st.includes('=')) throw new EvsimError('BAD_SQL', `evsim query only reads: PRAGMA ${name || '…'} is refused (reading pragmas such as table_info(frames) are allowed)`);
    return first;
  }
  if (!['select', 'with', 'values', 'explain'].includes(first)) {
    throw new EvsimError('BAD_SQL', `evsim query only reads: a ${first.toUpperCase() || 'statement'} statement is refused; the trace is opened read-only, use SELECT`);
  }
  return first;
}

/**
 * The columns of a reading statement's result (null when they cannot be asked): a
 * temporary view of it (allowed on a read-only connection, and not run) lists them, with
 * SQLite's own names for duplicates (`macs:1`, …).
 */
async function columnNames(db: sqlite3.Database, sql: string): Promise<string[] | null> {
  const view = 'evsim_query_columns';
  try {
    await exec(db, `CREATE TEMP VIEW ${view} AS ${sql}\n;`);
  } catch {
    // Not as a view (a bound parameter, say): the statement itself runs and says what is wrong.
    return null;
  }
  const names = (await all(db, `PRAGMA temp.table_info(${view})`)).map((r) => String(r.name));
  await exec(db, `DROP VIEW temp.${view}`);
  return names;
}

/**
 * Refuses a result with two columns of one name (a join's `f.macs, l.macs`, or `SELECT *`
 * over two tables): rows come back keyed by column name, so the later column silently
 * replaced the earlier. Seen as rows with fewer keys than the result has columns.
 * (The check runs on the rows read, so a huge refused result is read first.)
 */
function checkColumnNames(rows: Record<string, unknown>[], columnsOf: string[] | null): void {
  if (columnsOf === null || rows.length === 0) return;
  // A row object cannot hold a key __proto__ (the value would set its prototype, and be lost).
  if (columnsOf.includes('__proto__')) throw new EvsimError('BAD_SQL', 'a column named __proto__ cannot be returned (the name is reserved in JavaScript objects); give it another name with AS');
  const columns = columnsOf.length;
  const names = Object.keys(rows[0]!);
  if (names.length >= columns) return;
  throw new EvsimError('BAD_SQL', `the result has ${columns} columns but only ${names.length === 1 ? 'one name' : `${names.length} distinct names`} (${names.join(', ')}): columns of one name would overwrite each other; give each its own name with AS (e.g. l.macs AS layer_macs), listing the columns instead of *`);
}

export async function queryTrace(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const kind = checkReadOnly(sql);
  if (!existsSync(path)) throw new EvsimError('BAD_TRACE', `trace ${path} does not exist; run 'evsim run' first or check the path`);
  if (statSync(path).isDirectory()) throw new EvsimError('BAD_TRACE', `trace ${path} is a folder; give a trace file (e.g. ${join(path, 'demo.sqlite')})`);
  // A WAL file (evsim's traces are) in a folder evsim cannot write, such as a read-only
  // mount: SQLite cannot make the -shm file it needs even to read it. Closed cleanly, it
  // has nothing outside the main file, which is then read as it is (immutable).
  const immutable = isWal(path) && !isWritable(dirname(resolve(path)));
  if (immutable && (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 0) {
    throw new EvsimError('BAD_TRACE', `trace ${path} has writes in ${path}-wal (a run writing it, or one that was killed) in a folder evsim cannot write, where SQLite cannot read them; copy both files to a writable folder`);
  }
  // Immutable, SQLite takes no locks: a run appending meanwhile (as a user who can write
  // the folder) would be read half-written. The file is compared before and after.
  const stamp = (): string => [path, `${path}-wal`].map((f) => {
    const st = statSync(f, { throwIfNoEntry: false });
    return st ? `${st.size}:${st.mtimeMs}` : '-';
  }).join('/');
  const before = immutable ? stamp() : '';
  const changed = (): EvsimError | null => (immutable && stamp() !== before
    ? new EvsimError('RUN_FAILED', `trace ${path} was written while being read (a run appended to it); query again once the run is done`)
    : null);
  let db: sqlite3.Database;
  try {
    db = immutable
      ? await openDb(`${pathToFileURL(resolve(path)).href}?immutable=1`, sqlite3.OPEN_READONLY | sqlite3.OPEN_URI)
      : await openDb(path, sqlite3.OPEN_READONLY);
  } catch (e) {
    throw new EvsimError('BAD_TRACE', `cannot open trace ${path}: ${(e as Error).message}`);
  }
  try {
    const columns = kind !== 'pragma' && kind !== 'explain' ? await columnNames(db, sql) : null;
    const rows = await all(db, sql);
    const moved = changed();
    if (moved) throw moved;
    checkColumnNames(rows, columns);
    return rows;
  } catch (e) {
    if (e instanceof EvsimError) throw e;
    const moved = changed();
    if (moved) throw moved;
    const msg = (e as Error).message.replace(/^SQLITE_\w+: /, '');
    // Another program's database, or no database at all, is said so, not as an SQL error.
    if (/no such table|not a database/i.test(msg)) {
      const kind = await assertTraceFile(db, path, 'trace', "give a file written by 'evsim run --trace' or 'evsim sweep'");
      if (kind === 'empty') throw new EvsimError('BAD_TRACE', `trace ${path} is empty (no run was ever written to it); give a file written by 'evsim run --trace' or 'evsim sweep'`);
      if (/no such table: sweep_points/.test(msg)) throw new EvsimError('BAD_SQL', `${path} holds runs but no sweep: sweep_points is in the files evsim sweep writes (its --out)`);
    }
    if (/readonly/i.test(msg)) throw new EvsimError('BAD_SQL', `the trace is opened read-only; evsim query runs SELECT statements only (${msg})`);
    throw new EvsimError('BAD_SQL', `SQL error: ${msg}`);
  } finally {
    await close(db).catch(() => undefined);
  }
}

/** True when the file is an SQLite database in WAL mode (header bytes 18 and 19 are 2). */
function isWal(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const h = Buffer.alloc(20);
      return readSync(fd, h, 0, 20, 0) === 20 && h[18] === 2 && h[19] === 2;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** A named query's SQL, reading run `run` (default: the last run with rows of its kind). */
export function namedQuery(name: string, run?: number): string {
  const q = NAMED_QUERIES[name];
  if (!q) throw new EvsimError('BAD_USAGE', `no named query '${name}'; available: ${Object.keys(NAMED_QUERIES).join(', ')} (see --list)`);
  if (run !== undefined && !q.last) throw new EvsimError('BAD_USAGE', `--run does not apply to '${name}', which reads every run`);
  return q.sql.replace(/\{run\}/g, run !== undefined ? String(run) : `(SELECT MAX(run_id) FROM ${q.last})`);
}

export function listNamed(): string;
export function listNamed(json: true): { name: string; description: string; sql: string }[];
export function listNamed(json = false): string | { name: string; description: string; sql: string }[] {
  if (json) return Object.entries(NAMED_QUERIES).map(([name, q]) => ({ name, description: q.description, sql: namedQuery(name) }));
  const w = Math.max(...Object.keys(NAMED_QUERIES).map((k) => k.length));
  return Object.entries(NAMED_QUERIES).map(([k, q]) => `${k.padEnd(w)}  ${q.description}`).join('\n');
}

/**
 * Table cells show reals with 6 significant digits, but never fewer than their integer
 * part (29345622.7 stays 29345622.7, not 29345600); CSV and JSON keep every digit.
 */
function rounded(v: number): string {
  const intDigits = Math.abs(v) >= 1 ? Math.floor(Math.log10(Math.abs(v))) + 1 : 0;
  return String(Number(v.toPrecision(Math.max(6, Math.min(intDigits + 1, 17)))));
}

/** A Buffer as JSON.stringify hands it to a replacer (its toJSON runs first). */
function isBufferJson(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data);
}

/** A BLOB as SQL writes it, x'0a1b…' (not its raw bytes, nor a JSON dump of a Buffer). */
const blob = (v: Uint8Array): string => `x'${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}'`;

const cell = (v: unknown, round = true): string =>
  v === null || v === undefined ? '' : v instanceof Uint8Array ? blob(v) : round && typeof v === 'number' && !Number.isInteger(v) ? rounded(v) : String(v);

export function formatRows(rows: Record<string, unknown>[], format: QueryFormat): string {
  if (format === 'json') return JSON.stringify(rows, (_k, v: unknown) => (v instanceof Uint8Array ? blob(v) : isBufferJson(v) ? blob(Uint8Array.from(v.data)) : v), 2);
  if (rows.length === 0) return format === 'csv' ? '' : '(no rows)';
  const cols = Object.keys(rows[0]!);
  if (format === 'csv') {
    const esc = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    return [cols.map(esc).join(','), ...rows.map((r) => cols.map((c) => esc(cell(r[c], false))).join(','))].join('\n');
  }
  const text = rows.map((r) => cols.map((c) => cell(r[c])));
  // A loop, not Math.max(...): a spread of 10⁵ rows overflows the call stack.
  const widths = cols.map((c, i) => text.reduce((w, t) => Math.max(w, t[i]!.length), c.length));
  const numeric = cols.map((c) => rows.every((r) => r[c] === null || typeof r[c] === 'number'));
  const line = (vals: string[]): string => vals.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}
