/**
 * A worker thread of `npm run bench`'s sweep section: runs a sweep's points directly
 * (no sweep runner, no SQLite writer), twice to warm the thread up, then twice more
 * timed, and posts the timed milliseconds. One such thread against two at once shows
 * how the simulator itself scales once each thread has compiled it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { runPoint, sharedInputsOf } from '../src/sweep/point.js';
import { expandSweep, type SweepSpec } from '../src/sweep/spec.js';

const { sweep, root } = workerData as { sweep: SweepSpec; root: string };
const ex = expandSweep(sweep, { baseDir: root, name: sweep.name ?? 'bench' });
for (const p of ex.points) sharedInputsOf(p);
const out = join(mkdtempSync(join(tmpdir(), 'evsim-bench-warm-')), 't.sqlite');
const runAll = async (): Promise<void> => {
  for (const p of ex.points) {
    const o = await runPoint(p, out);
    if (o.status !== 'completed') throw new Error(`point ${p.index}: ${o.error}`);
  }
};
for (let rep = 0; rep < 2; rep++) await runAll();
const t0 = performance.now();
for (let rep = 0; rep < 2; rep++) await runAll();
parentPort!.postMessage(performance.now() - t0);
