/**
 * Dendritic adds on the chip (DESIGN §4 `adds`, §5), worked by hand on three small
 * networks: a core adds the elements of a delta-domain linear node that its own synapses
 * or accumulator elements need, so the chip matches the functional count where each
 * element is needed by exactly one core, exceeds it by the shared elements, and falls
 * short by the elements no core needs.
 */
import { describe, expect, it } from 'vitest';
import { chipFromObject } from '../../src/config/chip-config.js';
import { parsePolicy } from '../../src/model/evnet/policy.js';
import type { ConvOp, DenseOp, Graph } from '../../src/model/ir.js';
import { runChip } from '../../src/runtime/chip/run-chip.js';
import { runFunctional } from '../../src/runtime/functional.js';
import { avgPoolOp, GraphBuilder, relu } from '../helpers/graph.js';

const cost = (energy_pj: number, latency_ns: number) => ({ energy_pj, latency_ns });
/** One neuron or two per core, one core per tile. */
const chipOf = (neurons: number) => chipFromObject({
  name: 'small', mesh: 'auto', cores_per_tile: 1,
  core: { neurons, synapse_bytes: 'unlimited', weight_bits: 8, queue_depth: 64 },
  costs: {
    synop: cost(1, 1), dendrite_add: cost(10, 2), neuron_update: cost(0, 0), spike: cost(0, 0),
    message_out: cost(0, 0), message_in: cost(0, 0), hop_ew: cost(0, 0), hop_ns: cost(0, 0),
  },
}, 'small chip');

const opts = { threshold: 0.5, policy: parsePolicy('threshold') };

/** A 1×1 convolution with the given [cout][cin] weights, no bias. */
const conv1x1 = (cin: number, cout: number, weight: number[]): ConvOp => ({
  kind: 'conv', cin, cout, kh: 1, kw: 1, strideH: 1, strideW: 1, padT: 0, padL: 0, padB: 0, padR: 0, dilH: 1, dilW: 1, group: 1,
  weight: Float32Array.from(weight), bias: null, bnGamma: null,
});
/** y[n] = Σ_k x[k] · W[k][n], no bias. */
const dense = (k: number, n: number, weight: number[]): DenseOp => ({ kind: 'dense', m: 1, k, n, transA: false, weight: Float32Array.from(weight), bias: null, bnGamma: null });

async function both(graph: Graph, data: number[], frameSize: number, neurons: number) {
  const count = data.length / frameSize;
  const video = { data: Float32Array.from(data), count, frameSize, source: 'hand' };
  const chip = await runChip(graph, video, count, { ...opts, chip: chipOf(neurons), workers: 1, inProcess: true });
  const fn = await runFunctional(graph, video, count, opts);
  return { chip: chip.result.per_frame, fn: fn.result.per_frame, mapping: chip.setup.mapping };
}

