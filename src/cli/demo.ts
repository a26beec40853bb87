/**
 * `npm run demo`: writes a Temporal MNIST slice, runs the shipped MLP as an EvNet on the
 * loihi preset beside the conventional network (accuracy, ops, output error) and beside
 * a dense-equivalent run on the same chip (energy, latency), records the run in
 * traces/demo.sqlite, and prints the summary and commands to go further.
 */
import { rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRunConfig, resolveSettings } from '../config/run-config.js';
import { simulate } from '../runtime/simulate.js';
import { writeNpy } from '../workloads/npy.js';
import { temporalMnist } from '../workloads/temporal-mnist.js';
import { syntheticVideo } from '../workloads/video.js';
import { fmtSi } from './format.js';
import { summary } from './run.js';
import { makeDirs } from '../files.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FRAMES = 1000;

async function demo(): Promise<void> {
  const started = performance.now();
  const configPath = join(root, 'sim-configs', 'temporal-mnist.yaml');
  const s = resolveSettings(loadRunConfig(configPath), {}, () => '');
  const rel = (p: string): string => relative(process.cwd(), p) || '.';

  // The workloads: a Temporal MNIST slice for this run, a short video for the quickstart config.
  const tm = temporalMnist({ frames: FRAMES });
  makeDirs(dirname(s.frames!));
  writeNpy(s.frames!, tm.frames);
  writeNpy(s.labels!, { shape: [FRAMES], data: tm.labels });
  const videoDir = join(root, 'traces', 'video');
  makeDirs(videoDir);
  writeNpy(join(videoDir, 'frames.npy'), syntheticVideo({ frames: 48, channels: 3, height: 64, width: 64, motion: 'minor', seed: 7 }));

  console.log(`evsim demo: ${rel(s.model)} as an EvNet (h = ${s.threshold}) on the ${s.chip} chip, over the first ${FRAMES} frames of Temporal MNIST (${rel(s.frames!)})\n`);
  const tracePath = join(root, 'traces', 'demo.sqlite');
  for (const f of [tracePath, `${tracePath}-wal`, `${tracePath}-shm`]) rmSync(f, { force: true });
  const common = { model: s.model, frames: s.frames!, labels: s.labels, threshold: s.threshold, policy: s.policy, chip: s.chip };
  const t0 = performance.now();
  const r = await simulate({
    ...common, compareDense: s.compareDense,
    trace: tracePath, traceLevel: 'cores', config: { ...s, trace: tracePath, traceLevel: 'cores' },
    onFrame: (done, total) => {
      if (process.stderr.isTTY && (done % 50 === 0 || done === total)) process.stderr.write(`\r  frame ${done}/${total}${done === total ? '\n' : ''}`);
    },
  });
  console.log(summary(r, performance.now() - t0));

  // The conventional network on the same chip: every neuron updates and transmits every frame.
  // Its config as it ran: dense, summary level, no comparison with itself.
  const d = await simulate({ ...common, dense: true, trace: tracePath, traceLevel: 'summary', config: { ...s, dense: true, compareDense: false, trace: tracePath, traceLevel: 'summary' } });
  const f = (x: typeof r, k: 'energy_pj' | 'synops'): number => x.totals[k] / x.frames;
  // Frames enter as soon as the input cores are free, so the chip's sustained rate is
  // frames over first-frame-in → last-frame-out, and the mean latency includes queueing
  // behind the slowest core.
  const fps = (x: typeof r): number => x.frames / (x.totals.latency_ns * 1e-9);
  console.log(`
EvNet vs the conventional network on the same ${s.chip} chip (a --dense run, run 2 in the trace):
  accuracy          ${(100 * r.accuracy!).toFixed(2)} %  vs  ${(100 * d.accuracy!).toFixed(2)} %
  synops / frame    ${f(r, 'synops').toFixed(0)}  vs  ${f(d, 'synops').toFixed(0)}  → ${(f(d, 'synops') / f(r, 'synops')).toFixed(2)}× fewer
  energy / frame    ${(f(r, 'energy_pj') / 1e6).toFixed(3)} µJ  vs  ${(f(d, 'energy_pj') / 1e6).toFixed(3)} µJ  → ${(f(d, 'energy_pj') / f(r, 'energy_pj')).toFixed(2)}× less
  throughput        ${fmtSi(fps(r))} frames/s  vs  ${fmtSi(fps(d))} frames/s of chip time  → ${(fps(r) / fps(d)).toFixed(2)}×
  mean latency      ${(r.totals.mean_latency_ns / 1e3).toFixed(1)} µs  vs  ${(d.totals.mean_latency_ns / 1e3).toFixed(1)} µs (frames are fed as fast as the input cores take them,
                    so they queue behind the slowest core; set frame_period_ns in a chip file to pace them)`);

  const t = rel(tracePath);
  // From the repository (npm run demo) the built CLI; from an installed package, npx evsim.
  const inRepo = relative(root, process.cwd()) === '';
  const cli = inRepo ? 'node dist/src/cli/main.js' : 'npx evsim';
  const sweepFile = rel(join(root, 'sim-configs', 'sweeps', 'threshold.yaml'));
  const quickstart = rel(join(root, 'sim-configs', 'quickstart.yaml'));
  console.log(`
Query the trace (SQLite, read-only; run 1 is the EvNet, run 2 the dense-equivalent):
  ${cli} query ${t} "SELECT run_id, COUNT(*) AS frames, SUM(macs) / COUNT(*) AS macs_per_frame, SUM(energy_pj) / COUNT(*) / 1e6 AS uj_per_frame, AVG(latency_ns) / 1e3 AS mean_latency_us FROM frames GROUP BY run_id"
  ${cli} query ${t} --named hot-cores
  ${cli} query ${t} "SELECT frame, macs, transmissions, ROUND(energy_pj / 1e6, 3) AS energy_uj, ROUND(latency_ns / 1e3, 1) AS latency_us FROM frames WHERE run_id = 1 AND frame < 20"
  ${cli} query ${t} --list
  ${cli} report ${t} --run 1 --html ${rel(join(dirname(tracePath), 'demo-report.html'))}   # charts, one self-contained page

Try next:
  ${cli} run ${rel(configPath)} --threshold 0.3 --chip loihi-fitted      # fewer ops, other costs
  ${cli} run ${rel(configPath)} --policy rounding --no-trace             # Sigma-Delta instead of EvNet
  ${cli} sweep ${sweepFile}                         # accuracy vs ops, 3 policies, Pareto front
  ${cli} run ${quickstart}                                 # the video CNN (153 cores) on a camera-motion video${inRepo ? `
  npm run results                                                        # the paper's tables and figures → docs/results.md
(npx evsim … works the same once the package is installed.)` : ''}
Demo wall time ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}

demo().catch((e) => {
  console.error(`evsim demo: ${(e as Error).message}`);
  process.exit(1);
});
