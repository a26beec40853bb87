/**
 * Regenerates docs/results.md (and its SVG figures and docs/results.json): the EvNet
 * paper's Temporal MNIST reproduction, savings by camera motion on video, the
 * memory-loss ablation, and chip energy/latency against a dense-equivalent run.
 *
 *   npm run results            # everything (about a minute on 2 cores)
 *   npm run results -- --quick # smaller slices, written to traces/results-quick/
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TopLevelSpec } from 'vega-lite';
import { DenseExecutor } from '../src/model/dense/executor.js';
import { createEngine } from '../src/model/evnet/engine.js';
import { parsePolicy } from '../src/model/evnet/policy.js';
import type { Graph } from '../src/model/ir.js';
import { loadOnnx } from '../src/model/onnx/import.js';
import { simulate } from '../src/simulate.js';
import { svgOf } from '../src/trace/report.js';
import { temporalMnist } from '../src/workloads/temporal-mnist.js';
import { syntheticVideo, type Motion } from '../src/workloads/video.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const quick = process.argv.includes('--quick');
/** A quick run goes to traces/ so it never overwrites the committed figures. */
const docs = quick ? join(root, 'traces', 'results-quick') : join(root, 'docs');
const MLP = join(root, 'sim-configs', 'models', 'mnist-mlp.onnx');
const CNN = join(root, 'sim-configs', 'models', 'video-cnn.onnx');

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

function argmax(y: Float32Array): number {
  let best = 0;
  for (let i = 1; i < y.length; i++) if (y[i]! > y[best]!) best = i;
  return best;
}

/** The paper's Temporal MNIST figures (DESIGN §9, authors' summaries). */
const PAPER = {
  conventional: { accuracy: 0.9777, ops: 1.992e5 },
  evnet: [
    { h: 10 ** -1.5, accuracy: 0.9779, ops: 5.373e4 },
    { h: 0.1, accuracy: 0.977, ops: 4.595e4 },
    { h: 10 ** -0.5, accuracy: 0.9684, ops: 2.806e4 },
  ],
};

interface CurvePoint {
  policy: string;
  p: number;
  h: number;
  accuracy: number;
  macs_per_frame: number;
  transmissions_per_frame: number;
  overhead_ops_per_frame: number;
}

// ---------------------------------------------------------------------------------
// 1. Temporal MNIST

function temporalMnistCurves(frames: number): { conventional: { accuracy: number; macs_per_frame: number; bias_adds_per_frame: number }; curves: CurvePoint[] } {
  const g = loadOnnx(MLP);
  const tm = temporalMnist({ frames });
  const inSize = 784;
  const frame = (t: number): Float32Array => tm.frames.data.subarray(t * inSize, (t + 1) * inSize);
  const dense = new DenseExecutor(g);
  let correct = 0;
  for (let t = 0; t < frames; t++) if (argmax(dense.run(frame(t))) === tm.labels[t]) correct++;
  const denseMacs = createEngine(g, { threshold: 0, policy: parsePolicy('threshold') }).step(frame(0)).denseMacs;
  const biasAdds = g.nodes.filter((n) => n.op.kind === 'dense' && n.op.bias !== null).reduce((s, n) => s + g.tensors[n.output]!.size, 0);
  const conventional = { accuracy: correct / frames, macs_per_frame: denseMacs, bias_adds_per_frame: biasAdds };
  log(`temporal MNIST: conventional ${(100 * conventional.accuracy).toFixed(2)} % at ${denseMacs} MACs/frame`);

  const curves: CurvePoint[] = [];
  for (const policy of ['threshold', 'rounding', 'memory-loss']) {
    for (let i = 0; i <= 13; i++) {
      const p = Math.round((-1.5 + 0.1 * i) * 10) / 10;
      const h = 10 ** p;
      const e = createEngine(g, { threshold: h, policy: parsePolicy(policy) });
      let ok = 0;
      let macs = 0;
      let tx = 0;
      let over = 0;
      for (let t = 0; t < frames; t++) {
        const c = e.step(frame(t));
        macs += c.macs;
        tx += c.transmissions;
        over += c.overheadAdds + c.overheadCompares + c.overheadLoadStore;
        if (argmax(e.output) === tm.labels[t]) ok++;
      }
      curves.push({ policy, p, h, accuracy: ok / frames, macs_per_frame: macs / frames, transmissions_per_frame: tx / frames, overhead_ops_per_frame: over / frames });
      log(`  ${policy.padEnd(11)} h=10^${p.toFixed(1)}  ${(100 * ok / frames).toFixed(2)} %  ${(macs / frames).toFixed(0)} MACs/frame`);
    }
  }
  return { conventional, curves };
}

