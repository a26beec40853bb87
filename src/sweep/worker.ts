/**
 * The sweep's piscina worker: one task = one point, simulated in-process on this
 * thread (DESIGN §6: sweeps parallelise across points, never nested pools).
 */
import { runPoint, type PointOutcome } from './point.js';
import type { ResolvedPoint } from './spec.js';

export default function runSweepTask(task: { point: ResolvedPoint; tracePath: string }): Promise<PointOutcome> {
  return runPoint(task.point, task.tracePath);
}
