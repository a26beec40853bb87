/**
 * A hand-worked chip example (issue acceptance 3): three one-neuron cores on three
 * tiles, loihi costs (Davies et al. 2018, Table 2), every number derived below.
 */
import { describe, expect, it } from 'vitest';
import { chipFromObject } from '../../src/config/chip-config.js';
import { parsePolicy } from '../../src/model/evnet/policy.js';
import type { Graph } from '../../src/model/ir.js';
import { runChip } from '../../src/runtime/chip/run-chip.js';
import { runFunctional } from '../../src/runtime/functional.js';

// input x[2] → Gemm W1 (out0 = x0 + 3·x1, out1 = 2·x0 − 4·x1) → Relu → Gemm W2 (y = r0 + r1).
const graph: Graph = {
  name: 'hand',
  opset: 13,
  input: 0,
  output: 3,
  tensors: [
    { name: 'x', shape: [1, 2], size: 2 },
    { name: 'h', shape: [1, 2], size: 2 },
    { name: 'r', shape: [1, 2], size: 2 },
    { name: 'y', shape: [1, 1], size: 1 },
  ],
  nodes: [
    { id: 0, name: 'fc1', onnxOp: 'Gemm', inputs: [0], output: 1, op: { kind: 'dense', m: 1, k: 2, n: 2, transA: false, weight: Float32Array.of(1, 2, 3, -4), bias: null, bnGamma: null } },
    { id: 1, name: 'relu', onnxOp: 'Relu', inputs: [1], output: 2, op: { kind: 'unary', fn: 'relu', a: 0, b: 0 } },
    { id: 2, name: 'fc2', onnxOp: 'Gemm', inputs: [2], output: 3, op: { kind: 'dense', m: 1, k: 2, n: 1, transA: false, weight: Float32Array.of(1, 1), bias: null, bnGamma: null } },
  ],
};

const cost = (energy_pj: number, latency_ns: number) => ({ energy_pj, latency_ns });
// One neuron per core and one core per tile: fc1's two neurons land on cores 0 and 1,
// fc2's on core 2. Auto mesh for 3 tiles is 2×2; snake order puts cores 0, 1, 2 on
// tiles (0,0), (1,0), (1,1). The sensor sits on tile (0,0).
/** One-neuron cores, one a tile, loihi's costs but for `spike`. */
const handChip = (spike: { energy_pj: number; latency_ns: number }): ReturnType<typeof chipFromObject> => chipFromObject({
  name: 'hand', mesh: 'auto', cores_per_tile: 1,
  core: { neurons: 1, synapse_bytes: 'unlimited', weight_bits: 8, queue_depth: 64 },
  costs: {
    synop: cost(23.6, 3.5), dendrite_add: cost(23.6, 3.5), neuron_update: cost(81, 8.4), spike,
    message_out: cost(1.7, 2.1), message_in: cost(0, 0), hop_ew: cost(3.0, 4.1), hop_ns: cost(4.0, 6.5),
  },
}, 'hand chip');
const chip = handChip(cost(0, 0));

const video = { data: Float32Array.of(1, 1, 1, 1.25, 1, 2), count: 3, frameSize: 2, source: 'hand' };
const opts = { threshold: 0.5, policy: parsePolicy('threshold') };