describe('dendritic adds on the chip, by hand', () => {
  it('a pooling window split across two cores: both add the shared element', async () => {
    // x[1,1,4,1] → conv 1×1 (w 1) → relu r → AvgPool 2×1 stride 1 → p[3] → conv 1×1 → y[3].
    // Two neurons per core: the second conv's rows {0,1} on one core, {2} on another;
    // p0, p1 need r0…r2 and p2 needs r2, r3, so r2 goes to both.
    const b = new GraphBuilder([1, 1, 4, 1]);
    const h = b.add(conv1x1(1, 1, [1]), [0], [1, 1, 4, 1]);
    const r = b.add(relu(), [h], [1, 1, 4, 1]);
    const p = b.add(avgPoolOp({ k: [2, 1] }, false), [r], [1, 1, 3, 1]);
    b.add(conv1x1(1, 1, [1]), [p], [1, 1, 3, 1]);
    // Frame 0 sends r = 1, 2, 3, 4: 3 + 2 adds (functional 4). Frame 1: r3 += 1 → 1 core,
    // 1 add. Frame 2: r2 += 1 → both cores: 2 adds (functional 1).
    const { chip, fn } = await both(b.build(), [1, 2, 3, 4, 1, 2, 3, 5, 1, 2, 4, 5], 4, 2);
    expect(chip.map((f) => f.adds)).toEqual([5, 1, 2]);
    expect(fn.map((f) => f.adds)).toEqual([4, 1, 1]);
    // Energy: synops × 1 + adds × 10 (every other cost is 0).
    chip.forEach((f) => expect(f.energy_pj).toBeCloseTo(f.synops + 10 * f.adds, 9));
    // Latency of frame 0 (synop 1 ns, dendrite add 2 ns, nothing else takes time): each
    // first-layer core applies 2 synapses and sends at 2; the core of p0, p1 takes r0, r1,
    // r2 at 2 + 3 · 2 = 8, then the pooled values' 2 synapses: 10 (the other core: 7).
    expect(chip[0]!.latency_ns).toBeCloseTo(10, 9);
  });

  it('global pool → flatten → a layer on two cores: each pools every message, flattens per frame', async () => {
    // x[1,2,2,1] → conv 1×1 (identity) → relu r[2 ch × 2 rows] → GlobalAveragePool → p[2]
    // → Flatten → Gemm 2→2 → y. One neuron per core: the Gemm's two neurons on two
    // cores, each needing both pooled channels, so every r element goes to both.
    const b = new GraphBuilder([1, 2, 2, 1]);
    const h = b.add(conv1x1(2, 2, [1, 0, 0, 1]), [0], [1, 2, 2, 1]);
    const r = b.add(relu(), [h], [1, 2, 2, 1]);
    const p = b.add(avgPoolOp({ k: [2, 1] }, false, true), [r], [1, 2, 1, 1]);
    const f = b.add({ kind: 'reshape', source: 'Flatten' }, [p], [1, 2]);
    b.add(dense(2, 2, [1, 1, 1, -1]), [f], [1, 2]);
    // Frame 0: 4 messages × 2 cores = 8 pooling adds; p = (1.5, 3.5): 2 flatten adds per
    // core = 4; total 12 (functional 4 + 2 = 6). Frame 1: r3 += 1 → 2 messages, p1
    // changes: 2 + 2 = 4 (functional 1 + 1 = 2).
    const { chip, fn, mapping } = await both(b.build(), [1, 2, 3, 4, 1, 2, 3, 5], 4, 1);
    expect(mapping.partitions.filter((q) => q.segment === 1).length).toBe(2);
    expect(chip.map((x) => x.adds)).toEqual([12, 4]);
    // Frame 0 latency: first-layer cores send at 2 (2 synapses each); a Gemm core pools
    // 4 messages (2 + 4 · 2 = 10), then 2 synapses and 2 flatten adds once: 10 + 2 + 4 = 16.
    expect(chip[0]!.latency_ns).toBeCloseTo(16, 9);
    expect(fn.map((x) => x.adds)).toEqual([6, 2]);
  });

  it('a residual add after the synapses: each core adds its own neurons only', async () => {
    // x[1,2] → Gemm (identity) → relu r → Gemm z = (r0 + r1, r0 − r1) → y = z + r.
    // One neuron per core. r1 reaches y0's core for the synapse z0 but is not added there.
    const b = new GraphBuilder([1, 2]);
    const h = b.add(dense(2, 2, [1, 0, 0, 1]), [0], [1, 2]);
    const r = b.add(relu(), [h], [1, 2]);
    const z = b.add(dense(2, 2, [1, 1, 1, -1]), [r], [1, 2]);
    b.add({ kind: 'add', sign: 1 }, [z, r], [1, 2]);
    // Frame 0: r = (4, 2), z = (6, 2): per core 1 skip element + 1 synaptic output, total
    // 4 = functional. Frame 1: x0 → 5: r0 += 1, z += (1, 1): 1 + 2 = 3 = functional.
    const { chip, fn } = await both(b.build(), [4, 2, 5, 2], 2, 1);
    expect(chip.map((x) => x.adds)).toEqual([4, 3]);
    expect(fn.map((x) => x.adds)).toEqual([4, 3]);
  });

  it('an element no core needs is not sent, so not added', async () => {
    // x[1,1,5,1] → conv 1×1 → relu r[5] → AvgPool 2×1 stride 2 → p[2] (r4 is never read)
    // → conv 1×1. Frame 0: r0…r3 are sent to the one core: 4 adds (functional: all 5).
    // Frame 1: only r4 changes: nothing sent, 0 adds (functional 1).
    const b = new GraphBuilder([1, 1, 5, 1]);
    const h = b.add(conv1x1(1, 1, [1]), [0], [1, 1, 5, 1]);
    const r = b.add(relu(), [h], [1, 1, 5, 1]);
    const p = b.add(avgPoolOp({ k: [2, 1], stride: [2, 1] }, false), [r], [1, 1, 2, 1]);
    b.add(conv1x1(1, 1, [1]), [p], [1, 1, 2, 1]);
    const { chip, fn } = await both(b.build(), [1, 2, 3, 4, 5, 1, 2, 3, 4, 7], 5, 1024);
    expect(chip.map((x) => x.adds)).toEqual([4, 0]);
    expect(fn.map((x) => x.adds)).toEqual([5, 1]);
  });
});
