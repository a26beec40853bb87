/**
 * Pareto fronts over sweep results. Objectives are result columns with a direction;
 * a point is on the front when no other point is at least as good in every objective
 * and strictly better in one.
 */
import { EvsimError } from '../errors.js';

export interface Objective {
  key: ObjectiveName;
  /** The sweep_points column it reads. */
  column: string;
  direction: 'min' | 'max';
  label: string;
  /** Divided by the point's frames (a total over them otherwise, for totals). */
  perFrame?: boolean;
  /** A total over the point's frames: points of different lengths do not compare on it. */
  total?: boolean;
  /** For a total, the objective to rank on per frame instead, if there is one. */
  instead?: ObjectiveName;
}

/** key, column, direction, label, kind ('' for neither), and for a total the per-frame objective to rank on instead. */
type ObjectiveRow = readonly [string, string, 'min' | 'max', string, '' | 'total' | 'perFrame', string?];

const ROWS = [
  ['energy_pj', 'energy_pj', 'min', 'energy (pJ)', 'total', 'energy_pj_per_frame'],
  ['energy_pj_per_frame', 'energy_pj', 'min', 'energy per frame (pJ)', 'perFrame'],
  ['latency_ns', 'latency_ns', 'min', 'latency, first frame in to last out (ns)', 'total', 'mean_latency_ns'],
  ['mean_latency_ns', 'mean_latency_ns', 'min', 'mean frame latency (ns)', ''],
  ['error', 'output_error', 'min', 'error (1 − accuracy, or rel. RMSE vs dense)', ''],
  ['rel_rmse', 'rel_rmse', 'min', 'relative RMSE vs dense', ''],
  ['max_abs', 'max_abs', 'min', 'max abs error vs dense', ''],
  ['accuracy', 'accuracy', 'max', 'accuracy', ''],
  ['macs', 'macs', 'min', 'MACs', 'total', 'macs_per_frame'],
  ['macs_per_frame', 'macs', 'min', 'MACs per frame', 'perFrame'],
  ['ops_reduction', 'ops_reduction', 'max', 'ops reduction (×)', ''],
  ['transmissions', 'transmissions', 'min', 'transmissions', 'total', 'transmissions_per_frame'],
  ['transmissions_per_frame', 'transmissions', 'min', 'transmissions per frame', 'perFrame'],
  ['messages', 'messages', 'min', 'messages', 'total', 'messages_per_frame'],
  ['messages_per_frame', 'messages', 'min', 'messages per frame', 'perFrame'],
  ['hops', 'hops', 'min', 'hops', 'total'],
  ['stall_ns', 'stall_ns', 'min', 'stall (ns)', 'total'],
  ['throughput_fps', 'throughput_fps', 'max', 'throughput (frames/s)', ''],
  ['cores', 'cores', 'min', 'cores used', ''],
  ['wall_s', 'wall_s', 'min', 'simulation wall time (s)', 'total'],
] as const satisfies readonly ObjectiveRow[];

/** The name of an objective `--pareto` and `pareto:` accept (`energy_pj`, `error`, `macs_per_frame`, …). */
export type ObjectiveName = (typeof ROWS)[number][0];

/** The objectives `--pareto` accepts, by name. */
export const OBJECTIVES: Readonly<Record<ObjectiveName, Objective>> = Object.fromEntries(
  (ROWS as readonly ObjectiveRow[]).map(([key, column, direction, label, kind, instead]) => [
    key,
    { key, column, direction, label, ...(kind === '' ? {} : { [kind]: true }), ...(instead ? { instead } : {}) },
  ]),
) as Record<ObjectiveName, Objective>;

/** Whether `k` names an objective (an own key of the table: 'toString' is not one). */
export function isObjectiveName(k: string): k is ObjectiveName {
  return Object.hasOwn(OBJECTIVES, k);
}

/** An objective's value in a sweep_points row (or a point): null when missing or not finite. */
export function objectiveValue(o: Objective, r: Readonly<Record<string, unknown>>): number | null {
  const v = r[o.column];
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  if (!o.perFrame) return v;
  const f = r.frames;
  return typeof f === 'number' && f > 0 ? v / f : null;
}

export const DEFAULT_OBJECTIVES: readonly ObjectiveName[] = ['energy_pj', 'latency_ns', 'error'];
/** The default when every point runs on `ideal` (no energy or time): operations against error. */
export const FREE_CHIP_OBJECTIVES: readonly ObjectiveName[] = ['macs', 'error'];

/**
 * Parses `energy_pj,latency_ns,error`; an unknown key exits 2 listing the known ones.
 * `where` names the setting in messages (the flag, or a sweep file's `pareto:`).
 */
export function parseObjectives(keys: readonly string[], where = '--pareto'): Objective[] {
  const list = keys.map((k) => k.trim()).filter((k) => k !== '');
  if (list.length < 2) throw new EvsimError('BAD_USAGE', `${where} needs at least two objectives, e.g. energy_pj,latency_ns,error; got '${keys.join(',')}'`);
  return list.map((k, i) => {
    const o = isObjectiveName(k) ? OBJECTIVES[k] : undefined;
    if (!o) throw new EvsimError('BAD_USAGE', `${where}: unknown objective '${k}'; use ${Object.keys(OBJECTIVES).join(', ')}`);
    if (list.indexOf(k) !== i) throw new EvsimError('BAD_USAGE', `${where}: objective '${k}' is given twice; name each objective once`);
    return o;
  });
}

/**
 * An objective value as the front compares it: to 10 significant digits. Energies of two
 * runs that did the same work, summed in another order, differ in their last bits; such
 * noise must not make one point better than the other (and keep a dominated one on the
 * front). Rounding, not a tolerance between pairs, keeps "at least as good" transitive,
 * so some point is always on the front; the price is a value whose 11th digit sits on a
 * rounding boundary, where the last bits can still tip it (rare).
 */
function compared(v: number): number {
  return Number(v.toPrecision(10));
}

/**
 * Indices of the non-dominated rows. Rows with a missing (null) objective take no part.
 * Values are compared to 10 significant digits (see compared); `direction` says which
 * way is better. O(n²·k), fine for the hundreds of points a sweep has.
 */
export function paretoFront(rows: readonly (readonly (number | null)[])[], directions: readonly ('min' | 'max')[]): number[] {
  const k = directions.length;
  const sign = directions.map((d) => (d === 'min' ? 1 : -1));
  const valid = rows.map((r) => r.length === k && r.every((v) => v !== null && Number.isFinite(v)));
  const vals = rows.map((r, i) => (valid[i] ? r.map((v, o) => sign[o]! * compared(v!)) : []));
  const front: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    if (!valid[i]) continue;
    let dominated = false;
    for (let j = 0; j < rows.length && !dominated; j++) {
      if (j === i || !valid[j]) continue;
      let noWorse = true;
      let better = false;
      for (let o = 0; o < k; o++) {
        const a = vals[j]![o]!;
        const b = vals[i]![o]!;
        if (a > b) {
          noWorse = false;
          break;
        }
        if (a < b) better = true;
      }
      dominated = noWorse && better;
    }
    if (!dominated) front.push(i);
  }
  return front;
}
