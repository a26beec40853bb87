/**
 * Scripting a sweep from TypeScript: the points are computed, not listed by hand.
 *
 * Question: for the demo CNN on a synthetic camera-motion video, how does the chip's
 * core size trade energy against latency, and which design has the best energy-delay
 * product at an acceptable output error? Each point keeps the synapse memory of a core
 * proportional to its neurons (a real core grows both together), which a YAML grid cannot
 * express.
 *
 *   npm run build && node dist/examples/custom-sweep.js [--frames N] [--out FILE.sqlite]
 */
import { sweep, type SweepSpec } from 'evsim';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const frames = Number(arg('frames', '12'));
const model = arg('model', join(root, 'sim-configs', 'models', 'demo-cnn.onnx'));

// 128 KiB of synapse memory per 1024 neurons, as on Loihi.
const points = [128, 256, 512, 1024, 2048].flatMap((neurons) =>
  [0.02, 0.1].map((h) => ({ 'chip.core.neurons': neurons, 'chip.core.synapse_bytes': neurons * 128, 'policy.threshold': h })),
);

const spec: SweepSpec = {
  name: 'core-size',
  base: {
    model,
    workload: { kind: 'video', motion: 'minor', frames },
    chip: { preset: 'loihi', core: { weight_bits: 8 } },
  },
  points,
  pareto: ['energy_pj', 'latency_ns'],
};

const result = await sweep(spec, {
  out: arg('out', join(root, 'traces', 'sweep-core-size.sqlite')),
  svg: null,
  onProgress: (p) => process.stderr.write(`\r${p.done}/${p.todo} points`),
});
process.stderr.write('\n');

// Rank by energy-delay product among points whose output stays within 5 % of dense.
const ok = result.points.filter((p) => p.status === 'completed' && (p.rel_rmse ?? Infinity) <= 0.05);
const edp = (p: (typeof ok)[number]): number => (p.energy_pj! / p.frames!) * (p.mean_latency_ns ?? 0);
ok.sort((a, b) => edp(a) - edp(b));
console.log(`${result.points.length} points, ${result.failed} failed, ${result.front.length} on the energy/latency front`);
console.log('rank  neurons/core  h     cores  energy/frame (µJ)  mean latency (µs)  rel. RMSE');
ok.forEach((p, i) => {
  console.log(
    `${String(i + 1).padStart(4)}  ${String(p.params['chip.core.neurons']).padStart(12)}  ${String(p.params['policy.threshold']).padEnd(4)}  ${String(p.cores).padStart(5)}  ${(p.energy_pj! / p.frames! / 1e6).toFixed(3).padStart(17)}  ${((p.mean_latency_ns ?? 0) / 1e3).toFixed(2).padStart(17)}  ${p.rel_rmse!.toFixed(4)}`,
  );
});
console.log(`best energy-delay product: ${ok[0] ? ok[0].label : 'none'}`);
