/**
 * Read-only SQL over traces (`evsim query`): one reading statement (checked before it
 * runs), on a file opened with SQLITE_OPEN_READONLY so any write fails and changes
 * nothing. Results are read at once (queryTrace) or streamed a batch at a time
 * (streamQuery); format-rows.ts prints them as an aligned table, CSV or JSON.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { isWritable } from '../files.js';
import { pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import sqlite3 from 'sqlite3';
import { EvsimError, withArticle } from '../errors.js';
import { all, assertTraceFile, close, exec, openDb, run } from './sqlite-sink.js';
import { NAMED_QUERIES } from './schema.js';

export { formatRows, type QueryFormat } from './format-rows.js';

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
    throw new EvsimError('BAD_SQL', `evsim query only reads: ${first ? withArticle(first.toUpperCase()) : 'a'} statement is refused; the trace is opened read-only, use SELECT`);
  }
  return first;
}

/**
 * The columns of a reading statement's result (null when they cannot be asked): a
 * temporary view of it (allowed on a read-only connection, and not run) lists them, with
 * SQLite's own names for duplicates (`macs:1`, …).
 */
async function columnNames(db: sqlite3.Database, sql: string): Promise<string[] | null> {
  try {
    await exec(db, `CREATE TEMP VIEW ${VIEW} AS ${sql}\n;`);
  } catch {
    // Not as a view (a bound parameter, say): the statement itself runs and says what is wrong.
    return null;
  }
  const names = (await all(db, `PRAGMA temp.table_info(${VIEW})`)).map((r) => String(r.name));
  await exec(db, `DROP VIEW temp.${VIEW}`);
  return names;
}

/**
 * Whether a statement is stepped rather than paged through a temporary table: SQL that
 * looks at the connection itself (its temporary schema, pragma functions, the last
 * insert; matched in the raw text, quoted names included, so a string that merely
 * mentions them is stepped too), and a result whose view renamed a column (a name
 * ending in `:N`: SQLite renames a repeat of an earlier name, ignoring case, `x, X` →
 * `x, X:1`, and the view cannot tell that from a name written so). Only the statement's
 * own rows give its names then.
 */
function stepped(sql: string, view: readonly string[]): boolean {
  return /\b(temp|sqlite_temp_master|sqlite_temp_schema|pragma_\w+|last_insert_rowid|changes|total_changes)\b/i.test(sql)
    || view.some((v) => /:\d+$/.test(v));
}

/** The temporary view of the statement (columnNames, pagedRows), and the table a streamed result is run into. */
const VIEW = 'evsim_query_columns';
const ROWS_TABLE = 'evsim_query_rows';

/** Into a pipe or terminal, results up to this many rows are run into the table and paged (fast); longer ones are stepped. */
const PROBE_ROWS = 100_000;

/**
 * Refuses a result with two columns of one name (a join's `f.macs, l.macs`, or `SELECT *`
 * over two tables): rows come back keyed by column name, so the later column silently
 * replaced the earlier. Seen as rows with fewer keys than the result has columns.
 * (queryTrace checks the rows it has read; streamQuery the first row, before any is printed.)
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

/**
 * Runs `read` on the trace opened read-only for one reading statement: checked, the file
 * found, opened immutable in a folder evsim cannot write, SQLite's errors said as
 * evsim's. `read` gets the statement's columns as a temporary view lists them (null when
 * it cannot say) and `check`, which throws once an immutable file has changed since.
 */
