/**
 * `sweep()`: expand a sweep, skip the points the file already holds, run the rest as
 * tasks on a piscina pool (one point per task, simulated in-process on its thread),
 * store every point's run and figures in one SQLite file, and rank the points on a
 * Pareto front. Behind `evsim sweep`; importable as `import { sweep } from 'evsim'`.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { Piscina } from 'piscina';
import { EvsimError } from '../errors.js';
import { replayRecording } from '../runtime/recording-sink.js';
import { SqliteTraceSink } from '../trace/sqlite-sink.js';
import { evsimVersion } from '../version.js';
import { DEFAULT_OBJECTIVES, FREE_CHIP_OBJECTIVES, objectiveValue, paretoFront, parseObjectives, type Objective, type ObjectiveName } from './pareto.js';
import { checkSweepArgs } from './options.js';
import { defaultPlotPath, markPlot, removeOwnPlot, type PlotOwner } from './plot-file.js';
import { isFree } from '../chip/spec.js';
import { sharedInputsOf, sharedReferenceOf, UNTIMED_COLUMNS, type PointMetrics, type PointOutcome, type SharedInputs, type SharedReference } from './point.js';
import { expandSweep, loadSweepFile, SWEEP_NAME, type ExpandedSweep, type ResolvedPoint, type SweepSpec } from './spec.js';
import type { SweepTask } from './worker.js';
import { METRIC_COLUMNS, SweepStore } from './store.js';
import { assertWritable, compiledScript, makeDirs, refuseOverwrite } from '../files.js';

export interface SweepOptions {
  /** The SQLite file (default traces/sweep-<name>.sqlite). Re-running into it resumes. */
  out?: string;
  /** Points run in parallel (default min(2, available cores)). */
  workers?: number;
  /** Pareto objectives (default: the sweep's `pareto:`, else energy_pj, latency_ns, error). */
  pareto?: readonly ObjectiveName[];
  /** Run again the points that failed last time (default: keep their failure). */
  retryFailed?: boolean;
  /** Sweep name for an in-memory spec without `name:` (default 'sweep'). */
  name?: string;
  /** Where relative paths of an in-memory spec resolve (default: the working folder). */
  baseDir?: string;
  /**
   * Write the Pareto scatter here; null: none. Default beside the file: <out without
   * .sqlite>.pareto.svg, or <…>.<name>.pareto.svg when the file holds other sweeps too.
   */
  svg?: string | null;
  /** Called once the points to run are known, before any runs. */
  onStart?: (s: { total: number; todo: number; skipped: number; duplicates: ExpandedSweep['duplicates'] }) => void;
  /**
   * Called after each point is stored. If it throws, the sweep stops as on an abort (what
   * ran stays stored) and rejects with that error.
   */
  onProgress?: (p: SweepProgress) => void;
  /**
   * Abort: running points stop after their current frame and are stored as interrupted
   * (a later run does them again), finished ones stay stored, the result says interrupted.
   */
  signal?: AbortSignal;
}

/**
 * A point of the sweep. Failed and pending points have no figures (null); an interrupted
 * one has those of the frames it completed, so keep `status === 'completed'` for whole runs.
 */
export type SweepPoint = { [K in keyof PointMetrics]: PointMetrics[K] | null } & {
  index: number;
  label: string;
  params: Record<string, unknown>;
  status: 'pending' | 'completed' | 'failed' | 'interrupted';
  error: string | null;
  run_id: number | null;
  wall_s: number | null;
  /** Whether it is on the Pareto front. */
  pareto: boolean;
};

export interface SweepProgress {
  /** Points finished in this invocation (including failed ones). */
  done: number;
  /** Points to run in this invocation. */
  todo: number;
  failed: number;
  point: { index: number; label: string; status: PointOutcome['status']; error: string | null; wall_s: number };
}

export interface SweepResult {
  name: string;
  out: string;
  /** Points in the sweep. */
  total: number;
  /** Run in this invocation. */
  ran: number;
  /** Already in the file (completed, or failed without retryFailed). */
  skipped: number;
  /** Failed points (this invocation and kept from earlier ones). */
  failed: number;
  /** Of those, failed in an earlier invocation and kept (retryFailed runs them again). */
  keptFailed: number;
  /** Points left out because an earlier point has the same configuration. */
  duplicates: ExpandedSweep['duplicates'];
  interrupted: boolean;
  objectives: ObjectiveName[];
  points: SweepPoint[];
  front: SweepPoint[];
  /** Why the front is empty (no point completed, or an objective missing for all), else null. */
  frontNote: string | null;
  /** When points of different lengths are ranked on totals over their frames: which, and what to rank on instead; else null. */
  lengthNote: string | null;
  /** When `error` ranks points with labels (1 − accuracy) against points without (relative RMSE), which do not compare; else null. */
  errorNote: string | null;
  svg: string | null;
}

