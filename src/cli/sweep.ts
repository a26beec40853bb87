/** `evsim sweep`: run a sweep file with a progress bar, then print the Pareto front. */
import { holdCtrlC } from './interrupt.js';
import { SingleBar } from 'cli-progress';
import { EvsimError } from '../errors.js';
import { OBJECTIVES, objectiveValue, parseObjectives, type Objective } from '../sweep/pareto.js';
import { sweep, type SweepPoint, type SweepResult } from '../sweep/run.js';
import { distinctDigits, fmtDuration, fmtSi, table, workersNote } from './format.js';
import { refuseOverwrite } from '../files.js';

export interface SweepArgs {
  file: string;
  workers?: number;
  out?: string;
  pareto?: string;
  svg?: string | boolean;
  retryFailed?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** An objective's value in the front table, to `digits` significant digits. */
function cell(v: number, key: string, digits: number): string {
  if (key === 'accuracy') return `${(100 * v).toFixed(digits - 1)} %`;
  if (key === 'error' || key === 'rel_rmse' || key === 'max_abs') return v.toPrecision(digits);
  return fmtSi(v, digits);
}

function frontTable(r: SweepResult): string {
  const obj = r.objectives.map((k) => OBJECTIVES[k]!);
  const value = (p: SweepPoint, o: Objective): number | null => objectiveValue(o, p as unknown as Record<string, unknown>);
  // Front points differ in at least one objective, often only past the third digit
  // (two meshes whose routes differ by a hop): each column shows as many as that takes.
  const columns = obj.map((o) => {
    const nums = r.front.map((p) => value(p, o)).filter((v): v is number => v !== null);
    const digits = distinctDigits(nums, (v, d) => cell(v, o.key, d));
    return r.front.map((p) => {
      const v = value(p, o);
      return v === null ? '—' : cell(v, o.key, digits);
    });
  });
  const rows = r.front.map((p: SweepPoint, i) => [String(p.index + 1), p.label, ...columns.map((c) => c[i]!)]);
  return table(['#', 'point', ...obj.map((o) => `${o.key} ${o.direction === 'max' ? '↑' : '↓'}`)], rows);
}

export async function sweepCommand(a: SweepArgs): Promise<number> {
  refuseOverwrite([['--out', a.out], ['--svg', typeof a.svg === 'string' ? a.svg : null]], [['sweep file', a.file]]);
  const many = workersNote(a.workers);
  if (many && !a.quiet) process.stderr.write(`${many}\n`);
  const stop = holdCtrlC('sweep');
  const tty = !a.quiet && !a.json && process.stderr.isTTY;
  const chatty = !a.quiet && !a.json;
  let bar: SingleBar | null = null;
  let started = performance.now();
  try {
    const r = await sweep(a.file, {
      workers: a.workers,
      out: a.out,
      // Checked here to give sweep() objective names (the same check and message it would give).
      pareto: a.pareto === undefined ? undefined : parseObjectives(a.pareto.split(',')).map((o) => o.key),
      svg: a.svg === false ? null : typeof a.svg === 'string' ? a.svg : undefined,
      retryFailed: a.retryFailed,
      signal: stop.signal,
      onStart: (s) => {
        if (chatty) {
          for (const d of s.duplicates) process.stderr.write(`note: point ${d.index + 1} (${d.label}, from ${d.from}) is the same configuration as point ${d.sameAs + 1}; it runs once, as point ${d.sameAs + 1}\n`);
        }
        if (chatty && s.skipped > 0) process.stderr.write(`${s.skipped} of ${s.total} points already in the file; running ${s.todo}\n`);
        started = performance.now();
        if (tty && s.todo > 0) {
          bar = new SingleBar({ format: 'sweep [{bar}] {value}/{total} points | {failed} failed | {eta_text} | {last}', hideCursor: true, clearOnComplete: true }, undefined);
          bar.start(s.todo, 0, { failed: 0, last: '', eta_text: 'ETA after the first point' });
        } else if (chatty && s.todo > 0) {
          // Without a terminal (a log, a pipe, CI) a line per point, with the time so far and the time left.
          process.stderr.write(`sweep: running ${s.todo} point${s.todo === 1 ? '' : 's'}\n`);
        }
      },
      onProgress: (p) => {
        // Points so far at their mean wall time per point (points run side by side on the pool).
        const elapsed = (performance.now() - started) / 1000;
        // (Named eta_text in the bar: cli-progress fills a field named eta with its own seconds.)
        const eta = `ETA ${fmtDuration((elapsed / p.done) * (p.todo - p.done))}`;
        if (bar) {
          bar.update(p.done, { failed: p.failed, last: p.point.label.slice(0, 40), eta_text: eta });
        } else if (chatty) {
          const what = p.point.status === 'failed' ? `failed: ${p.point.error}` : `${p.point.status} in ${p.point.wall_s.toFixed(1)} s`;
          const when = p.done < p.todo ? `${fmtDuration(elapsed)}, ${eta}` : fmtDuration(elapsed);
          process.stderr.write(`[${p.done}/${p.todo} ${when}] point ${p.point.index + 1} (${p.point.label}) ${what}\n`);
        }
      },
    });
    (bar as SingleBar | null)?.stop();
    if (a.json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
    } else if (!a.quiet) {
      const lines = [
        `sweep ${r.name}: ${r.total} points — ${r.ran} run now, ${r.skipped} already in ${r.out}, ${r.failed} failed${r.interrupted ? ', interrupted' : ''}`,
      ];
      const failed = r.points.filter((x) => x.status === 'failed');
      for (const p of failed.slice(0, failed.length > 6 ? 4 : 6)) lines.push(`  failed: point ${p.index + 1} (${p.label}): ${p.error}`);
      if (failed.length > 6) lines.push(`  … and ${failed.length - 4} more failed points: evsim query ${r.out} "SELECT idx + 1 AS point, label, error FROM sweep_points WHERE sweep = '${r.name}' AND current = 1 AND status = 'failed'"`);
      if (r.keptFailed > 0) lines.push(`  ${r.keptFailed === 1 ? '1 point' : `${r.keptFailed} points`} failed in an earlier run and ${r.keptFailed === 1 ? 'was' : 'were'} kept; --retry-failed runs ${r.keptFailed === 1 ? 'it' : 'them'} again`);
      if (r.lengthNote) lines.push(`note: ${r.lengthNote}`);
      if (r.errorNote) lines.push(`note: ${r.errorNote}`);
      if (r.front.length > 0) {
        lines.push('', `Pareto front over ${r.objectives.join(', ')} (${r.front.length} of ${r.points.filter((p) => p.status === 'completed').length} completed points):`, frontTable(r));
      }
      if (r.svg) lines.push('', `plot: ${r.svg}`);
      lines.push(`query: evsim query ${r.out} "SELECT * FROM sweep_points WHERE sweep = '${r.name}' AND current = 1 ORDER BY idx"`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    if (r.interrupted) return 130;
    // A sweep that ranks nothing has failed at its job, even with every point stored.
    if (r.frontNote) throw new EvsimError('RUN_FAILED', `sweep ${r.name}: ${r.frontNote}`);
    return 0;
  } finally {
    (bar as SingleBar | null)?.stop();
    stop.release();
  }
}
