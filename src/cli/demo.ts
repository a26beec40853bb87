/**
 * `npm run demo`: writes a Temporal MNIST slice, runs the shipped MLP as an EvNet on the
 * loihi preset beside the conventional network (accuracy, ops, output error) and beside
 * a dense-equivalent run on the same chip (energy, latency), records the run in
 * traces/demo.sqlite, and prints the summary and commands to go further.
 */
import { rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chipForTrace, resolveChip } from '../config/chip-config.js';
import { loadRunConfig, resolveSettings } from '../config/run-config.js';
import { simulate } from '../simulate.js';
import { writeNpy } from '../workloads/npy.js';
import { temporalMnist } from '../workloads/temporal-mnist.js';
import { syntheticVideo } from '../workloads/video.js';
import { summary } from './run.js';
import { makeDirs } from '../files.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FRAMES = 1000;
/** The demo's frame period: a 1000 frames/s camera, slower than either network needs per frame. */
const FRAME_PERIOD_NS = 1_000_000;

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
  // The video docs/results.md measures the video CNN on (npm run results): its figures reproduce.
  writeNpy(join(videoDir, 'frames.npy'), syntheticVideo({ frames: 48, channels: 3, height: 64, width: 64, motion: 'minor', seed: 1 }));

  console.log(`evsim demo: ${rel(s.model)} as an EvNet (h = ${s.threshold}) on the ${s.chip} chip at ${1e9 / FRAME_PERIOD_NS} frames/s, over the first ${FRAMES} frames of Temporal MNIST (${rel(s.frames!)})\n`);
  const tracePath = join(root, 'traces', 'demo.sqlite');
  for (const f of [tracePath, `${tracePath}-wal`, `${tracePath}-shm`]) rmSync(f, { force: true });
  // Frames paced as a camera would send them: unpaced, each enters once the input cores
  // are free, and a slower later core makes them queue ever longer (the mean latency then
  // depends on the run's length).
  const chip = { preset: s.chip, frame_period_ns: FRAME_PERIOD_NS };
  // The resolved chip goes in each run's config, as evsim run records it: the costs that priced the run.
  const chipSpec = chipForTrace(resolveChip(chip));
  const common = { model: s.model, frames: s.frames!, labels: s.labels, threshold: s.threshold, policy: s.policy, chip };
  // First the conventional network on the same chip (run 1): every neuron updates and
  // transmits every frame. Its config as it ran: dense, summary level, no comparison with
  // itself. The EvNet is then the trace's last run, the one report and named queries read.
  const d = await simulate({ ...common, dense: true, trace: tracePath, traceLevel: 'summary', config: { ...s, chip, chip_spec: chipSpec, dense: true, compareDense: false, trace: tracePath, traceLevel: 'summary' } });
  const t0 = performance.now();
  const r = await simulate({
    ...common, compareDense: s.compareDense,
    trace: tracePath, traceLevel: 'cores', config: { ...s, chip, chip_spec: chipSpec, trace: tracePath, traceLevel: 'cores' },
    onFrame: (done, total) => {
      if (process.stderr.isTTY && (done % 50 === 0 || done === total)) process.stderr.write(`\r  frame ${done}/${total}${done === total ? '\n' : ''}`);
    },
  });
  console.log(summary(r, performance.now() - t0));
  const f = (x: typeof r, k: 'energy_pj' | 'synops'): number => x.totals[k] / x.frames;
  console.log(`
EvNet vs the conventional network on the same ${s.chip} chip (a --dense run, run 1 in the trace):
  accuracy          ${(100 * r.accuracy!).toFixed(2)} %  vs  ${(100 * d.accuracy!).toFixed(2)} %
  synops / frame    ${f(r, 'synops').toFixed(0)}  vs  ${f(d, 'synops').toFixed(0)}  → ${(f(d, 'synops') / f(r, 'synops')).toFixed(2)}× fewer
  energy / frame    ${(f(r, 'energy_pj') / 1e6).toFixed(3)} µJ  vs  ${(f(d, 'energy_pj') / 1e6).toFixed(3)} µJ  → ${(f(d, 'energy_pj') / f(r, 'energy_pj')).toFixed(2)}× less
  mean latency      ${(r.totals.mean_latency_ns / 1e3).toFixed(1)} µs  vs  ${(d.totals.mean_latency_ns / 1e3).toFixed(1)} µs  → ${(d.totals.mean_latency_ns / r.totals.mean_latency_ns).toFixed(2)}× lower
                    (frames arrive every ${FRAME_PERIOD_NS / 1e6} ms: frame_period_ns in a chip file; unpaced, each would enter once the
                    input cores are free and queue behind the slowest core)`);

  const t = rel(tracePath);
  // From the repository (npm run demo) the built CLI; from an installed package, npx evsim.
  const inRepo = relative(root, process.cwd()) === '';
  const cli = inRepo ? 'node dist/src/cli/main.js' : 'npx evsim';
  const sweepFile = rel(join(root, 'sim-configs', 'sweeps', 'threshold.yaml'));
  const quickstart = rel(join(root, 'sim-configs', 'quickstart.yaml'));
  console.log(`
Query the trace (SQLite, read-only; run 1 is the dense-equivalent, run 2 the EvNet):
  ${cli} query ${t} "SELECT run_id, COUNT(*) AS frames, SUM(macs) / COUNT(*) AS macs_per_frame, SUM(energy_pj) / COUNT(*) / 1e6 AS uj_per_frame, AVG(latency_ns) / 1e3 AS mean_latency_us FROM frames GROUP BY run_id"
  ${cli} query ${t} --named hot-cores
  ${cli} query ${t} "SELECT frame, macs, transmissions, ROUND(energy_pj / 1e6, 3) AS energy_uj, ROUND(latency_ns / 1e3, 1) AS latency_us FROM frames WHERE run_id = 2 AND frame < 20"
  ${cli} query ${t} --list
  ${cli} report ${t} --html ${rel(join(dirname(tracePath), 'demo-report.html'))}   # charts, one self-contained page

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