async function readTrace<T>(path: string, sql: string, read: (db: sqlite3.Database, columns: string[] | null, check: () => void) => Promise<T>): Promise<T> {
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
  // the folder) would be read half-written. The file is compared before and after (and,
  // streamed, before each batch of rows is handed on).
  const stamp = (): string => [path, `${path}-wal`].map((f) => {
    const st = statSync(f, { throwIfNoEntry: false });
    return st ? `${st.size}:${st.mtimeMs}` : '-';
  }).join('/');
  const before = immutable ? stamp() : '';
  const changed = (): EvsimError | null => (immutable && stamp() !== before
    ? new EvsimError('RUN_FAILED', `trace ${path} was written while being read (a run appended to it); query again once the run is done`)
    : null);
  const check = (): void => {
    const moved = changed();
    if (moved) throw moved;
  };
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
    const result = await read(db, columns, check);
    check();
    return result;
  } catch (e) {
    if (e instanceof EvsimError) throw e;
    check();
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

/**
 * Every row of one reading statement over a trace, read at once (for results that fit in
 * memory; `evsim query` streams with {@link streamQuery}). Keyed by column name.
 */
export async function queryTrace(path: string, sql: string): Promise<Record<string, unknown>[]> {
  let columns: string[] | null = null;
  const rows = await readTrace(path, sql, (db, cols) => {
    columns = cols;
    return all(db, sql);
  });
  checkColumnNames(rows, columns);
  return rows;
}

/** Where {@link streamQuery} hands a result. */
export interface RowReader {
  /** The result's columns in the statement's order: once, before any row. */
  columns(names: string[]): void;
  /**
   * The next rows, in order, each its values in column order. No more is read until the
   * promise settles; false (a reader that has gone, such as a closed pipe) stops reading.
   */
  rows(batch: unknown[][]): boolean | Promise<boolean>;
}

/**
 * One reading statement over a trace, its rows handed to `reader` in batches, at the
 * reader's pace, so a result of any size is read in bounded memory. A statement whose
 * columns are known is run into a temporary table (SQLite's temp store, on disk) and read
 * back a page at a time by rowid, as fast as reading it at once: into a file
 * (`materialize`) whatever its length; into a pipe or terminal up to PROBE_ROWS rows.
 * Beyond that (or for PRAGMA and EXPLAIN) it is run again and stepped a row at a time
 * (Statement#get, a thread-pool round trip a row, about 20 µs), which stops as soon as
 * the reader does (`| head`, an endless recursive query). sqlite3's `each` cannot be
 * paused: it would hold every row the reader has not taken yet.
 */
export async function streamQuery(path: string, sql: string, reader: RowReader, opts: { materialize?: boolean; batchRows?: number } = {}): Promise<void> {
  const batchRows = opts.batchRows ?? 1000;
  await readTrace(path, sql, async (db, view, check) => {
    if (view !== null && !stepped(sql, view) && (await pagedRows(db, sql, view, reader, check, batchRows, opts.materialize ? null : PROBE_ROWS))) return;
    await steppedRows(db, sql, view, reader, check, batchRows);
  });
}

/**
 * Runs the statement (through its view) into a temporary table and hands it on a page at
 * a time. With a `limit`, a result longer than it is dropped unread and false returned.
 */
async function pagedRows(db: sqlite3.Database, sql: string, view: string[], reader: RowReader, check: () => void, batchRows: number, limit: number | null): Promise<boolean> {
  // The view renamed no column (see stepped): its names are the statement's, all distinct.
  // Untyped columns (no affinity): every value keeps its own type. Through a view, so a
  // LIMIT can be put on any statement (WITH, VALUES, a trailing ; or comment).
  const cols = view.map((_, i) => `c${i}`);
  await exec(db, `CREATE TEMP VIEW ${VIEW} AS ${sql}\n;`);
  await exec(db, `CREATE TEMP TABLE ${ROWS_TABLE} (${cols.join(', ')})`);
  // A fresh table filled by one INSERT numbers its rows 1, 2, 3, …: the last rowid is the count.
  const { lastID: count } = await run(db, `INSERT INTO temp.${ROWS_TABLE} SELECT * FROM temp.${VIEW}${limit !== null ? ` LIMIT ${limit + 1}` : ''}`);
  await exec(db, `DROP VIEW temp.${VIEW}`);
  if (limit !== null && count > limit) {
    await exec(db, `DROP TABLE temp.${ROWS_TABLE}`);
    return false;
  }
  check();
  reader.columns(view);
  for (let last = 0; ;) {
    const page = await all(db, `SELECT * FROM temp.${ROWS_TABLE} WHERE rowid > ? ORDER BY rowid LIMIT ?`, [last, batchRows]);
    if (page.length === 0) return true;
    last += page.length;
    if (!(await reader.rows(page.map((r) => cols.map((c) => r[c]))))) return true;
    if (page.length < batchRows) return true;
  }
}

async function steppedRows(db: sqlite3.Database, sql: string, view: string[] | null, reader: RowReader, check: () => void, batchRows: number): Promise<void> {
  const st = await prepare(db, sql);
  try {
    let order: string[] | null = null;
    let batch: unknown[][] = [];
    for (let row = await step(st); row !== undefined; row = await step(st)) {
      if (order === null) {
        checkColumnNames([row], view);
        order = columnOrder(row, view);
        reader.columns(order);
      }
      const r = row;
      batch.push(order.map((c) => r[c]));
      if (batch.length >= batchRows) {
        // Rows read while an immutable file was being written are not handed on.
        check();
        if (!(await reader.rows(batch))) return;
        batch = [];
      }
    }
    if (order === null) reader.columns(view ?? []);
    check();
    if (batch.length > 0) await reader.rows(batch);
  } finally {
    await new Promise<void>((res) => st.finalize(() => res()));
  }
}

function prepare(db: sqlite3.Database, sql: string): Promise<sqlite3.Statement> {
  return new Promise((res, rej) => {
    const st: sqlite3.Statement = db.prepare(sql, (e: Error | null) => (e ? rej(e) : res(st)));
  });
}

/** The statement's next row, or undefined after its last. */
function step(st: sqlite3.Statement): Promise<Record<string, unknown> | undefined> {
  return new Promise((res, rej) => st.get((e: Error | null, row: unknown) => (e ? rej(e) : res(row as Record<string, unknown> | undefined))));
}

/** True for a key JavaScript lists before the others in an object: an array index ("0", "100"). */
const isIndexKey = (k: string): boolean => /^(0|[1-9]\d{0,9})$/.test(k) && Number(k) < 2 ** 32 - 1;

/**
 * A row's column names in the statement's order. The row object lists them in that
 * order but for integer-like names, which come first ("100" before "run_id"): those go
 * where the view of the statement has them. (A name the view changed, a:1 for a second
 * `A`, is never integer-like.) Without the view, or if it does not match, the row's order.
 */
function columnOrder(row: Record<string, unknown>, view: string[] | null): string[] {
  const keys = Object.keys(row);
  if (view === null || view.length !== keys.length) return keys;
  const named = keys.filter((k) => !isIndexKey(k));
  let next = 0;
  const order = view.map((v) => (isIndexKey(v) && Object.hasOwn(row, v) ? v : named[next++]));
  return next === named.length && new Set(order).size === keys.length && order.every((k) => k !== undefined) ? (order as string[]) : keys;
}

/**
 * A trace's runs (run_status, by run_id), and run `id` among them: a trace without runs,
 * or without that one, exits 2 naming the runs it has. What report --run and query
 * --named --run check.
 */
export async function traceRun(trace: string, id?: number): Promise<{ runs: Record<string, unknown>[]; run: Record<string, unknown> | null }> {
  const runs = await queryTrace(trace, 'SELECT * FROM run_status ORDER BY run_id');
  if (runs.length === 0) throw new EvsimError('BAD_TRACE', `trace ${trace} holds no runs`);
  if (id === undefined) return { runs, run: null };
  return { runs, run: runOf(trace, runs, id) };
}

/** Run `id` among a trace's runs, or exit 2 naming those there are. */
export function runOf(trace: string, runs: readonly Record<string, unknown>[], id: number): Record<string, unknown> {
  const run = runs.find((r) => Number(r.run_id) === id);
  if (!run) throw new EvsimError('BAD_USAGE', `trace ${trace} has no run ${id}; runs: ${runs.map((r) => r.run_id).join(', ')}`);
  return run;
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

/**
 * A named query's SQL, reading run `run` (default: the last run with rows of its kind).
 * `runsColumns`: the columns the file's runs table has (see runsColumnsOf); one it lacks
 * (a file last written by an older evsim) reads as NULL. Absent: this version's.
 */
export function namedQuery(name: string, run?: number, runsColumns?: ReadonlySet<string>): string {
  const q = NAMED_QUERIES[name];
  if (!q) throw new EvsimError('BAD_USAGE', `no named query '${name}'; available: ${Object.keys(NAMED_QUERIES).join(', ')} (see --list)`);
  if (run !== undefined && !q.last) throw new EvsimError('BAD_USAGE', `--run does not apply to '${name}', which reads every run`);
  return q.sql
    .replace(/\{runs\.(\w+)\}/g, (_m, c: string) => (!runsColumns || runsColumns.has(c) ? `r.${c}` : 'NULL'))
    .replace(/\{run\}/g, run !== undefined ? String(run) : `(SELECT MAX(run_id) FROM ${q.last})`);
}

/** The columns of a trace's runs table (a file written by an older evsim has fewer). */
export async function runsColumnsOf(trace: string): Promise<Set<string>> {
  return new Set((await queryTrace(trace, "SELECT name FROM pragma_table_info('runs')")).map((r) => String(r.name)));
}

/**
 * Why a named query that reads one run's rows of a table will print none, or null: no
 * run (or not run `run`) has rows there, e.g. per-core rows in a trace recorded at level
 * summary, which sweeps write by default.
 */
export async function namedQueryNote(trace: string, name: string, run?: number): Promise<string | null> {
  const table = NAMED_QUERIES[name]?.last;
  if (!table) return null;
  const where = run !== undefined ? ` WHERE run_id = ${run}` : '';
  const [r] = await queryTrace(trace, `SELECT EXISTS (SELECT 1 FROM ${table}${where}) AS any`);
  if (r?.any) return null;
  const who = run !== undefined ? `run ${run} has` : 'no run in this trace has';
  const fix = table === 'core_frames' ? ' (per-core rows come from a chip run recorded at trace level cores or events: --trace-level cores, trace_level: cores in a sweep file; --chip ideal has no cores)' : '';
  return `note: ${run !== undefined ? `${who} no` : who} rows in ${table}, which '${name}' reads${fix}`;
}

export function listNamed(): string;
export function listNamed(json: true): { name: string; description: string; sql: string }[];
export function listNamed(json = false): string | { name: string; description: string; sql: string }[] {
  if (json) return Object.entries(NAMED_QUERIES).map(([name, q]) => ({ name, description: q.description, sql: namedQuery(name) }));
  const w = Math.max(...Object.keys(NAMED_QUERIES).map((k) => k.length));
  return Object.entries(NAMED_QUERIES).map(([k, q]) => `${k.padEnd(w)}  ${q.description}`).join('\n');
}
