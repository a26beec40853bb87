/**
 * The SQLite trace writer: one writer on the main thread, WAL mode, multi-row inserts
 * committed in transactions every few frames, a heartbeat so a run whose process died
 * shows as stale. Frames committed before a crash survive it.
 */
import sqlite3 from 'sqlite3';
import { EvsimError } from '../errors.js';
import type { FrameRecord } from '../runtime/result.js';
import type { FrameEvents } from '../runtime/messages.js';
import type { RunScores, RunStatus, TraceCoreFrame, TraceLayerFrame, TraceRunInfo, TraceSink } from '../runtime/trace-sink.js';
import { checkTracePath } from './paths.js';
import { ADDED_COLUMNS, SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';

type Row = (number | string | null)[];

const now = (): string => new Date().toISOString();

/** Promise wrappers over the callback API. */
export function openDb(path: string, mode: number): Promise<sqlite3.Database> {
  return new Promise((res, rej) => {
    const db = new sqlite3.Database(path, mode, (e) => (e ? rej(e) : res(db)));
  });
}
export function exec(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((res, rej) => db.exec(sql, (e) => (e ? rej(e) : res())));
}
export function run(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<{ lastID: number }> {
  return new Promise((res, rej) =>
    db.run(sql, params, function (this: sqlite3.RunResult, e: Error | null) {
      if (e) rej(e);
      else res({ lastID: this.lastID });
    }),
  );
}
export function all(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  return new Promise((res, rej) => db.all(sql, params, (e, rows) => (e ? rej(e) : res(rows as Record<string, unknown>[]))));
}
export function close(db: sqlite3.Database): Promise<void> {
  return new Promise((res, rej) => db.close((e) => (e ? rej(e) : res())));
}

/**
 * Whether an open database is an evsim trace (or empty, so one may be made): an SQLite
 * file of another program's, or a file that is not SQLite at all, is refused before
 * anything is written to it (a journal mode, the schema).
 */
export async function assertTraceFile(db: sqlite3.Database, path: string, what: string, elsewhere: string): Promise<'empty' | 'trace'> {
  let tables: string[];
  try {
    tables = (await all(db, "SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => String(r.name));
  } catch (e) {
    throw new EvsimError('BAD_TRACE', `${what} ${path} is not an SQLite database (${(e as Error).message}); ${elsewhere}`);
  }
  if (tables.length === 0) return 'empty';
  if (!tables.includes('schema_version') || !tables.includes('runs')) {
    throw new EvsimError('BAD_TRACE', `${what} ${path} is an SQLite database but not an evsim trace (tables ${tables.slice(0, 3).join(', ')}${tables.length > 3 ? ', …' : ''}); ${elsewhere}`);
  }
  return 'trace';
}

/**
 * Adds to `table` each column (a `name TYPE …` declaration, the name quoted or not) it
 * does not have yet: files written by an earlier evsim, a sweep's new parameters.
 */
export async function addMissingColumns(db: sqlite3.Database, table: string, decls: readonly string[]): Promise<void> {
  const have = new Set((await all(db, `PRAGMA table_info(${table})`)).map((r) => String(r.name)));
  for (const d of decls) {
    const name = d.split(' ')[0]!.replace(/"/g, '');
    if (have.has(name)) continue;
    await exec(db, `ALTER TABLE ${table} ADD COLUMN ${d}`);
    have.add(name);
  }
}

/**
 * Opens (creating) a trace file for writing: refuses another program's database, then
 * WAL, the schema, and the schema version check. Shared by the run writer and the sweep store.
 */
export async function openTraceForWriting(path: string, what: string, elsewhere: string, busyMs: number): Promise<sqlite3.Database> {
  const db = await openDb(path, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE);
  try {
    // The wait first: reading the file, switching it to WAL and the setup below all may
    // meet another writer.
    await exec(db, `PRAGMA busy_timeout = ${busyMs};`);
    await assertTraceFile(db, path, what, elsewhere);
    // SQLite answers BUSY at once, without waiting, where waiting could deadlock (two
    // connections setting up a file not yet in WAL mode): tried again until busyMs.
    // The waits differ between processes (by pid, not a random draw) so two do not retry in step.
    const until = Date.now() + busyMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await setUpTrace(db, path, what);
        return db;
      } catch (e) {
        if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > until) throw e;
        await new Promise((res) => setTimeout(res, 20 + ((process.pid + 7 * attempt) % 31)));
      }
    }
  } catch (e) {
    await close(db).catch(() => undefined);
    throw e;
  }
}

/**
 * WAL, then the schema and its version in one write transaction taken before the version
 * is read: two writers opening the same new or older file at once (DESIGN §7: runs may
 * share one) set it up or upgrade it one after the other, and a reader sees the file
 * before or after, never half done.
 */
async function setUpTrace(db: sqlite3.Database, path: string, what: string): Promise<void> {
  await exec(db, 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
  await exec(db, 'BEGIN IMMEDIATE');
  try {
    await exec(db, SCHEMA_SQL);
    const v = await all(db, 'SELECT version FROM schema_version');
    const have = v.length === 0 ? null : Number(v[0]!.version);
    if (have === null) await run(db, 'INSERT INTO schema_version (version) VALUES (?)', [SCHEMA_VERSION]);
    else if (have >= 1 && have < SCHEMA_VERSION) {
      // Version 1 lacked core_frames' shadow-row columns (0 for its runs), version 2 the
      // runs' scores, version 3 their policy and threshold (null for older runs). The
      // version moves on, so an older evsim refuses the file instead of writing rows
      // columns short.
      for (const [table, columns] of Object.entries(ADDED_COLUMNS)) await addMissingColumns(db, table, columns);
      // Views as this version defines them (CREATE VIEW IF NOT EXISTS kept the file's own).
      const views = [...SCHEMA_SQL.matchAll(/CREATE VIEW IF NOT EXISTS (\w+)/g)].map((m) => m[1]!);
      await exec(db, `${views.map((v) => `DROP VIEW IF EXISTS ${v};`).join(' ')} ${SCHEMA_SQL}`);
      await run(db, 'UPDATE schema_version SET version = ?', [SCHEMA_VERSION]);
    } else if (have !== SCHEMA_VERSION) {
      throw new EvsimError('BAD_TRACE', `${what} ${path} has trace schema version ${v[0]!.version}; this evsim writes ${SCHEMA_VERSION}: use a new file`);
    }
    await exec(db, 'COMMIT');
  } catch (e) {
    await exec(db, 'ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** A score for a REAL column: non-finite numbers (NaN, ±Infinity) and missing ones as NULL. */
function finiteOrNull(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Rows per INSERT statement. */
const ROWS_PER_CHUNK = 5000;
/** Heartbeat period while a run is open. */
const HEARTBEAT_MS = 5000;
/** Commit at least this often, so a killed run keeps its frames. */
const COMMIT_EVERY_FRAMES = 8;
/**
 * Rows buffered or queued for writing beyond which a run waits for the writer (events
 * come at millions of rows a second on big chips; SQLite takes ~0.6 M/s).
 */
const MAX_BACKLOG_ROWS = 500_000;

/**
 * A value as an SQL literal: numbers as JavaScript prints them (shortest text that reads
 * back as the same double: integral ones stay INTEGER, others REAL), non-finite numbers
 * and null as NULL (as JSON had them), strings quoted.
 */
function sqlLiteral(v: number | string | null): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NULL';
  if (v === null) return 'NULL';
  if (typeof v !== 'string') throw new Error(`internal: trace value ${String(v)} of type ${typeof v}`);
  // SQL text ends at a NUL character: such a string (a model's node name) goes in as its UTF-8 bytes.
  if (v.includes('\0')) return `CAST(X'${Buffer.from(v, 'utf8').toString('hex')}' AS TEXT)`;
  return `'${v.replaceAll("'", "''")}'`;
}

/** `INSERT INTO table VALUES (...), (...)` for rows[from, to). */
export function insertSql(table: string, rows: readonly Row[], from: number, to: number): string {
  const parts: string[] = [];
  for (let i = from; i < to; i++) parts.push(`(${rows[i]!.map(sqlLiteral).join(',')})`);
  return `INSERT INTO ${table} VALUES ${parts.join(',')}`;
}

export class SqliteTraceSink implements TraceSink {
  private db: sqlite3.Database | null = null;
  private runId = 0;
  private pending = new Map<string, Row[]>();
  private framesSinceCommit = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private lastBeat = 0;
  private timer: NodeJS.Timeout | null = null;

  /**
   * `replay`: the run is written from a finished recording (a sweep point), not live:
   * no heartbeat, no checkpoint of its own, and the times it began and ended where it
   * ran (`createdAt`, `endedAt`). It is written on `db`, an open connection inside a
   * transaction of the caller's (who commits it together with what refers to the run,
   * so a killed process leaves the run and its sweep point both or neither): the sink
   * neither begins, commits nor closes anything.
   */
  constructor(
    readonly path: string,
    readonly level: 'summary' | 'cores' | 'events',
    private readonly version: string,
    private readonly opts: { replay?: { db: sqlite3.Database; createdAt?: string | null; endedAt?: string | null }; maxBacklogRows?: number } = {},
  ) {}

  /** A transaction statement, skipped on a replay (the caller's transaction holds the run). */
  private async tx(sql: 'BEGIN' | 'COMMIT; BEGIN' | 'COMMIT'): Promise<void> {
    if (!this.opts.replay) await exec(this.db!, sql);
  }

  /** The run's row in `runs` (0 before begin). */
  get id(): number {
    return this.runId;
  }

  async begin(info: TraceRunInfo): Promise<void> {
    checkTracePath(this.path);
    try {
      this.db = this.opts.replay?.db ?? (await openTraceForWriting(this.path, 'trace', 'pass --trace another file (or --no-trace)', 5000).catch((e: unknown) => {
        // The file could not be opened as a trace (locked by another program, read-only): bad input.
        throw e instanceof EvsimError ? e : new EvsimError('BAD_TRACE', `trace ${this.path}: ${(e as Error).message}`);
      }));
      const t = this.opts.replay?.createdAt ?? now();
      const r = await run(
        this.db,
        `INSERT INTO runs (created_at, heartbeat_at, status, evsim_version, model, model_hash, chip, trace_level, frames_planned, config_json, policy, threshold)
         VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [t, t, this.version, info.model, info.modelHash, info.chip, this.level, info.frames, JSON.stringify(info.config), info.policy ?? null, finiteOrNull(info.threshold)],
      );
      this.runId = r.lastID;
      await this.tx('BEGIN');
      for (const l of info.layers) this.push('layers', [this.runId, l.layer_id, l.name, l.op, l.kind, l.shape, l.dense_macs, l.weight_bytes, l.state_bytes]);
      if (this.level !== 'summary') for (const c of info.cores) this.push('cores', [this.runId, c.core_id, c.tile_x, c.tile_y, c.layer_id, c.neurons, c.synapse_bytes]);
      await this.flushRows();
      this.backlogRows = 0;
      // Frames are written inside a transaction that commitSoon() closes and reopens.
      await this.tx('COMMIT; BEGIN');
      this.lastBeat = Date.now();
      if (this.opts.replay) return;
      // A heartbeat even while a slow frame runs, so only a dead process looks stale.
      this.timer = setInterval(() => this.commitSoon(), HEARTBEAT_MS);
      this.timer.unref();
    } catch (e) {
      if (e instanceof EvsimError) throw e; // the file could not be opened as a trace: bad input
      // A write failed once the file was open (a full disk): a failure of the run, which
      // must not stay 'running' nor keep the file open.
      const db = this.db;
      this.db = null;
      if (db && !this.opts.replay) {
        await exec(db, 'ROLLBACK').catch(() => undefined);
        if (this.runId) await run(db, "UPDATE runs SET status = 'failed', error = ? WHERE run_id = ?", [`trace write failed: ${(e as Error).message}`, this.runId]).catch(() => undefined);
        await close(db).catch(() => undefined);
      }
      throw new EvsimError('RUN_FAILED', `trace ${this.path}: ${(e as Error).message}`);
    }
  }

  private push(table: string, row: Row): void {
    this.backlogRows++;
    const l = this.pending.get(table);
    if (l) l.push(row);
    else this.pending.set(table, [row]);
  }

  /**
   * Inserts a batch of rows (already detached from `pending`) as multi-row INSERT
   * statements with literal values: 2× the rows per second of expanding one JSON
   * parameter with json_each, which re-parsed each row's JSON once per column (measured
   * 1.0 M vs 0.64 M rows/s for 7-column rows, half the process CPU), and 3× binding
   * every value. Values keep their types (see sqlLiteral).
   */
  private async flushRows(batch: Map<string, Row[]> = this.takePending()): Promise<void> {
    for (const [table, rows] of batch) {
      for (let i = 0; i < rows.length; i += ROWS_PER_CHUNK) {
        await exec(this.db!, insertSql(table, rows, i, Math.min(rows.length, i + ROWS_PER_CHUNK)));
      }
    }
  }

  private takePending(): Map<string, Row[]> {
    const batch = this.pending;
    this.pending = new Map();
    return batch;
  }

  /** Rows pushed but not yet written (buffered, or queued on the write chain). */
  private backlogRows = 0;

  backlog(): Promise<void> | null {
    return this.backlogRows > (this.opts.maxBacklogRows ?? MAX_BACKLOG_ROWS) ? this.chain : null;
  }

  frame(rec: FrameRecord, layers: TraceLayerFrame | null, cores: TraceCoreFrame | null, events?: FrameEvents[] | null): void {
    // A failed write stops the run now rather than after every frame is simulated.
    if (this.failure) throw new EvsimError('RUN_FAILED', `trace ${this.path}: ${this.failure.message}`);
    const id = this.runId;
    this.push('frames', [id, rec.frame, rec.macs, rec.dense_macs, rec.adds, rec.transmissions, rec.messages, rec.hops, rec.synops, rec.energy_pj, rec.latency_ns]);
    if (layers) {
      for (let l = 0; l < layers.macs.length; l++) this.push('layer_frames', [id, rec.frame, l, layers.macs[l]!, layers.adds[l]!, layers.updates[l]!, layers.transmissions[l]!]);
    }
    if (cores && this.level !== 'summary') {
      for (let c = 0; c < cores.synops.length; c++) {
        this.push('core_frames', [
          id, rec.frame, c, cores.messagesIn[c]!, cores.synops[c]!, cores.neuronUpdates[c]!, cores.messagesOut[c]!,
          cores.busyNs[c]!, cores.stallNs[c]!, cores.queueMax[c]!, cores.energyPj[c]!, cores.endNs[c]!, cores.haloSynops[c]!, cores.haloUpdates[c]!,
        ]);
      }
    }
    if (events && this.level === 'events') {
      for (const ev of events) {
        for (let i = 0; i < ev.tNs.length; i++) this.push('events', [id, rec.frame, ev.tNs[i]!, ev.src[i]!, ev.dst[i]!, ev.neuron[i]!, ev.value[i]!, ev.hops[i]!]);
      }
      // Events are many: commit every frame so memory stays bounded.
      this.framesSinceCommit = COMMIT_EVERY_FRAMES;
    }
    if (++this.framesSinceCommit >= COMMIT_EVERY_FRAMES && !this.opts.replay) this.commitSoon();
  }

  /** Queues a commit of everything buffered (writes run in order on one chain). */
  private commitSoon(): void {
    this.framesSinceCommit = 0;
    const beat = Date.now() - this.lastBeat > 1000 || this.pending.size === 0;
    if (beat) this.lastBeat = Date.now();
    // Rows pushed while this commit is in flight belong to the next one.
    const batch = this.takePending();
    let rows = 0;
    for (const r of batch.values()) rows += r.length;
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        await this.flushRows(batch);
        this.backlogRows -= rows;
        if (beat && !this.opts.replay) await run(this.db!, 'UPDATE runs SET heartbeat_at = ? WHERE run_id = ?', [now(), this.runId]);
        await this.tx('COMMIT; BEGIN');
      } catch (e) {
        this.failure = e as Error;
      }
    });
  }

  async end(status: RunStatus, error?: string, scores?: RunScores): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.db) return;
    this.commitSoon();
    await this.chain;
    const db = this.db;
    this.db = null;
    const replay = this.opts.replay;
    const t = replay ? (replay.endedAt ?? now()) : now();
    // On a replay the caller rolls its transaction back: neither the run nor its point stays.
    if (this.failure && replay) throw new EvsimError('RUN_FAILED', `trace ${this.path}: ${this.failure.message}`);
    if (this.failure) {
      // The run must not stay 'running': drop the half-written batch, mark it failed with
      // the write's error (best effort: the file may be what failed), then report.
      const why = `trace write failed: ${this.failure.message}`;
      await exec(db, 'ROLLBACK').catch(() => undefined);
      await run(db, 'UPDATE runs SET status = ?, ended_at = ?, heartbeat_at = ?, error = ? WHERE run_id = ?', ['failed', t, t, why, this.runId]).catch(() => undefined);
      await close(db).catch(() => undefined);
      throw new EvsimError('RUN_FAILED', `trace ${this.path}: ${this.failure.message}`);
    }
    try {
      await run(db, 'UPDATE runs SET status = ?, ended_at = ?, heartbeat_at = ?, error = ?, accuracy = ?, rel_rmse = ?, max_abs = ? WHERE run_id = ?', [
        status, t, t, error ?? null, finiteOrNull(scores?.accuracy), finiteOrNull(scores?.rel_rmse), finiteOrNull(scores?.max_abs), this.runId,
      ]);
      if (replay) return;
      await exec(db, 'COMMIT');
      await exec(db, 'PRAGMA wal_checkpoint(TRUNCATE)');
    } catch (e) {
      throw new EvsimError('RUN_FAILED', `trace ${this.path}: ${(e as Error).message}`);
    } finally {
      // A replay's connection is the caller's.
      if (!replay) await close(db).catch(() => undefined);
    }
  }
}
