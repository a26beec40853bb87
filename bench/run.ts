/**
 * `npm run bench`: performance figures measured side by side in one run, printed and
 * written to bench/results.json. Ratios, not absolutes, are what carry across machines.
 *
 * EvNet engine (issue: EvNet engine): on a residual CNN (≥ 5 convs, ≥ 1e8 dense MACs per
 * frame) over a slowly changing synthetic video, the dense path and the EvNet path run
 * on the same frames; reported: ops reduction, wall-time speedup (target ≥ 0.5 × ops
 * reduction), dense GMAC/s per thread (target ≥ 0.5) and sparse effective throughput.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DenseExecutor } from '../src/model/dense/executor.js';
import { createEngine } from '../src/model/evnet/engine.js';
import { parsePolicy } from '../src/model/evnet/policy.js';
import type { Graph } from '../src/model/ir.js';
import { loadOnnx } from '../src/model/onnx/import.js';
import { syntheticVideo, type Motion } from '../src/workloads/video.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BENCH_MODEL = join(root, 'test', 'fixtures', 'onnx', 'cnn_bench.onnx');

interface Check {
  name: string;
  value: number;
  target: number;
  pass: boolean;
  unit: string;
}

const checks: Check[] = [];
function check(name: string, value: number, target: number, unit: string): void {
  checks.push({ name, value, target, pass: value >= target, unit });
}

function frameOf(data: Float32Array, size: number, t: number): Float32Array {
  return data.subarray(t * size, (t + 1) * size);
}

/** Dense and EvNet over the same video; EvNet timed including its flush frame. */
function evnetVsDense(g: Graph, motion: Motion, frames: number, threshold: number): Record<string, number> {
  const [, c, h, w] = g.tensors[g.input]!.shape as [number, number, number, number];
  const video = syntheticVideo({ frames, channels: c, height: h, width: w, motion, seed: 7 });
  const size = c * h * w;
  // Warm-up (JIT) on separate instances.
  const warmD = new DenseExecutor(g);
  const warmE = createEngine(g, { threshold, policy: parsePolicy('threshold') });
  for (let t = 0; t < 3; t++) {
    warmD.run(frameOf(video.data, size, t));
    warmE.step(frameOf(video.data, size, t));
  }
  const dense = new DenseExecutor(g);
  let t0 = performance.now();
  for (let t = 0; t < frames; t++) dense.run(frameOf(video.data, size, t));
  const denseMs = performance.now() - t0;
  const engine = createEngine(g, { threshold, policy: parsePolicy('threshold') });
  let macs = 0;
  let denseMacs = 0;
  let tx = 0;
  t0 = performance.now();
  for (let t = 0; t < frames; t++) {
    const fc = engine.step(frameOf(video.data, size, t));
    macs += fc.macs;
    denseMacs += fc.denseMacs;
    tx += fc.transmissions;
  }
  const evnetMs = performance.now() - t0;
  const opsReduction = denseMacs / macs;
  const speedup = denseMs / evnetMs;
  return {
    frames,
    threshold,
    dense_macs_per_frame: denseMacs / frames,
    evnet_macs_per_frame: macs / frames,
    transmissions_per_frame: tx / frames,
    ops_reduction: opsReduction,
    dense_ms_per_frame: denseMs / frames,
    evnet_ms_per_frame: evnetMs / frames,
    wall_speedup: speedup,
    speedup_over_ops_reduction: speedup / opsReduction,
    dense_gmacs_per_s: denseMacs / denseMs / 1e6,
    sparse_gmacs_per_s: macs / evnetMs / 1e6,
    sparse_effective_gmacs_per_s: denseMacs / evnetMs / 1e6,
  };
}

function main(): void {
  const g = loadOnnx(BENCH_MODEL);
  const results: Record<string, unknown> = {
    when: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
  };
  console.log(`evsim bench — ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, node ${process.version}`);
  console.log(`\nEvNet engine vs dense: ${BENCH_MODEL.replace(root + '/', '')} (${g.nodes.filter((n) => n.op.kind === 'conv').length} convs), synthetic video 128×128, motion minor`);
  const ev = evnetVsDense(g, 'minor', 48, 0.05);
  results.evnet_engine = ev;
  const p = (k: string, v: number, d = 2): void => console.log(`  ${k.padEnd(34)} ${v.toFixed(d)}`);
  p('dense MACs / frame (M)', ev.dense_macs_per_frame! / 1e6, 1);
  p('EvNet MACs / frame (M)', ev.evnet_macs_per_frame! / 1e6, 1);
  p('ops reduction (×)', ev.ops_reduction!);
  p('dense ms / frame', ev.dense_ms_per_frame!, 1);
  p('EvNet ms / frame', ev.evnet_ms_per_frame!, 1);
  p('wall-time speedup (×)', ev.wall_speedup!);
  p('speedup / ops reduction', ev.speedup_over_ops_reduction!);
  p('dense GMAC/s per thread', ev.dense_gmacs_per_s!);
  p('sparse GMAC/s (real MACs)', ev.sparse_gmacs_per_s!);
  p('sparse effective GMAC/s', ev.sparse_effective_gmacs_per_s!);
  check('EvNet wall speedup / ops reduction', ev.speedup_over_ops_reduction!, 0.5, 'ratio');
  check('dense GMAC/s per thread', ev.dense_gmacs_per_s!, 0.5, 'GMAC/s');

  const byMotion: Record<string, Record<string, number>> = {};
  console.log('\n  ops reduction by camera motion (24 frames each):');
  for (const m of ['none', 'minor', 'major'] as const) {
    byMotion[m] = evnetVsDense(g, m, 24, 0.05);
    console.log(`    ${m.padEnd(6)} ${byMotion[m]!.ops_reduction!.toFixed(2)}× fewer MACs, speedup ${byMotion[m]!.wall_speedup!.toFixed(2)}×`);
  }
  results.evnet_by_motion = byMotion;

  results.checks = checks;
  console.log('\nTargets:');
  for (const c of checks) console.log(`  ${c.pass ? 'PASS' : 'MISS'}  ${c.name}: ${c.value.toFixed(3)} (target ≥ ${c.target} ${c.unit})`);
  const out = join(root, 'bench', 'results.json');
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${out.replace(root + '/', '')}`);
}

main();
