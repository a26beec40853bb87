/**
 * The sweep's piscina worker: one task = one point, simulated in-process on this
 * thread (DESIGN §6: sweeps parallelise across points, never nested pools).
 */
import { adoptInputs, adoptReference, runPoint, type PointOutcome, type SharedInputs, type SharedReference } from './point.js';
import type { ResolvedPoint } from './spec.js';

export interface SweepTask {
  point: ResolvedPoint;
  tracePath: string;
  /**
   * The sweep's stop flag (an Int32Array over a SharedArrayBuffer; nonzero: stop). A
   * running point ends after its current frame and comes back interrupted, which a
   * terminated thread could not do; a point not started yet comes back null (not run).
   */
  stop: Int32Array | null;
  /** The point's frames and labels, built once by the sweep (null: build them here). */
  inputs?: SharedInputs | null;
  /** The dense outputs it is compared against, computed once by the sweep (null: here). */
  reference?: SharedReference | null;
}

export default async function runSweepTask(task: SweepTask): Promise<PointOutcome | null> {
  const stop = task.stop;
  if (stop && Atomics.load(stop, 0) !== 0) return null;
  if (task.inputs) adoptInputs(task.inputs);
  if (task.reference) adoptReference(task.reference);
  return runPoint(task.point, task.tracePath, stop ? () => Atomics.load(stop, 0) !== 0 : undefined);
}