/** Accuracy of a curve at a given ops budget, by linear interpolation in ops (null outside). */
function accuracyAt(curve: CurvePoint[], ops: number): number | null {
  const pts = [...curve].sort((a, b) => a.macs_per_frame - b.macs_per_frame);
  for (let i = 0; i + 1 < pts.length; i++) {
    const a = pts[i]!;
    const b = pts[i + 1]!;
    if (ops >= a.macs_per_frame && ops <= b.macs_per_frame) {
      const f = b.macs_per_frame === a.macs_per_frame ? 0 : (ops - a.macs_per_frame) / (b.macs_per_frame - a.macs_per_frame);
      return a.accuracy + f * (b.accuracy - a.accuracy);
    }
  }
  return null;
}

async function mnistPlot(conv: { accuracy: number; macs_per_frame: number }, curves: CurvePoint[]): Promise<string> {
  const names: Record<string, string> = { threshold: 'EvNet (evsim)', rounding: 'Sigma-Delta rounding (evsim)', 'memory-loss': 'memory loss (evsim)' };
  const values = [
    ...curves.map((c) => ({ ops: c.macs_per_frame, accuracy: 100 * c.accuracy, series: names[c.policy], h: `10^${c.p.toFixed(1)}` })),
    { ops: conv.macs_per_frame, accuracy: 100 * conv.accuracy, series: 'conventional (evsim)' },
    ...PAPER.evnet.map((e) => ({ ops: e.ops, accuracy: 100 * e.accuracy, series: 'EvNet (paper)' })),
    { ops: PAPER.conventional.ops, accuracy: 100 * PAPER.conventional.accuracy, series: 'conventional (paper)' },
  ];
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Temporal MNIST, 784-200-200-10 MLP: accuracy vs operations per frame',
    width: 560,
    height: 340,
    data: { values },
    // Memory loss falls far below the others: points under 88 % are clipped, not squashed.
    mark: { type: 'line', point: true, clip: true },
    encoding: {
      x: { field: 'ops', type: 'quantitative', scale: { type: 'log', domain: [8000, 250000] }, title: 'MACs per frame (log)' },
      y: { field: 'accuracy', type: 'quantitative', scale: { domain: [88, 99] }, title: 'accuracy (%)' },
      color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 320, orient: 'bottom', columns: 2 } },
      order: { field: 'ops', type: 'quantitative' },
    },
  } as unknown as TopLevelSpec;
  return svgOf(spec);
}

// ---------------------------------------------------------------------------------
// 2–3. Video

function videoFor(g: Graph, motion: Motion, frames: number): { shape: number[]; data: Float32Array } {
  const [, c, h, w] = g.tensors[g.input]!.shape as [number, number, number, number];
  return syntheticVideo({ frames, channels: c, height: h, width: w, motion, seed: 1 });
}

interface DriftSeries {
  policy: string;
  rel_error: number[];
  macs_per_frame: number;
}

/** Per-frame relative error vs dense, rmse_t / rms(dense_t), for EvNet and memory loss. */
function drift(g: Graph, frames: number, threshold: number): { series: DriftSeries[]; ops: Record<string, number> } {
  const video = videoFor(g, 'minor', frames);
  const inSize = g.tensors[g.input]!.size;
  const dense = new DenseExecutor(g);
  const engines = ['threshold', 'memory-loss'].map((p) => ({ policy: p, e: createEngine(g, { threshold, policy: parsePolicy(p) }), err: [] as number[], macs: 0 }));
  let denseMacs = 0;
  for (let t = 0; t < frames; t++) {
    const x = video.data.subarray(t * inSize, (t + 1) * inSize);
    const y = dense.run(x);
    let rms = 0;
    for (let i = 0; i < y.length; i++) rms += y[i]! * y[i]!;
    rms = Math.sqrt(rms / y.length);
    for (const s of engines) {
      const c = s.e.step(x);
      s.macs += c.macs;
      denseMacs = c.denseMacs;
      const o = s.e.output;
      let se = 0;
      for (let i = 0; i < y.length; i++) se += (o[i]! - y[i]!) ** 2;
      s.err.push(Math.sqrt(se / y.length) / (rms || 1));
    }
    if (t % 50 === 49) log(`  drift: frame ${t + 1}/${frames}`);
  }
  return {
    series: engines.map((s) => ({ policy: s.policy, rel_error: s.err, macs_per_frame: s.macs / frames })),
    ops: { dense_macs_per_frame: denseMacs },
  };
}

