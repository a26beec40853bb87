/**
 * The sweep file: the trace schema of DESIGN §7 (every point's run lands in `runs`,
 * `frames`, …) plus `sweep_points`, one row per point of a sweep with its parameters
 * (as JSON and one column per swept path), status, error and result figures. The
 * sweep's main thread is the only writer.
 */
import { linkSync, lstatSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { hostname } from 'node:os';
import sqlite3 from 'sqlite3';
import { EvsimError } from '../errors.js';
import { checkTracePath } from '../trace/paths.js';
import { addMissingColumns, all, close, exec, openTraceForWriting, run } from '../trace/sqlite-sink.js';
import type { PointMetrics, PointOutcome } from './point.js';
import type { ResolvedPoint } from './spec.js';

/** Result columns of sweep_points, in table order (see PointMetrics). */
export const METRIC_COLUMNS = [
  'frames', 'macs', 'dense_macs', 'ops_reduction', 'adds', 'transmissions', 'synops', 'messages', 'hops',
  'energy_pj', 'latency_ns', 'mean_latency_ns', 'stall_ns', 'throughput_fps',
  'accuracy', 'rel_rmse', 'max_abs', 'output_error', 'cores',
] as const satisfies readonly (keyof PointMetrics)[];

const SWEEP_SQL = `
CREATE TABLE IF NOT EXISTS sweep_points (
  point_id INTEGER PRIMARY KEY,
  sweep TEXT NOT NULL,
  point_key TEXT NOT NULL,
  idx INTEGER NOT NULL,
  label TEXT NOT NULL,
  params_json TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'interrupted')),
  error TEXT,
  run_id INTEGER,
  ${METRIC_COLUMNS.map((c) => `${c} ${c === 'frames' || c === 'cores' ? 'INTEGER' : 'REAL'}`).join(',\n  ')},
  wall_s REAL,
  updated_at TEXT,
  current INTEGER NOT NULL DEFAULT 1,
  UNIQUE (sweep, point_key)
);
CREATE INDEX IF NOT EXISTS sweep_points_by_sweep ON sweep_points (sweep, idx);
`;

/** The trace tables holding a run's rows (DESIGN §7), `runs` last. */
const RUN_TABLES = ['events', 'core_frames', 'layer_frames', 'frames', 'cores', 'layers', 'runs'] as const;

const FIXED = new Set(['point_id', 'sweep', 'point_key', 'idx', 'label', 'params_json', 'status', 'error', 'run_id', 'wall_s', 'updated_at', 'current', ...METRIC_COLUMNS]);

/** `chip.core.neurons` → column `chip_core_neurons` (prefixed when it would clash). */
function paramColumn(path: string): string {
  const c = path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').toLowerCase();
  return FIXED.has(c) || /^\d/.test(c) ? `param_${c}` : c;
}

/** A parameter value as a column value: objects as JSON, booleans as 0/1. */
function sqlValue(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : typeof v === 'boolean' ? Number(v) : v;
}

export interface StoredPoint {
  point_id: number;
  point_key: string;
  status: string;
}

/** Whether a process with this id runs (EPERM: it does, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's start time in clock ticks since boot (Linux), '' where unknown: with the pid it names one process, even after pid reuse. */
function startOf(pid: number): string {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

interface LockOwner {
  host: string;
  pid: number;
  start: string;
}

const ME: LockOwner = { host: hostname(), pid: process.pid, start: startOf(process.pid) };

function ownerOf(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as LockOwner;
    return typeof o.host === 'string' && Number.isInteger(o.pid) && typeof o.start === 'string' ? o : null;
  } catch {
    return null;
  }
}

/** Whether the sweep that wrote a lock may still run: on this host, its process (the same pid and start time) is alive. */
function holds(o: LockOwner): boolean {
  if (o.host !== ME.host) return true; // another machine's process: cannot tell, so it holds
  if (!alive(o.pid)) return false;
  const start = startOf(o.pid);
  return start === '' || o.start === '' || start === o.start;
}

/**
 * The file's own path, through symbolic links (of the file or its folders), so that two
 * names of one sweep file share its lock.
 */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    // Not there yet (SQLite creates it), perhaps through a link that points to it.
  }
  let p = resolve(path);
  try {
    if (lstatSync(p).isSymbolicLink()) p = resolve(dirname(p), readlinkSync(p));
    return join(realpathSync(dirname(p)), basename(p));
  } catch {
    return p;
  }
}

/**
 * One sweep writes a file at a time: a lock file beside it names the writer (host,
 * process id and start time). It is created complete and atomically (written aside,
 * then linked to its name), so a reader never sees a half-written lock. A lock whose
 * process died (killed, not interrupted) is moved aside and taken over; anything else —
 * a live writer, another host's, a file evsim did not write — makes the sweep exit 2.
 * Returns the lock's path and its content (what release() checks).
 */