describe('hand-worked chip example (loihi costs)', async () => {
  const run = await runChip(graph, video, 3, { ...opts, chip, workers: 1, inProcess: true, keepOutputs: true });
  const f = run.result.per_frame;

  it('places the three cores on three tiles', () => {
    expect(run.setup.mapping.cores.map((c) => [c.tileX, c.tileY])).toEqual([[0, 0], [1, 0], [1, 1]]);
  });

  it('frame 0 (flush, x = [1, 1]): energy and latency', () => {
    // Sensor: both inputs nonzero → 2 transmissions × 2 cores = 4 messages; the two to
    // core 1 take 1 E-W hop: 4·1.7 + 2·3.0 = 12.8 pJ.
    // Core 0 (tile 0,0): messages arrive at 0 + 2.1 = 2.1; each costs 1 synop:
    //   m0 2.1 → 5.6, m1 5.6 → 9.1; sensor token at 2.1; update neuron 0 → 17.5;
    //   relu(1 + 3) = 4 ≠ 0 → spike leaves at 17.5 for core 2 (1 E-W + 1 N-S hop).
    //   energy 2·23.6 + 81 + 1.7 + 3.0 + 4.0 = 136.9 pJ.
    // Core 1 (tile 1,0): arrival 2.1 + 4.1 = 6.2: 6.2 → 9.7 → 13.2; update → 21.6;
    //   relu(2 − 4) = 0: nothing sent. energy 2·23.6 + 81 = 128.2 pJ.
    // Core 2 (tile 1,1): core 0's message arrives 17.5 + 2.1 + 4.1 + 6.5 = 30.2 → 33.7;
    //   tokens: core 0 at 30.2, core 1 at 21.6 + 2.1 + 6.5 = 30.2; update → 42.1.
    //   energy 23.6 + 81 = 104.6 pJ.
    // Total 12.8 + 136.9 + 128.2 + 104.6 = 382.5 pJ; latency 42.1 − 0 = 42.1 ns.
    expect(f[0]!.energy_pj).toBeCloseTo(382.5, 9);
    expect(f[0]!.latency_ns).toBeCloseTo(42.1, 9);
    expect(f[0]!.synops).toBe(5); // 2 inputs × 2 neurons + 1
    expect(f[0]!.transmissions).toBe(3);
    expect(f[0]!.messages).toBe(5);
    expect(f[0]!.hops).toBe(4);
  });

  it('frame 1 (x1 changes by 0.25 < h): nothing is sent, tokens still move', () => {
    // Entry = latest end of the input cores (0 and 1) in frame 0 = 21.6.
    // Core 0: token 21.6 + 2.1 = 23.7; core 1: 21.6 + 2.1 + 4.1 = 27.8.
    // Core 2 keeps its frame-0 end 42.1 (tokens arrive at 36.4): latency 42.1 − 21.6 = 20.5.
    expect(f[1]!.energy_pj).toBe(0);
    expect(f[1]!.messages).toBe(0);
    expect(f[1]!.latency_ns).toBeCloseTo(20.5, 9);
  });

  it('frame 2 (x1 → 2: d = 0.25 + 0.75 = 1 > h is sent)', () => {
    // Entry = max(23.7, 27.8) = 27.8. Sensor: 1 transmission → 2 messages, 1 hop:
    //   2·1.7 + 3.0 = 6.4 pJ.
    // Core 0: arrival 29.9 → 33.4; a0 = 4 + 3·1 = 7 → update → 41.8; relu 7, d = 3 > h:
    //   spike at 41.8. energy 23.6 + 81 + 1.7 + 3 + 4 = 113.3 pJ.
    // Core 1: arrival 34.0 → 37.5; a1 = −2 − 4 = −6 → update → 45.9; relu stays 0.
    //   energy 104.6 pJ.
    // Core 2: arrival 41.8 + 12.7 = 54.5 → 58.0; tokens at 54.5 and 45.9 + 8.6 = 54.5;
    //   y = 4 + 3 = 7 → update → 66.4. energy 104.6 pJ. latency 66.4 − 27.8 = 38.6.
    expect(f[2]!.energy_pj).toBeCloseTo(6.4 + 113.3 + 104.6 + 104.6, 9);
    expect(f[2]!.latency_ns).toBeCloseTo(38.6, 9);
    expect(run.outputs![2]).toBe(7);
    expect(run.result.totals.latency_ns).toBeCloseTo(66.4, 9);
    expect(run.result.totals.mean_latency_ns).toBeCloseTo((42.1 + 20.5 + 38.6) / 3, 9);
  });

  it('synops equal the functional MACs; outputs and transmissions agree', async () => {
    const fn = await runFunctional(graph, video, 3, { ...opts, keepOutputs: true });
    expect(run.result.totals.synops).toBe(fn.result.totals.macs);
    expect(run.result.totals.transmissions).toBe(fn.result.totals.transmissions);
    expect(Array.from(run.outputs!)).toEqual(Array.from(fn.outputs!));
    expect(Array.from(run.outputs!)).toEqual([4, 4, 7]);
  });
});