async function driftPlot(series: DriftSeries[], threshold: number): Promise<string> {
  const names: Record<string, string> = { threshold: 'EvNet (long-term memory)', 'memory-loss': 'memory loss (Skip-Conv)' };
  const values = series.flatMap((s) => s.rel_error.map((e, t) => ({ frame: t, error: e, series: names[s.policy] })));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `Output error vs the dense network, video CNN, minor camera motion, h = ${threshold}`, subtitle: 'relative RMSE per frame (RMSE / RMS of the dense output)' },
    width: 560,
    height: 300,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'frame', type: 'quantitative', title: 'frame' },
      y: { field: 'error', type: 'quantitative', title: 'relative error' },
      color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 320, orient: 'bottom' } },
    },
  } as unknown as TopLevelSpec;
  return svgOf(spec);
}

// ---------------------------------------------------------------------------------
// 4. Chip

interface ChipFigures {
  workload: string;
  frames: number;
  evnet: { energy_uj_per_frame: number; mean_latency_us: number; frame_interval_us: number; synops_per_frame: number; cores: number };
  dense: { energy_uj_per_frame: number; mean_latency_us: number; frame_interval_us: number; synops_per_frame: number };
}

async function chipFigures(name: string, model: string, frames: { shape: number[]; data: Float32Array }, labels: Int32Array | null): Promise<ChipFigures> {
  const run = (dense: boolean) => simulate({ model, frames, labels, chip: 'loihi', threshold: 0.05, dense, workers: 2 });
  const ev = await run(false);
  const de = await run(true);
  const f = (r: typeof ev) => ({
    energy_uj_per_frame: r.totals.energy_pj / r.frames / 1e6,
    mean_latency_us: r.totals.mean_latency_ns / 1e3,
    // First frame in to last frame out, per frame: the interval the chip sustains.
    frame_interval_us: r.totals.latency_ns / r.frames / 1e3,
    synops_per_frame: r.totals.synops / r.frames,
  });
  log(`  chip ${name}: EvNet ${f(ev).energy_uj_per_frame.toFixed(2)} µJ/frame vs dense ${f(de).energy_uj_per_frame.toFixed(2)}`);
  return { workload: name, frames: ev.frames, evnet: { ...f(ev), cores: ev.cores }, dense: f(de) };
}

// ---------------------------------------------------------------------------------

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
const sci = (x: number): string => x.toExponential(3).replace('e+', 'e');