/** `error` is 1 − accuracy where a point has labels, else its relative RMSE: a note when the front mixes the two. */
function errorNote(rows: readonly Record<string, unknown>[], objectives: readonly Objective[]): string | null {
  if (!objectives.some((o) => o.key === 'error')) return null;
  const done = rows.filter((r) => r.status === 'completed');
  const labelled = done.filter((r) => typeof r.accuracy === 'number').length;
  if (labelled === 0 || labelled === done.length) return null;
  const pts = (n: number): string => `${n} point${n === 1 ? '' : 's'}`;
  return `error is 1 − accuracy for the ${pts(labelled)} with labels and the relative RMSE against the dense network for the other ${done.length - labelled}, which do not compare; rank on rel_rmse (every point) or accuracy (labelled points) instead`;
}

/** Totals over a point's frames ranked across points that ran different numbers of frames: a note naming them, else null. */
function lengthNote(rows: readonly Record<string, unknown>[], objectives: readonly Objective[]): string | null {
  const totals = objectives.filter((o) => o.total);
  const frames = [...new Set(rows.filter((r) => r.status === 'completed').map((r) => Number(r.frames)))].sort((a, b) => a - b);
  if (totals.length === 0 || frames.length < 2) return null;
  const instead = totals.flatMap((o) => (o.instead ? [o.instead] : []));
  return `points ran different numbers of frames (${frames[0]} to ${frames[frames.length - 1]}), and ${totals.map((o) => o.key).join(', ')} ${totals.length > 1 ? 'are totals' : 'is a total'} over a point's frames, so shorter points look better${instead.length > 0 ? `; rank on ${instead.join(', ')} instead` : ''}`;
}

/** Why objectives leave the front empty, with the usual cause of each missing one. */
function emptyFrontNote(rows: readonly Record<string, unknown>[], objectives: readonly Objective[]): string {
  const completed = rows.filter((r) => r.status === 'completed');
  if (completed.length === 0) {
    const failed = rows.filter((r) => r.status === 'failed').length;
    return `no point completed (${failed} of ${rows.length} failed${failed < rows.length ? ', the rest did not run' : ''}): there is nothing to rank`;
  }
  const missing = objectives.filter((o) => completed.every((r) => objectiveValue(o, r) === null));
  const why = (o: Objective): string =>
    UNTIMED_COLUMNS.includes(o.column)
      ? `${o.key} (a chip without costs or limits, such as ideal, has no energy, time, cores or messages)`
      : o.key === 'accuracy' ? `${o.key} (it needs labels: frames with labels:, or the temporal-mnist workload)` : o.key;
  const what = missing.length > 0
    ? `${missing.map(why).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing for all ${completed.length} completed points`
    : `no completed point has all of ${objectives.map((o) => o.key).join(', ')}`;
  return `no Pareto front: ${what}; rank on other objectives with --pareto, e.g. macs,error (stored points do not run again)`;
}

/** A name given in the options names the default file too: the same rule as a sweep file's name. */
function checkedName(name: string | undefined): string | undefined {
  if (name !== undefined && !SWEEP_NAME.test(name)) throw new EvsimError('BAD_USAGE', `name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-' (it names traces/sweep-<name>.sqlite)`);
  return name;
}