// x[2] → Gemm W1 (no activation: a relay on the chip) → Gemm W2 (y = h0 + h1) → Relu.
const relayGraph: Graph = {
  name: 'hand-relay',
  opset: 13,
  input: 0,
  output: 3,
  tensors: [
    { name: 'x', shape: [1, 2], size: 2 },
    { name: 'h', shape: [1, 2], size: 2 },
    { name: 'z', shape: [1, 1], size: 1 },
    { name: 'y', shape: [1, 1], size: 1 },
  ],
  nodes: [
    { id: 0, name: 'fc1', onnxOp: 'Gemm', inputs: [0], output: 1, op: { kind: 'dense', m: 1, k: 2, n: 2, transA: false, weight: Float32Array.of(1, 2, 3, -4), bias: null, bnGamma: null } },
    { id: 1, name: 'fc2', onnxOp: 'Gemm', inputs: [1], output: 2, op: { kind: 'dense', m: 1, k: 2, n: 1, transA: false, weight: Float32Array.of(1, 1), bias: null, bnGamma: null } },
    { id: 2, name: 'relu', onnxOp: 'Relu', inputs: [2], output: 3, op: { kind: 'unary', fn: 'relu', a: 0, b: 0 } },
  ],
};

describe('hand-worked relay (a Gemm with no activation) on a chip whose spikes cost 69.3 pJ / 30 ns', async () => {
  const spiky = handChip(cost(69.3, 30));
  const run = await runChip(relayGraph, { data: Float32Array.of(1, 1), count: 1, frameSize: 2, source: 'hand' }, 1, { ...opts, chip: spiky, workers: 1, inProcess: true, keepOutputs: true });

  it('frame 0 (x = [1, 1]): the relay sends its sums as messages, with no spike and no transmission', () => {
    // Cores 0, 1, 2 on tiles (0,0), (1,0), (1,1) as above; fc1's neurons on cores 0 and 1.
    // Sensor: 2 transmissions × 2 cores = 4 messages, 2 with an E-W hop: 4·1.7 + 2·3.0 = 12.8 pJ.
    // Core 0: 2.1 → 5.6 → 9.1; no accumulator, no update; h0 = 1 + 3 = 4 leaves at 9.1 for
    //   core 2 (1 E-W + 1 N-S hop): 2·23.6 + 1.7 + 3.0 + 4.0 = 55.9 pJ.
    // Core 1: 6.2 → 9.7 → 13.2; h1 = 2 − 4 = −2 leaves at 13.2 (1 N-S hop): 47.2 + 1.7 + 4.0 = 52.9 pJ.
    // Core 2: arrivals 9.1 + 2.1 + 4.1 + 6.5 = 21.8 and 13.2 + 2.1 + 6.5 = 21.8 → 25.3 → 28.8;
    //   y = 4 − 2 = 2, update → 37.2: 2·23.6 + 81 = 128.2 pJ.
    // Total 12.8 + 55.9 + 52.9 + 128.2 = 249.8 pJ, latency 37.2 ns; only the input gate transmits.
    const f = run.result.per_frame[0]!;
    expect(f.energy_pj).toBeCloseTo(249.8, 9);
    expect(f.latency_ns).toBeCloseTo(37.2, 9);
    expect([f.transmissions, f.messages, f.hops, f.synops]).toEqual([2, 6, 5, 6]);
    expect(run.outputs![0]).toBe(2);
  });

  it("the layers' transmissions add up to the frame's (was: the relay's sends counted in its layer only)", () => {
    const layers = run.result.layers;
    expect(layers.reduce((s, l) => s + l.transmissions, 0)).toBe(run.result.totals.transmissions);
  });
});