async function main(): Promise<void> {
  mkdirSync(docs, { recursive: true });
  const t0 = performance.now();
  const N_MNIST = quick ? 1000 : 10_000;
  const N_MOTION = quick ? 12 : 48;
  const N_DRIFT = quick ? 40 : 300;
  const N_CHIP_MLP = quick ? 50 : 300;
  const N_CHIP_CNN = quick ? 6 : 48;
  const H_VIDEO = 0.05;

  log('1/4 Temporal MNIST reproduction');
  const mnist = temporalMnistCurves(N_MNIST);
  const conv = mnist.conventional;
  const ev = mnist.curves.filter((c) => c.policy === 'threshold');
  const rd = mnist.curves.filter((c) => c.policy === 'rounding');
  const at01 = ev.find((c) => c.p === -1)!;
  // EvNet dominates rounding: at every rounding point's ops, the EvNet curve is at least as accurate.
  const dominance = rd.map((r) => ({ r, e: accuracyAt(ev, r.macs_per_frame) }));
  const compared = dominance.filter((d) => d.e !== null);
  const dominated = compared.filter((d) => d.e! >= d.r.accuracy).length;
  // Accuracy over N frames has a standard error of sqrt(p(1 − p)/N): smaller gaps are noise.
  const se = Math.sqrt((conv.accuracy * (1 - conv.accuracy)) / N_MNIST);
  const worst = compared.reduce((w, d) => Math.min(w, d.e! - d.r.accuracy), Infinity);
  writeFileSync(join(docs, 'mnist-accuracy-vs-ops.svg'), await mnistPlot(conv, mnist.curves));

  log('2/4 video: savings by camera motion');
  const g = loadOnnx(CNN);
  const motion: Record<string, { ops_reduction: number; macs_per_frame: number; dense_macs_per_frame: number }> = {};
  for (const m of ['none', 'minor', 'major'] as const) {
    const r = await simulate({ model: g, frames: videoFor(g, m, N_MOTION), chip: 'ideal', threshold: H_VIDEO });
    motion[m] = { ops_reduction: r.ops_reduction, macs_per_frame: r.totals.macs / r.frames, dense_macs_per_frame: r.totals.dense_macs / r.frames };
    log(`  ${m}: ${r.ops_reduction.toFixed(2)}×`);
  }

  log('3/4 memory-loss ablation');
  const dr = drift(g, N_DRIFT, H_VIDEO);
  writeFileSync(join(docs, 'video-drift.svg'), await driftPlot(dr.series, H_VIDEO));
  const window = Math.max(1, Math.floor(N_DRIFT / 6));
  const meanOf = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length;
  const driftRows = dr.series.map((s) => ({
    policy: s.policy,
    first: meanOf(s.rel_error.slice(1, 1 + window)),
    last: meanOf(s.rel_error.slice(-window)),
    max: Math.max(...s.rel_error),
    macs_per_frame: s.macs_per_frame,
  }));

  log('4/4 chip figures on loihi');
  const tmChip = temporalMnist({ frames: N_CHIP_MLP });
  const chip = [
    await chipFigures(`Temporal MNIST MLP, ${N_CHIP_MLP} frames`, MLP, tmChip.frames, tmChip.labels),
    await chipFigures(`video CNN, minor motion, ${N_CHIP_CNN} frames`, CNN, videoFor(g, 'minor', N_CHIP_CNN), null),
  ];

  const json = { generated_by: 'npm run results', quick, temporal_mnist: { frames: N_MNIST, ...mnist }, motion, drift: driftRows, chip };
  writeFileSync(join(docs, 'results.json'), `${JSON.stringify(json, null, 1)}\n`);

  const md: string[] = [];
  md.push('# evsim results', '');
  md.push('Regenerated by `npm run results` (about a minute on 2 cores; deterministic, so a rerun reproduces this file byte for byte); numbers in `docs/results.json`. Every figure below is computed, none typed in, except the paper\'s, which are quoted from DESIGN §9.', '');
  if (quick) md.push('> **Quick run** (`--quick`): reduced slices; not the committed figures.', '');
  md.push('## 1. Temporal MNIST (EvNet paper, Table/Fig. for the MLP)', '');
  md.push(`784-200-200-10 ReLU MLP trained by \`scripts/train-mnist-mlp.ts\`, run over the ${N_MNIST} test images in Temporal MNIST order (DESIGN §9). Ops are MACs per frame; a conventional frame also has ${conv.bias_adds_per_frame} bias adds (the paper's 1.992e5 = 198,800 MACs + 410 adds).`, '');
  md.push('| | accuracy | MACs / frame | fraction of conventional |', '|---|---|---|---|');
  md.push(`| conventional (evsim) | ${pct(conv.accuracy)} | ${sci(conv.macs_per_frame)} | 100 % |`);
  md.push(`| conventional (paper) | ${pct(PAPER.conventional.accuracy)} | ${sci(PAPER.conventional.ops)} | |`);
  for (const e of PAPER.evnet) {
    const mine = ev.reduce((best, c) => (Math.abs(c.h - e.h) < Math.abs(best.h - e.h) ? c : best));
    md.push(`| EvNet h = 10^${Math.log10(e.h).toFixed(1)} (evsim) | ${pct(mine.accuracy)} | ${sci(mine.macs_per_frame)} | ${pct(mine.macs_per_frame / conv.macs_per_frame)} |`);
    md.push(`| EvNet h = 10^${Math.log10(e.h).toFixed(1)} (paper) | ${pct(e.accuracy)} | ${sci(e.ops)} | ${pct(e.ops / PAPER.conventional.ops)} |`);
  }
  md.push('');
  md.push(`Target at h = 0.1: accuracy within 0.3 points of conventional (${((at01.accuracy - conv.accuracy) * 100).toFixed(2)} points) at ≤ 25 % of its ops (${pct(at01.macs_per_frame / conv.macs_per_frame)}): **${Math.abs(at01.accuracy - conv.accuracy) <= 0.003 && at01.macs_per_frame <= 0.25 * conv.macs_per_frame ? 'met' : 'not met'}**.`);
  md.push(
    `EvNet vs rounding: at the ops of each of the ${compared.length} rounding points inside the EvNet curve's range, the EvNet curve (interpolated) is at least as accurate at ${dominated}` +
      (dominated < compared.length ? `; at the others it is at most ${(-100 * worst).toFixed(2)} points below, against a standard error of ${(100 * se).toFixed(2)} points for an accuracy over ${N_MNIST} frames` : '') +
      ` (**${worst >= -se ? 'EvNet dominates rounding' + (dominated < compared.length ? ' within measurement noise' : '') : 'EvNet does not dominate rounding'}**).`,
    '',
  );
  md.push('![accuracy vs ops](mnist-accuracy-vs-ops.svg)', '');
  md.push('Full curves, h = 10^p:', '');
  md.push('| p | EvNet acc. | EvNet MACs/frame | rounding acc. | rounding MACs/frame | memory-loss acc. | memory-loss MACs/frame |', '|---|---|---|---|---|---|---|');
  for (let i = 0; i < ev.length; i++) {
    const ml = mnist.curves.filter((c) => c.policy === 'memory-loss')[i]!;
    md.push(`| ${ev[i]!.p.toFixed(1)} | ${pct(ev[i]!.accuracy)} | ${sci(ev[i]!.macs_per_frame)} | ${pct(rd[i]!.accuracy)} | ${sci(rd[i]!.macs_per_frame)} | ${pct(ml.accuracy)} | ${sci(ml.macs_per_frame)} |`);
  }
  md.push('', '## 2. Video: savings by camera motion', '');
  md.push(`The video CNN (\`sim-configs/models/video-cnn.onnx\`: 6 convs, a residual block, max and global average pooling, 64×64 input, random seeded weights; ${sci(motion.none!.dense_macs_per_frame)} dense MACs/frame) on the synthetic video, ${N_MOTION} frames, h = ${H_VIDEO}. The paper saw savings fall from no motion to minor to major motion.`, '');
  md.push('| camera motion | EvNet MACs / frame | ops reduction |', '|---|---|---|');
  for (const [m, r] of Object.entries(motion)) md.push(`| ${m} | ${sci(r.macs_per_frame)} | ${r.ops_reduction.toFixed(2)}× |`);
  md.push('', '## 3. Memory-loss ablation', '');
  md.push(`Same CNN, minor motion, ${N_DRIFT} frames, h = ${H_VIDEO}: relative output error per frame against the dense network. EvNet keeps the unsent change \`d\` (long-term memory) so its error stays bounded; memory loss (Skip-Conv) drops it every frame and drifts.`, '');
  md.push(`| policy | mean error, frames 1–${window} | mean error, last ${window} frames | max | MACs / frame |`, '|---|---|---|---|---|');
  for (const r of driftRows) md.push(`| ${r.policy === 'threshold' ? 'EvNet' : 'memory loss'} | ${r.first.toExponential(2)} | ${r.last.toExponential(2)} | ${r.max.toExponential(2)} | ${sci(r.macs_per_frame)} |`);
  md.push('', '![drift](video-drift.svg)', '');
  md.push('## 4. On the chip (`loihi` preset)', '');
  md.push('Energy and latency per frame of the EvNet against a dense-equivalent run (`--dense`: every neuron updates and transmits every frame) on the same chip, h = 0.05. Frames enter as soon as the input cores are free (no frame period), so when a later stage is the bottleneck frames queue and the mean latency includes that wait; the frame interval (first frame in to last out, divided by the frames) is the rate the chip sustains.', '');
  md.push('| workload | cores | µJ / frame EvNet | dense | energy saved | frame interval (µs) EvNet | dense | mean latency (µs) EvNet | dense | synops / frame EvNet | dense |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of chip) {
    md.push(`| ${c.workload} | ${c.evnet.cores} | ${c.evnet.energy_uj_per_frame.toFixed(2)} | ${c.dense.energy_uj_per_frame.toFixed(2)} | ${(c.dense.energy_uj_per_frame / c.evnet.energy_uj_per_frame).toFixed(2)}× | ${c.evnet.frame_interval_us.toFixed(1)} | ${c.dense.frame_interval_us.toFixed(1)} | ${c.evnet.mean_latency_us.toFixed(1)} | ${c.dense.mean_latency_us.toFixed(1)} | ${sci(c.evnet.synops_per_frame)} | ${sci(c.dense.synops_per_frame)} |`);
  }
  md.push('');
  writeFileSync(join(docs, 'results.md'), `${md.join('\n')}\n`);
  log(`wrote ${join(docs, 'results.md')} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((e) => {
  process.stderr.write(`results: ${(e as Error).message}\n`);
  process.exit(1);
});