/** Runs a sweep: a sweep YAML path or a spec object. */
export async function sweep(spec: string | SweepSpec, opts: SweepOptions = {}): Promise<SweepResult> {
  checkSweepArgs(spec, opts);
  const loaded = typeof spec === 'string'
    ? { ...loadSweepFile(spec), where: spec }
    : { spec, baseDir: resolve(opts.baseDir ?? '.'), name: spec.name ?? checkedName(opts.name) ?? 'sweep', where: `sweep '${spec.name ?? opts.name ?? 'sweep'}'` };
  const ex = expandSweep(loaded.spec, { baseDir: loaded.baseDir, name: loaded.name, where: loaded.where });
  // On a chip without costs or limits (ideal) there is no energy, time or traffic: the
  // default ranks operations against error there, and objectives that need a chip are
  // refused now rather than after every point has run.
  const allFree = ex.points.length > 0 && ex.points.every((p) => isFree(p.chip));
  const objectives = opts.pareto ? parseObjectives(opts.pareto) : parseObjectives(ex.pareto ?? (allFree ? FREE_CHIP_OBJECTIVES : DEFAULT_OBJECTIVES), `${loaded.where}: pareto`);
  const chipOnly = objectives.filter((o) => UNTIMED_COLUMNS.includes(o.column));
  if (allFree && chipOnly.length > 0) {
    throw new EvsimError('BAD_USAGE', `${loaded.where}: every point runs on a chip without costs or limits (ideal), which has no ${chipOnly.map((o) => o.key).join(' or ')}; rank on others, e.g. --pareto macs,error, or sweep a chip such as loihi`);
  }
  const workers = opts.workers ?? Math.min(2, availableParallelism());
  const out = resolve(opts.out ?? join('traces', `sweep-${ex.name}.sqlite`));
  if (opts.out === undefined) makeDirs(dirname(out));
  // The default plot path depends on whether the file holds other sweeps (known once it
  // is open); both candidates are checked now.
  const svgPaths = opts.svg === null ? [] : opts.svg ? [resolve(opts.svg)] : [false, true].map((shared) => defaultPlotPath(out, ex.name, shared));
  // Checked now: outputs that cannot be written must not wait for every point to run first.
  const inputs = new Map<string, string>();
  for (const p of ex.points) for (const [what, f] of [['model', p.model], ['frames', p.frames], ['labels', p.labels]] as const) if (f && !inputs.has(f)) inputs.set(f, `${what} of point ${p.index + 1}`);
  for (const f of ex.chipFiles) if (!inputs.has(f)) inputs.set(f, 'chip file of the sweep');
  refuseOverwrite([['the sweep file (--out)', out], ...svgPaths.map((f) => ['the Pareto plot (--svg)', f] as const)], [...inputs].map(([f, what]) => [what, f] as const));
  SweepStore.checkPath(out);
  for (const f of svgPaths) assertWritable(f, opts.svg ? '--svg' : 'the Pareto plot', 'pareto.svg');
  if (opts.svg && extname(opts.svg) !== '' && extname(opts.svg).toLowerCase() !== '.svg') {
    throw new EvsimError('BAD_USAGE', `--svg ${opts.svg}: the Pareto plot is an SVG drawing; give a .svg path`);
  }

  const store = await SweepStore.open(out);
  let svgPath: string | null = null;
  const owner: PlotOwner = { sweep: ex.name, file: out };
  let interrupted = false;
  let ran = 0;
  let failedNow = 0;
  let skipped = 0;
  try {
    await store.ensureParamColumns(ex.paths);
    const existing = await store.sync(ex.name, ex.points);
    const othersInFile = (await store.sweepNames()).some((n) => n !== ex.name);
    svgPath = opts.svg === null ? null : opts.svg ? resolve(opts.svg) : defaultPlotPath(out, ex.name, othersInFile);
    const todo: { point: ResolvedPoint; id: number }[] = [];
    for (const p of ex.points) {
      const had = existing.get(p.key)!;
      const keep = had.status === 'completed' || (had.status === 'failed' && !opts.retryFailed);
      if (keep) continue;
      if (had.status !== 'pending') await store.pending(had.point_id);
      todo.push({ point: p, id: had.point_id });
    }

    skipped = ex.points.length - todo.length;
    opts.onStart?.({ total: ex.points.length, todo: todo.length, skipped, duplicates: ex.duplicates });
    if (todo.length > 0) {
      const n = Math.min(workers, todo.length);
      // Frames, labels and dense reference outputs once, here, in shared memory (not once
      // per worker thread), while the workers start; a point whose inputs cannot be built
      // gets none and reports the error itself.
      const inputsFor = async (p: ResolvedPoint): Promise<{ inputs: SharedInputs; reference: SharedReference } | null> => {
        try {
          const inputs = sharedInputsOf(p);
          const reference = await sharedReferenceOf(p, () => interrupted);
          return reference ? { inputs, reference } : null;
        } catch {
          return null;
        }
      };
      // stricterFIFO: without it piscina 5 sends a task it took from the queue but found no
      // free worker for to the queue's tail, so points ran out of file order even on one
      // worker (and an interrupted sweep left gaps rather than a finished prefix).
      const pool = new Piscina({ filename: compiledScript(import.meta.url, 'sweep/worker.js'), minThreads: n, maxThreads: n, atomics: 'disabled', idleTimeout: 60_000, stricterFIFO: true });
      // One writer: results are stored one after another on this chain.
      let chain: Promise<void> = Promise.resolve();
      let writeError: unknown = null;
      let callbackError: { error: unknown } | null = null;
      const store1 = async (t: { point: ResolvedPoint; id: number }, o: PointOutcome): Promise<void> => {
        const rec = o.recording;
        await store.record(t.id, o, async (db) => {
          if (!rec) return null;
          const sink = new SqliteTraceSink(out, rec.level, evsimVersion(), { replay: { db, createdAt: rec.createdAt, endedAt: rec.endedAt } });
          return (await replayRecording(rec, sink)) ? sink.id : null;
        });
        ran++;
        if (o.status === 'failed') failedNow++;
        if (callbackError) return;
        try {
          opts.onProgress?.({
            done: ran, todo: todo.length, failed: failedNow,
            point: { index: t.point.index, label: t.point.label, status: o.status, error: o.error, wall_s: o.wall_s },
          });
        } catch (e) {
          // The caller's own error: the sweep stops as on a Ctrl-C (what ran is kept) and throws it as it came.
          callbackError = { error: e };
          onAbort();
        }
      };
      const enqueue = (t: { point: ResolvedPoint; id: number }, o: PointOutcome): void => {
        chain = chain.then(() => store1(t, o)).catch((e) => {
          writeError ??= e;
          onAbort(); // results could not be kept: running more points would lose them too
        });
      };
      // The stop reaches the workers as a shared flag, not as a piscina abort (which would
      // terminate the thread and lose the point's frames): a running point ends after its
      // frame and is stored as interrupted; a point not started yet comes back null.
      const stop = new Int32Array(new SharedArrayBuffer(4));
      const onAbort = (): void => {
        interrupted = true;
        Atomics.store(stop, 0, 1);
      };
      opts.signal?.addEventListener('abort', onAbort);
      if (opts.signal?.aborted) onAbort();
      try {
        // Points are handed out as their inputs are ready (the first ones start while the
        // later ones' references are computed); after a stop no more are handed out, and
        // those stay pending for the next run.
        const running: Promise<void>[] = [];
        for (const t of todo) {
          const shared = await inputsFor(t.point);
          if (interrupted) break;
          running.push((pool.run({ point: t.point, tracePath: out, stop, ...(shared ?? {}) } satisfies SweepTask) as Promise<PointOutcome | null>).then(
            (o) => {
              if (o) enqueue(t, o);
            },
            (e: Error) => {
              // A worker that died (not a failed simulation, which comes back as an outcome).
              enqueue(t, { index: t.point.index, key: t.point.key, status: 'failed', error: `worker failed: ${e.message}`, metrics: null, recording: null, wall_s: 0 });
            },
          ));
        }
        await Promise.all(running);
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
        await chain;
        await pool.destroy();
      }
      if (writeError) throw new EvsimError('RUN_FAILED', `sweep file ${out}: ${(writeError as Error).message}`);
      if (callbackError) throw (callbackError as { error: unknown }).error;
    }

    const rows = await store.rows(ex.name, ex.points.map((p) => p.key));
    const vectors = rows.map((r) => objectives.map((o) => (r.status === 'completed' ? objectiveValue(o, r) : null)));
    const front = new Set(paretoFront(vectors, objectives.map((o) => o.direction)));
    const points: SweepPoint[] = rows.map((r, i) => {
      const metrics = Object.fromEntries(METRIC_COLUMNS.map((c) => [c, r[c] ?? null])) as { [K in keyof PointMetrics]: PointMetrics[K] | null };
      return {
        ...metrics,
        index: Number(r.idx), label: String(r.label), params: JSON.parse(String(r.params_json)) as Record<string, unknown>,
        status: r.status as SweepPoint['status'], error: (r.error as string | null) ?? null, run_id: (r.run_id as number | null) ?? null,
        wall_s: (r.wall_s as number | null) ?? null, pareto: front.has(i),
      };
    });
    let svg: string | null = null;
    if (svgPath && front.size > 0) {
      // Vega loads only when a plot is drawn (importing evsim stays light).
      const { paretoSvg } = await import('./plot.js');
      const drawing = await paretoSvg(`${ex.name}: ${objectives[1]!.key} vs ${objectives[0]!.key}`, rows.map((r) => (r.status === 'completed' ? r : {})), front, objectives);
      writeFileSync(svgPath, markPlot(drawing, owner));
      svg = svgPath;
    } else if (svgPath) {
      // Nothing to draw: this sweep's earlier plot would show a front it does not have.
      // Any other file there (another sweep's plot, the user's own) stays.
      // So is a plot from before owner marks, at the unnamed default path of a file holding this sweep alone.
      removeOwnPlot(svgPath, owner, opts.svg === undefined && !othersInFile);
    }
    // Drawn while the file held this sweep alone, its plot went to the unnamed path; it
    // has moved to the named one now.
    if (svgPath && opts.svg === undefined && othersInFile) removeOwnPlot(defaultPlotPath(out, ex.name, false), owner);
    const ranKeys = new Set(todo.map((t) => t.point.key));
    const failed = points.filter((p) => p.status === 'failed').length;
    return {
      name: ex.name, out, total: ex.points.length, ran, skipped,
      failed, keptFailed: rows.filter((r) => r.status === 'failed' && !ranKeys.has(String(r.point_key))).length,
      duplicates: ex.duplicates, interrupted, objectives: objectives.map((o) => o.key),
      points, front: points.filter((p) => p.pareto), frontNote: front.size > 0 ? null : emptyFrontNote(rows, objectives), lengthNote: lengthNote(rows, objectives), errorNote: errorNote(rows, objectives), svg,
    };
  } finally {
    await store.close();
  }
}
