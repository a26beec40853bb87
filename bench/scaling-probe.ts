/**
 * Why do sweep points not scale across worker threads? A probe for that question:
 * the bench sweep's 32 points split over N raw worker threads (no piscina, no SQLite,
 * no main-thread work), or over N processes, with per-thread wall times.
 *
 *   npm run build
 *   node dist/bench/scaling-probe.js threads 1      # all 32 points on one thread
 *   node dist/bench/scaling-probe.js threads 2      # 16 + 16 on two threads
 *   node dist/bench/scaling-probe.js processes 2    # 16 + 16 in two processes
 *   node --single-threaded dist/bench/scaling-probe.js threads 2   # without V8's helper threads
 *
 * Measured (session 2): one thread 2.1 s; two threads 2.1 s (1.0×); two processes with
 * --single-threaded 2.0×, two threads with --single-threaded 1.38×, with --no-opt 1.96×.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { runPoint } from '../src/sweep/point.js';
import { expandSweep, type SweepSpec } from '../src/sweep/spec.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const spec: SweepSpec = {
  name: 'probe',
  base: { model: join(root, 'sim-configs', 'models', 'mnist-mlp.onnx'), workload: { kind: 'temporal-mnist', frames: 400 }, chip: 'loihi' },
  grid: { 'policy.threshold': [0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.2, 0.3], 'chip.core.neurons': [64, 128, 256, 1024] },
};

/** Runs every n-th point from `i`; returns the wall time in ms. */
async function share(i: number, n: number): Promise<number> {
  const ex = expandSweep(spec, { baseDir: root, name: 'probe' });
  const t0 = performance.now();
  for (const p of ex.points.filter((q) => q.index % n === i)) {
    const o = await runPoint(p, 'probe');
    if (o.status !== 'completed') throw new Error(`point ${p.index}: ${o.error}`);
  }
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const [mode = 'threads', nArg = '1', part] = process.argv.slice(2);
  const n = Number(nArg);
  if (part !== undefined) {
    // A child process of `processes N`.
    process.stdout.write(`${(await share(Number(part), n)).toFixed(0)}\n`);
    return;
  }
  const t0 = performance.now();
  let each: number[];
  if (mode === 'processes') {
    const self = fileURLToPath(import.meta.url);
    each = await Promise.all(Array.from({ length: n }, (_, i) => new Promise<number>((res, rej) => {
      const c = spawn(process.execPath, [...process.execArgv, self, 'processes', String(n), String(i)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', (code) => (code === 0 ? res(Number(out)) : rej(new Error(`probe process ${i} exited ${code}`))));
    })));
  } else {
    each = await Promise.all(Array.from({ length: n }, (_, i) => new Promise<number>((res, rej) => {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { i, n } });
      w.once('message', (ms: number) => res(ms));
      w.once('error', rej);
    })));
  }
  console.log(`${mode} ${n}: per ${mode === 'processes' ? 'process' : 'thread'} ${each.map((x) => x.toFixed(0)).join(' / ')} ms, wall ${(performance.now() - t0).toFixed(0)} ms`);
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  const { i, n } = workerData as { i: number; n: number };
  share(i, n).then((ms) => parentPort!.postMessage(ms));
}