function acquireLock(path: string): { lock: string; text: string } {
  const lock = `${realPath(path)}.lock`;
  const text = JSON.stringify(ME);
  for (let attempt = 0; attempt < 8; attempt++) {
    const mine = `${lock}.${process.pid}.tmp`;
    try {
      writeFileSync(mine, text);
      linkSync(mine, lock);
      return { lock, text };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new EvsimError('BAD_TRACE', `sweep file ${path}: cannot create its lock ${lock} (${(e as NodeJS.ErrnoException).code})`);
    } finally {
      rmSync(mine, { force: true });
    }
    let held: string;
    try {
      held = readFileSync(lock, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    const o = ownerOf(held);
    if (!o) throw new EvsimError('BAD_USAGE', `sweep file ${path} has a lock evsim did not write (${lock}); delete it if no sweep runs`);
    if (holds(o)) {
      const who = o.host === ME.host ? `process ${o.pid}` : `process ${o.pid} on ${o.host}`;
      throw new EvsimError('BAD_USAGE', `sweep file ${path} is being written by another sweep (${who}); wait for it or pass --out elsewhere (if none runs, delete ${lock})`);
    }
    // Stale: move it aside; if what moved is not what was read, another sweep took over
    // meanwhile — put its lock back and look again.
    const aside = `${lock}.${process.pid}.stale`;
    try {
      renameSync(lock, aside);
    } catch {
      continue;
    }
    if (readFileSync(aside, 'utf8') !== held) {
      try {
        linkSync(aside, lock);
      } catch {
        // It was replaced again; the next look decides.
      }
    }
    rmSync(aside, { force: true });
  }
  throw new EvsimError('BAD_USAGE', `sweep file ${path}: could not take its lock ${lock} (other sweeps keep taking it)`);
}

/** Removes the lock if it is still this sweep's. */
function releaseLock(l: { lock: string; text: string }): void {
  try {
    if (readFileSync(l.lock, 'utf8') === l.text) rmSync(l.lock, { force: true });
  } catch {
    // Gone already.
  }
}

export class SweepStore {
  private constructor(private readonly db: sqlite3.Database, readonly path: string, private readonly lock: { lock: string; text: string }) {}

  /** Fails with exit 2 when the sweep file cannot be written (also done by open). */
  static checkPath(path: string): void {
    checkTracePath(path, 'sweep file', 'pass --out elsewhere');
  }

  static async open(path: string): Promise<SweepStore> {
    SweepStore.checkPath(path);
    const lock = acquireLock(path);
    let db: sqlite3.Database | null = null;
    try {
      const d = await openTraceForWriting(path, 'sweep file', 'pass --out another file', 10000);
      db = d;
      await exec(d, SWEEP_SQL);
      // Files written before `current` existed get it (every row counts as current until synced).
      await addMissingColumns(d, 'sweep_points', ['current INTEGER NOT NULL DEFAULT 1']);
      // Points stored on a chip without costs (energy null) by an evsim that kept its cores,
      // messages and hops as 0: null, as now, so a front over them leaves the points out.
      await exec(d, "UPDATE sweep_points SET cores = NULL, messages = NULL, hops = NULL WHERE status = 'completed' AND energy_pj IS NULL AND cores = 0");
      return new SweepStore(d, path, lock);
    } catch (e) {
      if (db) await close(db).catch(() => undefined);
      releaseLock(lock);
      if (e instanceof EvsimError) throw e;
      throw new EvsimError('BAD_TRACE', `sweep file ${path}: ${(e as Error).message}`);
    }
  }

  /** Adds a column per swept path that the table lacks. */
  async ensureParamColumns(paths: readonly string[]): Promise<void> {
    await addMissingColumns(this.db, 'sweep_points', paths.map((p) => `"${paramColumn(p)}"`));
  }

  /**
   * Writes every current point's row: new points as pending; points already in the file
   * get this expansion's idx, label and parameters (a grid edited since keeps old results
   * under new numbers, and a parameter a point no longer sets is NULL). Returns the rows
   * by point key. Rows of points no longer in the sweep stay, with `current` = 0, so
   * queries can leave them out (`WHERE current = 1`).
   */
  async sync(sweep: string, points: readonly ResolvedPoint[]): Promise<Map<string, StoredPoint>> {
    const paramCols = (await all(this.db, 'PRAGMA table_info(sweep_points)')).map((r) => String(r.name)).filter((c) => !FIXED.has(c));
    const rows = await all(this.db, 'SELECT point_id, point_key, status, run_id FROM sweep_points WHERE sweep = ?', [sweep]);
    const have = new Map(rows.map((r) => [String(r.point_key), { point_id: Number(r.point_id), point_key: String(r.point_key), status: String(r.status) }]));
    const runOf = new Map(rows.map((r) => [String(r.point_key), r.run_id === null ? null : Number(r.run_id)]));
    const now = new Date().toISOString();
    await this.transaction(async () => {
      await run(this.db, 'UPDATE sweep_points SET current = 0 WHERE sweep = ?', [sweep]);
      for (const p of points) {
        const byCol = new Map(Object.entries(p.params).map(([path, v]) => [paramColumn(path), sqlValue(v)]));
        const vals = paramCols.map((c) => byCol.get(c) ?? null);
        const had = have.get(p.key);
        if (had) {
          await run(
            this.db,
            `UPDATE sweep_points SET current = 1, idx = ?, label = ?, params_json = ?${paramCols.map((c) => `, "${c}" = ?`).join('')} WHERE point_id = ?`,
            [p.index, p.label, JSON.stringify(p.params), ...vals, had.point_id],
          );
          // Its stored run's configuration says the same (as pointConfig in point.ts writes it).
          const runId = runOf.get(p.key);
          if (runId !== null && runId !== undefined) {
            await run(this.db, "UPDATE runs SET config_json = json_set(config_json, '$.sweep_point', ?, '$.label', ?, '$.params', json(?)) WHERE run_id = ? AND json_valid(config_json)", [p.index, p.label, JSON.stringify(p.params), runId]);
          }
        } else {
          const r = await run(
            this.db,
            `INSERT INTO sweep_points (sweep, point_key, idx, label, params_json, status, updated_at${paramCols.map((c) => `, "${c}"`).join('')})
             VALUES (?, ?, ?, ?, ?, 'pending', ?${paramCols.map(() => ', ?').join('')})`,
            [sweep, p.key, p.index, p.label, JSON.stringify(p.params), now, ...vals],
          );
          have.set(p.key, { point_id: r.lastID, point_key: p.key, status: 'pending' });
        }
      }
    });
    return have;
  }

  /**
   * Resets a point that will run (again) to pending, without the results of an earlier
   * run, whose stored run (an interrupted or failed one's frames) is deleted with them:
   * the file keeps one run per point, so sums over its runs and frames count each once.
   */
  async pending(pointId: number): Promise<void> {
    await this.transaction(async () => {
      const [old] = await all(this.db, 'SELECT run_id FROM sweep_points WHERE point_id = ? AND run_id IS NOT NULL', [pointId]);
      if (old) for (const t of RUN_TABLES) await run(this.db, `DELETE FROM ${t} WHERE run_id = ?`, [old.run_id]);
      await run(
        this.db,
        `UPDATE sweep_points SET status = 'pending', error = NULL, run_id = NULL, wall_s = NULL, updated_at = ?, ${METRIC_COLUMNS.map((c) => `${c} = NULL`).join(', ')} WHERE point_id = ?`,
        [new Date().toISOString(), pointId],
      );
    });
  }

  /**
   * Stores a point's outcome with its run, which `writeRun` writes on this connection
   * (returning its id; null when it has none), in one transaction: a process killed
   * meanwhile leaves neither, so the point is simply run again, never a run twice.
   */
  async record(pointId: number, o: PointOutcome, writeRun: (db: sqlite3.Database) => Promise<number | null>): Promise<void> {
    const m = o.metrics;
    await this.transaction(async () => {
      const runId = await writeRun(this.db);
      await run(
        this.db,
        `UPDATE sweep_points SET status = ?, error = ?, run_id = ?, wall_s = ?, updated_at = ?, ${METRIC_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE point_id = ?`,
        [o.status, o.error, runId, o.wall_s, new Date().toISOString(), ...METRIC_COLUMNS.map((c) => (m ? m[c] : null)), pointId],
      );
    });
  }

  /** Runs `body` in one transaction on this connection: committed whole, or rolled back and rethrown. */
  private async transaction(body: () => Promise<void>): Promise<void> {
    await exec(this.db, 'BEGIN');
    try {
      await body();
      await exec(this.db, 'COMMIT');
    } catch (e) {
      await exec(this.db, 'ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /** The names of the sweeps the file holds (this one included once synced). */
  async sweepNames(): Promise<string[]> {
    return (await all(this.db, 'SELECT DISTINCT sweep FROM sweep_points ORDER BY sweep')).map((r) => String(r.sweep));
  }

  /** The rows of the given points, in expansion order. */
  async rows(sweep: string, keys: readonly string[]): Promise<Record<string, unknown>[]> {
    const rows = await all(this.db, 'SELECT * FROM sweep_points WHERE sweep = ? ORDER BY idx, point_id', [sweep]);
    const want = new Set(keys);
    return rows.filter((r) => want.has(String(r.point_key)));
  }

  async close(): Promise<void> {
    try {
      await exec(this.db, 'PRAGMA wal_checkpoint(TRUNCATE)').catch(() => undefined);
      await close(this.db);
    } finally {
      releaseLock(this.lock);
    }
  }
}
