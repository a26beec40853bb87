/**
 * The chip run against the functional run (issue acceptance 1, 2, 4): same outputs,
 * equal MACs/transmissions/adds, synops = MACs, bit-identical for any worker count, and a
 * queue depth of 1 only adds stall and latency.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildChipSetup } from '../../src/chip/setup.js';
import { chipFromObject, loadChip } from '../../src/config/chip-config.js';
import { parsePolicy } from '../../src/model/evnet/policy.js';
import { loadOnnx } from '../../src/model/onnx/import.js';
import { runChip } from '../../src/runtime/chip/run-chip.js';
import { runFunctional } from '../../src/runtime/functional.js';
import { checkFrames } from '../../src/runtime/inputs.js';
import { simulate } from '../../src/simulate.js';
import { queryTrace } from '../../src/trace/query.js';
import { readFloat32Npy } from '../../src/workloads/npy.js';
import { syntheticVideo } from '../../src/workloads/video.js';
import type { Graph } from '../../src/model/ir.js';
import type { RunResult } from '../../src/runtime/result.js';
import { GraphBuilder, affineOp, convOp, denseOp, maxPoolOp, relu, softmaxOp, unary } from '../helpers/graph.js';
import { mulberry32, randArray } from '../helpers/rng.js';

const FIX = join(__dirname, '..', 'fixtures', 'onnx');
const opts = { threshold: 0.05, policy: parsePolicy('threshold') };

/** Per frame, the chip applied as many synapses as the functional run counts MACs, and sent as much. */
function expectSameWork(ch: { result: RunResult }, fn: { result: RunResult }): void {
  ch.result.per_frame.forEach((f, i) => {
    expect(f.synops).toBe(fn.result.per_frame[i]!.macs);
    expect(f.transmissions).toBe(fn.result.per_frame[i]!.transmissions);
  });
}

/** loihi's costs and capacities in the chip file format, with some changed. */
function loihiWith(name: string, core: { neurons?: number; queue_depth?: number }, extra: Record<string, unknown> = {}) {
  const base = loadChip('loihi');
  return chipFromObject({
    name, mesh: 'auto', cores_per_tile: 4, ...extra,
    core: { neurons: 1024, synapse_bytes: 131072, weight_bits: 8, queue_depth: 64, ...core },
    costs: Object.fromEntries(Object.entries(base.costs).map(([k, c]) => [k, { energy_pj: c.energyPj, latency_ns: c.latencyNs }])),
  }, name);
}

function fixture(name: string) {
  const g = loadOnnx(join(FIX, `${name}.onnx`));
  const a = readFloat32Npy(join(FIX, `${name}.input.npy`));
  return { g, frames: checkFrames(g, a.shape, a.data, name) };
}

/**
 * A fixture on loihi (2 workers) beside the functional run: outputs bit-identical, per
 * frame synops = MACs and equal transmissions; both runs returned for further checks.
 */
async function fixtureOnLoihi(name: string, inProcess: boolean) {
  const { g, frames } = fixture(name);
  const fn = await runFunctional(g, frames, frames.count, { ...opts, keepOutputs: true });
  const ch = await runChip(g, frames, frames.count, { ...opts, chip: loadChip('loihi'), workers: 2, inProcess, keepOutputs: true });
  expect(Array.from(ch.outputs!)).toEqual(Array.from(fn.outputs!));
  expectSameWork(ch, fn);
  return { g, fn, ch };
}

describe('chip run equals the functional run', () => {
  for (const name of ['mlp', 'cnn_basic', 'resnet_block_bn', 'concat_upsample', 'cnn_group', 'pad_transpose', 'clip_opset11', 'convtranspose_1d', 'qdq_cnn']) {
    it(name, async () => {
      const { g, frames } = fixture(name);
      const fn = await runFunctional(g, frames, frames.count, { ...opts, keepOutputs: true });
      const ch = await runChip(g, frames, frames.count, { ...opts, chip: loadChip('loihi'), workers: 3, inProcess: true, keepOutputs: true });
      let scale = 0;
      for (const v of fn.outputs!) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < fn.outputs!.length; i++) expect(Math.abs(ch.outputs![i]! - fn.outputs![i]!)).toBeLessThanOrEqual(1e-5 * scale);
      expect(ch.result.totals.macs).toBe(fn.result.totals.macs);
      expect(ch.result.totals.synops).toBe(fn.result.totals.macs);
      expect(ch.result.totals.transmissions).toBe(fn.result.totals.transmissions);
      ch.result.per_frame.forEach((r, t) => {
        expect(r.synops).toBe(fn.result.per_frame[t]!.macs);
        expect(r.transmissions).toBe(fn.result.per_frame[t]!.transmissions);
        // On loihi's 1024-neuron cores no element of these networks' dendritic nodes is
        // needed by two cores, so the chip adds each once (chip-adds.test.ts: when not).
        expect(r.adds).toBe(fn.result.per_frame[t]!.adds);
      });
    });
  }
});

describe('a dense run (--dense): a zero a neuron sends costs its synapses behind dendritic nodes too', () => {
  // x[1,4] → Gemm 4→3 → relu r → Concat(r, (2, 0, 2)·r) → Gemm 6→2. Weights put r1 below
  // zero on both frames, so r sends a 0 every frame. The conventional baseline charges
  // every value every neuron sends, except where a zero scale leaves no synapse (the chip
  // routes no message there): per frame 4·3 + 5·2 = 22 MACs of the dense count's 24, on
  // both runs (was: the Concat dropped the zeros, 18 on the functional run, 22 on the chip;
  // then the Mul kept its structural zero, 24 against 22).
  const b = new GraphBuilder([1, 4]);
  const w1 = Float32Array.of(1, -1, 0.5, 0.5, -1, 0.5, 0.25, -1, 0.5, 0.5, -1, 0.5);
  const r = b.add(relu(), [b.add({ ...denseOp(mulberry32(40), 1, 4, 3, false, false), weight: w1 }, [0], [1, 3])], [1, 3]);
  const twice = b.add({ kind: 'affine', scale: Float32Array.of(2, 0, 2), shift: Float32Array.of(0, 0, 0), bnGamma: null, source: 'Mul' }, [r], [1, 3]);
  const cat = b.add({ kind: 'concat', axis: 1 }, [r, twice], [1, 6]);
  b.add(denseOp(mulberry32(41), 1, 6, 2), [cat], [1, 2]);
  const g = b.build();
  const frames = checkFrames(g, [2, 4], Float32Array.of(1, 2, 3, 4, 2, 1, 0, 3), 'frames');
  const dense = { threshold: 0.05, policy: { ...parsePolicy('threshold'), resetEvery: 1, sendAll: true } };

  it('functional and chip: 22 MACs = synops per frame, dense_macs 24', async () => {
    const fn = await runFunctional(g, frames, 2, { ...dense, keepOutputs: true });
    const ch = await runChip(g, frames, 2, { ...dense, chip: loihiWith('tiny', { neurons: 2 }), workers: 2, inProcess: true, keepOutputs: true });
    for (const f of fn.result.per_frame) expect([f.macs, f.dense_macs]).toEqual([22, 24]);
    for (const f of ch.result.per_frame) expect([f.synops, f.dense_macs]).toEqual([22, 24]);
    expect(ch.outputs).toEqual(fn.outputs);
  });
});

describe('routing follows structure, not a probe value that cancels', () => {
  // y = relu(Gemm x), z = relu(Gemm x), w = (z − y)·(0.5, −1, 2, 1.5) + y + y → Gemm → out.
  // A probe of y's element 2 with the value 1 gives (−1)·2 + 1 + 1 = 0, so routing once
  // sent it nowhere, though real deltas (float sums, z moving too) do not cancel: from 2
  // workers the output Gemm's cores missed it (outputs off by an ulp, adds short).
  const b = new GraphBuilder([1, 4]);
  const y = b.add(relu(), [b.add(denseOp(mulberry32(50), 1, 4, 4), [0], [1, 4])], [1, 4]);
  const z = b.add(relu(), [b.add(denseOp(mulberry32(51), 1, 4, 4), [0], [1, 4])], [1, 4]);
  const d = b.add({ kind: 'add', sign: -1 }, [z, y], [1, 4]);
  const a = b.add({ kind: 'affine', scale: Float32Array.of(0.5, -1, 2, 1.5), shift: new Float32Array(4), bnGamma: null, source: 'Mul' }, [d], [1, 4]);
  const w = b.add({ kind: 'add', sign: 1 }, [b.add({ kind: 'add', sign: 1 }, [a, y], [1, 4]), y], [1, 4]);
  b.add(denseOp(mulberry32(52), 1, 4, 3), [w], [1, 3]);
  const g = b.build();
  const frames = checkFrames(g, [6, 4], randArray(mulberry32(53), 24, 0, 1), 'frames');

  it("every element of y is routed to the output Gemm's core (was: element 2 was not)", () => {
    const setup = buildChipSetup(g, loihiWith('tiny4', { neurons: 4 }));
    const gate = setup.plan.steps.find((st) => st.kind === 'gate' && st.in === y)!;
    const seg = setup.mapping.segments.find((sg) => sg.synaptic.some((sy) => sy.node.op.kind === 'dense' && sy.node.op.n === 3))!;
    const core = setup.mapping.partitions.find((p) => p.segment === seg.id)!.core;
    const r = setup.routes.get(gate.out)!;
    for (let e = 0; e < 4; e++) expect(Array.from(r.core.subarray(r.offsets[e]!, r.offsets[e + 1]!)), `y[${e}]`).toContain(core);
  });

  it('outputs, synops, transmissions and adds equal the functional run on 1 and 3 workers', async () => {
    const fn = await runFunctional(g, frames, 6, { ...opts, keepOutputs: true });
    for (const workers of [1, 3]) {
      const ch = await runChip(g, frames, 6, { ...opts, chip: loihiWith('tiny4', { neurons: 4 }), workers, inProcess: true, keepOutputs: true });
      expect(ch.outputs).toEqual(fn.outputs);
      expectSameWork(ch, fn);
      expect(ch.result.totals.adds).toBe(fn.result.totals.adds);
    }
  });
});

/** The name of the gate after a graph's first max pool. */
function setupGate(g: Graph): string {
  const setup = buildChipSetup(g, loihiWith('any', { neurons: 100000 }));
  return setup.mapping.segments[0]!.gates[0]!.name;
}

/** x[1, cin, h, w] → conv 3×3 pad 1 (cout) → relu → MaxPool 3×3 pad 1 (stride s) → 1×1 conv (2 channels). */
function convPoolConv(name: string, cin: number, h: number, w: number, cout: number, s: number, seed: number, group = 1): Graph {
  const b = new GraphBuilder([1, cin, h, w], name);
  const r = b.add(relu(), [b.add(convOp(mulberry32(seed), { cin, cout, kh: 3, pads: [1, 1, 1, 1], group }), [0], [1, cout, h, w])], [1, cout, h, w]);
  const [oh, ow] = [Math.floor((h - 1) / s) + 1, Math.floor((w - 1) / s) + 1];
  const p = b.add(maxPoolOp({ k: [3, 3], stride: [s, s], pads: [1, 1, 1, 1] }), [r], [1, cout, oh, ow]);
  b.add(convOp(mulberry32(seed + 1), { cin: cout, cout: 2, kh: 1 }), [p], [1, 2, oh, ow]);
  return b.build();
}

describe('an overlapping max pool whose channel outgrows a core: shadow rows', () => {
  // x[1,1,16,16] → conv 3×3 pad 1 (2 channels) → relu → MaxPool 3×3 stride 2 pad 1 → 1×1 conv.
  // 64-neuron cores hold 4 rows of one 16-wide channel: 2 rows of its own and the 2 rows
  // below that its last pooling window reads (an output belongs to its window's first
  // row: rows 0–1 own outputs 0 and 1, whose windows reach row 3). Was: exit 2, "a 16-row
  // strip of one channel holds 256 neurons but a core holds 64".
  const g = convPoolConv('stem', 1, 16, 16, 2, 2, 60);
  const T = 5;
  const data = randArray(mulberry32(62), T * 256, 0.1, 1); // no zero input: frame 0 reaches every synapse
  for (let i = 256; i < T * 256; i++) if (i % 3 !== 0) data[i] = data[i - 256]!;
  const frames = checkFrames(g, [T, 1, 16, 16], data, 'video');
  const o = { threshold: 0.05, policy: parsePolicy('threshold') };

  it('partitions: 2 own rows and up to 2 shadow rows of one channel', () => {
    const setup = buildChipSetup(g, loihiWith('tiny64', { neurons: 64 }));
    const first = setup.mapping.partitions.filter((q) => q.segment === 0 && q.c0 === 0);
    expect(first.map((q) => [q.r0, q.r1, q.s1])).toEqual([[0, 2, 4], [2, 4, 6], [4, 6, 8], [6, 8, 10], [8, 10, 12], [10, 12, 14], [12, 14, 16], [14, 16, 16]]);
  });

  it('outputs, synops = MACs and transmissions equal the functional run; energy and latency equal on 1, 2, 3 workers', async () => {
    const fn = await runFunctional(g, frames, T, { ...o, keepOutputs: true });
    const runs: number[][][] = [];
    for (const workers of [1, 2, 3]) {
      const ch = await runChip(g, frames, T, { ...o, chip: loihiWith('tiny64', { neurons: 64 }), workers, inProcess: workers === 1, keepOutputs: true });
      expect(Array.from(ch.outputs!), `${workers} workers`).toEqual(Array.from(fn.outputs!));
      expectSameWork(ch, fn);
      runs.push(ch.result.per_frame.map((f) => [f.energy_pj, f.latency_ns]));
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });

  it('a depthwise conv and a stride-1 pool, 5 workers: a worker whose cores hold no shadow rows still gates only its own windows (was: extra transmissions from 2 workers)', async () => {
    const dg = convPoolConv('dw', 3, 21, 16, 3, 1, 63, 3);
    const dv = randArray(mulberry32(65), 5 * 1008, -1, 1);
    for (let i = 1008; i < 5 * 1008; i++) if (i % 4 !== 0) dv[i] = dv[i - 1008]!;
    const df = checkFrames(dg, [5, 3, 21, 16], dv, 'video');
    const fn = await runFunctional(dg, df, 5, { ...o, keepOutputs: true });
    for (const workers of [1, 2, 3, 5]) {
      const ch = await runChip(dg, df, 5, { ...o, chip: loihiWith('tiny128', { neurons: 128 }), workers, inProcess: true, keepOutputs: true });
      expect(Array.from(ch.outputs!), `${workers} workers`).toEqual(Array.from(fn.outputs!));
      expectSameWork(ch, fn);
      expect(ch.result.totals.gate_updates, `${workers} workers`).toBe(fn.result.totals.gate_updates);
    }
  });

  it('chunk:2 keeps two channels per partition, their shadow rows included', () => {
    const setup = buildChipSetup(g, loihiWith('tiny200', { neurons: 200 }), { chunks: { [setupGate(g)]: 2 } });
    const parts = setup.mapping.partitions.filter((q) => q.segment === 0);
    // 200 neurons: 2 channels × (4 rows + 2 shadow rows) × 16 columns = 192.
    expect(parts.every((q) => q.c1 - q.c0 === 2 && q.r1 - q.r0 <= 4 && (q.s1 - q.r0) * 16 * 2 <= 200)).toBe(true);
    expect(parts.some((q) => q.s1 > q.r1)).toBe(true);
  });

  it('chunk:2 where one channel fits a core but two do not: shadow rows, not a refusal (was: exit 2 on 576–1024 neurons, fine on 300)', () => {
    const cg = convPoolConv('mid', 3, 24, 24, 4, 2, 66);
    // 24 × 24 = 576 neurons a channel: one fits 1000, a chunk of two (1152) does not.
    const setup = buildChipSetup(cg, loihiWith('n1000', { neurons: 1000 }), { chunks: { [setupGate(cg)]: 2 } });
    const parts = setup.mapping.partitions.filter((q) => q.segment === 0);
    expect(parts.every((q) => q.c1 - q.c0 === 2 && (q.s1 - q.r0) * 24 * 2 <= 1000)).toBe(true);
    expect(parts.some((q) => q.s1 > q.r1)).toBe(true);
  });

  it('shadow work is counted apart: frame 0 applies 3772 synapses to shadow rows, by hand', async () => {
    // Shadow rows 2…15 of each channel, once each. Pairs per output row of a 3×3 pad-1
    // conv on 16 columns: 14·9 + 2·6 = 138 inside, 14·6 + 2·4 = 92 on the last row:
    // (13·138 + 92) · 2 channels = 3772. Frame 0 updates every shadow accumulator: 14·16·2.
    const trace = join(mkdtempSync(join(tmpdir(), 'evsim-halo-')), 'halo.sqlite');
    await simulate({ model: g, frames: { shape: [T, 1, 16, 16], data }, chip: loihiWith('tiny64', { neurons: 64 }), threshold: 0.05, trace, traceLevel: 'cores', workers: 2 });
    const rows = await queryTrace(trace, 'SELECT frame, SUM(halo_synops) AS hs, SUM(halo_updates) AS hu FROM core_frames GROUP BY frame ORDER BY frame');
    expect([rows[0]!.hs, rows[0]!.hu]).toEqual([3772, 14 * 16 * 2]);
    for (const r of rows.slice(1)) expect(r.hs as number).toBeLessThan(3772);
  });
});

describe('newer activations, a channel split, a strided slice and a spatial mean (modern_acts)', () => {
  it('chip outputs, synops and transmissions equal the functional run; adds are at most its', async () => {
    const { fn, ch } = await fixtureOnLoihi('modern_acts', true);
    expect(ch.result.totals.synops).toBe(fn.result.totals.macs);
    ch.result.per_frame.forEach((r, t) => {
      // z[:, :, ::2, 1::2] keeps a quarter of the Add before it: no core needs the rest,
      // so the chip adds fewer elements than the functional count (DESIGN §5).
      expect(r.adds).toBeLessThan(fn.result.per_frame[t]!.adds);
    });
  });
});

describe('a NaN or infinity reaching a gate stops the run, naming where', () => {
  // x → Gemm → Log → Gemm: frame 0 is fine; frame 1 drives one pre-activation to 0, and
  // log 0 = −Inf would leave every later accumulator NaN (Inf − Inf); log −1 = NaN would
  // never be sent and freeze that neuron.
  const b = new GraphBuilder([1, 2], 'log-net');
  const id = { ...denseOp(mulberry32(3), 1, 2, 2, false, false), weight: Float32Array.of(1, 0, 0, 1) };
  const l = b.add(unary('log'), [b.add(id, [0], [1, 2])], [1, 2], 'the_log');
  b.add(denseOp(mulberry32(4), 1, 2, 3), [l], [1, 3]);
  const g = b.build();
  const frames = checkFrames(g, [2, 2], Float32Array.of(1, 2, 0, 2), 'video');
  const want = /^gate 'the_log' would send -Infinity \(element 0\); .*keep this activation finite/;
  it('functional run', async () => {
    await expect(runFunctional(g, frames, 2, opts)).rejects.toThrow(want);
  });
  it('chip run, in process and on worker threads', async () => {
    await expect(runChip(g, frames, 2, { ...opts, chip: loadChip('loihi'), workers: 1, inProcess: true })).rejects.toThrow(want);
    await expect(runChip(g, frames, 2, { ...opts, chip: loadChip('loihi'), workers: 2 })).rejects.toThrow(want);
  });
  it('a NaN is named where the Log makes it', async () => {
    const neg = checkFrames(g, [2, 2], Float32Array.of(1, 2, -1, 2), 'video');
    await expect(runFunctional(g, neg, 2, opts)).rejects.toThrow(/^'the_log' gave NaN for -1 \(element 0\); .*keep this activation finite/);
  });
});

describe('elementwise math and both GELUs on the chip (elementwise)', () => {
  it('outputs, synops and transmissions equal the functional run (both GELU forms fused, so no product of two layers)', async () => {
    const { g } = await fixtureOnLoihi('elementwise', false);
    expect(g.nodes.filter((n) => n.onnxOp === 'Gelu').map((n) => (n.op as { a: number }).a)).toEqual([0, 1]);
  });
});

describe('bilinear resizing on the chip (bilinear_resize)', () => {
  it('outputs, synops and transmissions equal the functional run; a Resize input read by two cores is added on both', async () => {
    // A Resize output sums up to four inputs: the conv after it applies its synapses to
    // the summed values once per frame (DESIGN §5), as the functional run does.
    const { fn, ch } = await fixtureOnLoihi('bilinear_resize', true);
    ch.result.per_frame.forEach((r, t) => {
      expect(r.adds).toBeGreaterThanOrEqual(fn.result.per_frame[t]!.adds);
    });
    expect(ch.result.cores).toBeGreaterThan(1);
  });
});

describe('ConvTranspose on the chip', () => {
  it('conv → relu → ConvTranspose (k3, stride 2, pad 1, output_padding 1, group 2) → relu → conv equals the functional run', async () => {
    const b = new GraphBuilder([1, 4, 5, 5], 'conv-transpose');
    const r = b.add(relu(), [b.add(convOp(mulberry32(5), { cin: 4, cout: 4, kh: 1 }), [0], [1, 4, 5, 5])], [1, 4, 5, 5]);
    // (5 − 1)·2 + 1 (output_padding) + 3 − 1 − 1 = 10
    const t = b.add({ ...convOp(mulberry32(6), { cin: 4, cout: 6, kh: 3, group: 2, stride: [2, 2], pads: [1, 1, 1, 1] }), transposed: true }, [r], [1, 6, 10, 10]);
    const r2 = b.add(relu(), [t], [1, 6, 10, 10]);
    b.add(convOp(mulberry32(7), { cin: 6, cout: 2, kh: 3 }), [r2], [1, 2, 8, 8]);
    const g = b.build();
    const T = 4;
    const data = randArray(mulberry32(8), T * 100, -1, 1);
    for (let i = 100; i < T * 100; i++) if (i % 4 !== 0) data[i] = data[i - 100]!;
    const frames = checkFrames(g, [T, 4, 5, 5], data, 'video');
    const fn = await runFunctional(g, frames, T, { ...opts, keepOutputs: true });
    const ch = await runChip(g, frames, T, { ...opts, chip: loadChip('truenorth'), workers: 2, inProcess: true, keepOutputs: true });
    expect(Array.from(ch.outputs!)).toEqual(Array.from(fn.outputs!));
    expectSameWork(ch, fn);
    expect(ch.result.cores).toBeGreaterThan(1);
  });

  it("the U-Net's ConvTranspose concatenated straight into a conv: relay neurons pass its deltas on", async () => {
    await fixtureOnLoihi('unet_decoder', false);
  });
});

describe('relay neurons: a synaptic layer feeding another through linear nodes only', () => {
  // x → conv → relu → A: conv (no activation) ─┬→ B: 1×1 conv ──→ relu → conv
  //                                           └→ + C: conv(relu) ┘ (a linear bottleneck with a residual Add)
  // and D: conv outputs concatenated, then an affine, then relu (DenseNet's Concat → BN → ReLU),
  // then Gemm (no activation) → Gemm → relu.
  const build = (): Graph => {
    const b = new GraphBuilder([1, 3, 8, 8], 'relays');
    const r0 = b.add(relu(), [b.add(convOp(mulberry32(11), { cin: 3, cout: 6, kh: 3, pads: [1, 1, 1, 1] }), [0], [1, 6, 8, 8])], [1, 6, 8, 8]);
    const a = b.add(convOp(mulberry32(12), { cin: 6, cout: 6, kh: 3, pads: [1, 1, 1, 1] }), [r0], [1, 6, 8, 8]);
    const c = b.add(convOp(mulberry32(13), { cin: 6, cout: 6, kh: 1 }), [r0], [1, 6, 8, 8]);
    const sum = b.add({ kind: 'add', sign: 1 }, [a, c], [1, 6, 8, 8]);
    const bb = b.add(convOp(mulberry32(14), { cin: 6, cout: 4, kh: 1 }), [sum], [1, 4, 8, 8]);
    const r1 = b.add(relu(), [bb], [1, 4, 8, 8]);
    const d1 = b.add(convOp(mulberry32(15), { cin: 4, cout: 2, kh: 3, pads: [1, 1, 1, 1] }), [r1], [1, 2, 8, 8]);
    const d2 = b.add(convOp(mulberry32(16), { cin: 4, cout: 3, kh: 1 }), [r1], [1, 3, 8, 8]);
    const cat = b.add({ kind: 'concat', axis: 1 }, [d1, d2], [1, 5, 8, 8]);
    const bn = b.add(affineOp(mulberry32(17), 5 * 64), [cat], [1, 5, 8, 8]);
    const r2 = b.add(relu(), [bn], [1, 5, 8, 8]);
    // A fully connected relay wider than a truenorth core, so its neurons span cores and actors.
    const flat = b.add({ kind: 'reshape', source: 'Flatten' }, [r2], [1, 320]);
    const g1 = b.add(denseOp(mulberry32(21), 1, 320, 300), [flat], [1, 300]);
    b.add(relu(), [b.add(denseOp(mulberry32(22), 1, 300, 4), [g1], [1, 4])], [1, 4]);
    return b.build();
  };

  it('outputs bit-identical to the functional run, synops = MACs and transmissions equal per frame, on any worker count', async () => {
    const g = build();
    const T = 5;
    const data = randArray(mulberry32(18), T * 192, -1, 1);
    for (let i = 192; i < T * 192; i++) if (i % 5 !== 0) data[i] = data[i - 192]!;
    const frames = checkFrames(g, [T, 3, 8, 8], data, 'video');
    const fn = await runFunctional(g, frames, T, { ...opts, keepOutputs: true });
    // 128-neuron cores split every layer, so relays send across cores and actors.
    const small = loihiWith('loihi-128', { neurons: 128 });
    const runs = [];
    for (const workers of [1, 4]) runs.push(await runChip(g, frames, T, { ...opts, chip: small, workers, keepOutputs: true }));
    for (const ch of runs) {
      expect(Array.from(ch.outputs!)).toEqual(Array.from(fn.outputs!));
      expectSameWork(ch, fn);
    }
    expect(runs[1]!.result.per_frame).toEqual(runs[0]!.result.per_frame);
    expect(runs[0]!.result.cores).toBeGreaterThan(4);
  });

  it('a residual Add on top of two linear convs, read by two layers, is added once (in the relay), not in each reader', async () => {
    const b = new GraphBuilder([1, 3, 6, 6], 'residual');
    const r0 = b.add(relu(), [b.add(convOp(mulberry32(23), { cin: 3, cout: 4, kh: 1 }), [0], [1, 4, 6, 6])], [1, 4, 6, 6]);
    const a = b.add(convOp(mulberry32(24), { cin: 4, cout: 4, kh: 3, pads: [1, 1, 1, 1] }), [r0], [1, 4, 6, 6]);
    const c = b.add(convOp(mulberry32(25), { cin: 4, cout: 4, kh: 1 }), [r0], [1, 4, 6, 6]);
    const sum = b.add({ kind: 'add', sign: 1 }, [a, c], [1, 4, 6, 6], 'the_add');
    const u = b.add(relu(), [b.add(convOp(mulberry32(26), { cin: 4, cout: 2, kh: 1 }), [sum], [1, 2, 6, 6])], [1, 2, 6, 6]);
    const v = b.add(relu(), [b.add(convOp(mulberry32(27), { cin: 4, cout: 2, kh: 1 }), [sum], [1, 2, 6, 6])], [1, 2, 6, 6]);
    b.add({ kind: 'add', sign: 1 }, [u, v], [1, 2, 6, 6]);
    const g = b.build();
    const data = randArray(mulberry32(28), 4 * 108, -1, 1);
    for (let i = 108; i < 4 * 108; i++) if (i % 3 !== 0) data[i] = data[i - 108]!;
    const frames = checkFrames(g, [4, 3, 6, 6], data, 'video');
    const fn = await runFunctional(g, frames, 4, { ...opts, keepOutputs: true });
    // One core per layer on loihi: no element is needed by two cores, so adds match exactly
    // only if the Add is computed once, by the relay that owns it.
    const ch = await runChip(g, frames, 4, { ...opts, chip: loadChip('loihi'), workers: 2, keepOutputs: true });
    expect(Array.from(ch.outputs!)).toEqual(Array.from(fn.outputs!));
    ch.result.per_frame.forEach((f, i) => {
      expect(f.synops).toBe(fn.result.per_frame[i]!.macs);
      expect(f.adds).toBe(fn.result.per_frame[i]!.adds);
    });
  });

  it("a synaptic output both accumulated and rearranged before another accumulator is refused, naming it", () => {
    const b = new GraphBuilder([1, 2, 4, 4], 'both');
    const c = b.add(convOp(mulberry32(19), { cin: 2, cout: 2, kh: 1 }), [0], [1, 2, 4, 4], 'the_conv');
    const r = b.add(relu(), [c], [1, 2, 4, 4]);
    const cat = b.add({ kind: 'concat', axis: 1 }, [c, r], [1, 4, 4, 4]);
    b.add(relu(), [b.add(convOp(mulberry32(20), { cin: 4, cout: 2, kh: 1 }), [cat], [1, 2, 4, 4])], [1, 2, 4, 4]);
    expect(() => buildChipSetup(b.build(), loadChip('loihi'))).toThrow(/^the output of 'the_conv' is accumulated directly and also .*use --chip ideal\)$/);
  });
});

describe('review cases: pools in a row, a MatMul on a 3-D activation, an output without a batch of 1', () => {
  const small = (): ReturnType<typeof loadChip> => loihiWith('loihi-64', { neurons: 64 });
  const check = async (g: Graph, inShape: number[], chip: ReturnType<typeof loadChip>): Promise<void> => {
    const T = 4;
    const n = inShape.reduce((a, b) => a * b, 1);
    const data = randArray(mulberry32(31), T * n, -1, 1);
    for (let i = n; i < T * n; i++) if (i % 4 !== 0) data[i] = data[i - n]!;
    const frames = checkFrames(g, [T, ...inShape], data, 'video');
    const fn = await runFunctional(g, frames, T, { ...opts, keepOutputs: true });
    for (const workers of [1, 3, 5]) {
      const ch = await runChip(g, frames, T, { ...opts, chip, workers, keepOutputs: true });
      expect(Array.from(ch.outputs!), `${workers} workers`).toEqual(Array.from(fn.outputs!));
      expectSameWork(ch, fn);
    }
  };

  it('two 2×2 max pools in a row: partitions start at multiples of 4 rows (was: wrong counts from 3 workers)', async () => {
    // 3 channels × 8 columns: a 64-neuron core holds 2 full rows, which the first pool alone allows.
    const b = new GraphBuilder([1, 2, 16, 8], 'double-pool');
    const r = b.add(relu(), [b.add(convOp(mulberry32(32), { cin: 2, cout: 3, kh: 3, pads: [1, 1, 1, 1] }), [0], [1, 3, 16, 8])], [1, 3, 16, 8]);
    const p1 = b.add(maxPoolOp({ k: [2, 2], stride: [2, 2] }), [r], [1, 3, 8, 4]);
    const p2 = b.add(maxPoolOp({ k: [2, 2], stride: [2, 2] }), [p1], [1, 3, 4, 2]);
    b.add(relu(), [b.add(convOp(mulberry32(33), { cin: 3, cout: 2, kh: 1 }), [p2], [1, 2, 4, 2])], [1, 2, 4, 2]);
    await check(b.build(), [2, 16, 8], small());
  });

  it('chunk:2 keeps the channels of a chunk on one core, so any worker count agrees (was: 3 channels a core, chunks across actors)', async () => {
    // 20 columns: a 64-neuron core holds 3 channels of a row; chunk:2 cuts at 2.
    const b = new GraphBuilder([1, 2, 4, 20], 'chunked');
    const r = b.add(relu(), [b.add(convOp(mulberry32(38), { cin: 2, cout: 6, kh: 3, pads: [1, 1, 1, 1] }), [0], [1, 6, 4, 20])], [1, 6, 4, 20]);
    b.add(relu(), [b.add(convOp(mulberry32(39), { cin: 6, cout: 2, kh: 1 }), [r], [1, 2, 4, 20])], [1, 2, 4, 20]);
    const g = b.build();
    const T = 4;
    const data = randArray(mulberry32(40), T * 160, -1, 1);
    for (let i = 160; i < T * 160; i++) if (i % 4 !== 0) data[i] = data[i - 160]!;
    const frames = checkFrames(g, [T, 2, 4, 20], data, 'video');
    const o = { threshold: 0.05, policy: parsePolicy('chunk:2') };
    const fn = await runFunctional(g, frames, T, { ...o, keepOutputs: true });
    for (const workers of [1, 2, 5]) {
      const ch = await runChip(g, frames, T, { ...o, chip: small(), workers, keepOutputs: true });
      expect(Array.from(ch.outputs!), `${workers} workers`).toEqual(Array.from(fn.outputs!));
      ch.result.per_frame.forEach((f, i) => expect(f.transmissions).toBe(fn.result.per_frame[i]!.transmissions));
    }
  });

  it('chunk:2 on one layer and chunk:3 on the next: each layer cut at its own (was: both at 3, splitting the first layer\'s chunks)', async () => {
    const b = new GraphBuilder([1, 2, 4, 20], 'chunkmix');
    const r = b.add(relu(), [b.add(convOp(mulberry32(41), { cin: 2, cout: 8, kh: 3, pads: [1, 1, 1, 1] }), [0], [1, 8, 4, 20])], [1, 8, 4, 20], 'r1');
    const r2 = b.add(relu(), [b.add(convOp(mulberry32(42), { cin: 8, cout: 6, kh: 1 }), [r], [1, 6, 4, 20])], [1, 6, 4, 20], 'r2');
    b.add(convOp(mulberry32(47), { cin: 6, cout: 2, kh: 1 }), [r2], [1, 2, 4, 20]);
    const g = b.build();
    const T = 4;
    const frames = checkFrames(g, [T, 2, 4, 20], randArray(mulberry32(43), T * 160, -1, 1), 'video');
    const o = { threshold: 0.05, policy: parsePolicy('threshold'), layers: { r1: { policy: 'chunk:2' }, r2: { policy: 'chunk:3' } } };
    const fn = await runFunctional(g, frames, T, { ...o, keepOutputs: true });
    for (const workers of [1, 5]) {
      const ch = await runChip(g, frames, T, { ...o, chip: small(), workers, keepOutputs: true });
      expect(Array.from(ch.outputs!), `${workers} workers`).toEqual(Array.from(fn.outputs!));
      expectSameWork(ch, fn);
    }
  });

  it('chunk:2 on a gate after a Flatten, whose pairs would straddle cores, exits 2 naming the gate', async () => {
    const b = new GraphBuilder([1, 2, 4, 5], 'flatchunk');
    const c = b.add(convOp(mulberry32(44), { cin: 2, cout: 3, kh: 3, pads: [1, 1, 1, 1] }), [0], [1, 3, 4, 5]);
    const f = b.add({ kind: 'reshape', source: 'Flatten' }, [c], [1, 60]);
    b.add(denseOp(mulberry32(45), 1, 60, 2), [b.add(relu(), [f], [1, 60], 'flat')], [1, 2]);
    const g = b.build();
    const frames = checkFrames(g, [2, 2, 4, 5], randArray(mulberry32(46), 80, -1, 1), 'video');
    const o = { threshold: 0.05, policy: parsePolicy('chunk:2') };
    await expect(runChip(g, frames, 2, { ...o, chip: loihiWith('tiny16', { neurons: 16 }), workers: 1, inProcess: true })).rejects.toThrow(/gate '.*': its chunk:2 groups 2 entries along axis 1 of \[1, 60\], which on tiny16 lie on different cores/);
  });

  it('a MatMul on [1, 4, 6] → [1, 4, 5] maps as a 4 × 5 neuron grid (was: internal error)', async () => {
    const b = new GraphBuilder([1, 4, 6], 'matmul-3d');
    const d = b.add(relu(), [b.add(denseOp(mulberry32(34), 4, 6, 5), [0], [1, 4, 5])], [1, 4, 5]);
    b.add(relu(), [b.add(denseOp(mulberry32(35), 4, 5, 3), [d], [1, 4, 3])], [1, 4, 3]);
    await check(b.build(), [4, 6], loadChip('loihi'));
  });

  it('an output [2, 2] keeps its first dimension in the outputs ([T, 2, 2])', async () => {
    const b = new GraphBuilder([1, 6], 'out-2x2');
    const d = b.add(denseOp(mulberry32(36), 1, 6, 4), [0], [1, 4]);
    b.add({ kind: 'reshape', source: 'Reshape' }, [d], [2, 2]);
    const g = b.build();
    const frames = checkFrames(g, [3, 6], randArray(mulberry32(37), 18, -1, 1), 'video');
    expect((await runFunctional(g, frames, 3, { ...opts, keepOutputs: true })).outputShape).toEqual([3, 2, 2]);
  });
});

describe('a Flatten or Reshape between synapses and their accumulator', () => {
  // The neuron grid is the synaptic node's output; these crashed (conv) or counted only
  // the first row's synapses (Gemm → 4-D view) when it was taken from the reshape.
  const flat = { kind: 'reshape', source: 'Flatten' } as const;
  const cases: [string, () => GraphBuilder][] = [
    ['Conv → Flatten → Softmax', () => {
      const b = new GraphBuilder([1, 2, 6, 6], 'conv-flatten-softmax');
      const c = b.add(convOp(mulberry32(1), { cin: 2, cout: 3, kh: 3, pads: [1, 1, 1, 1] }), [0], [1, 3, 6, 6]);
      const f = b.add(flat, [c], [1, 108]);
      b.add(softmaxOp([1, 108], 1), [f], [1, 108]);
      return b;
    }],
    ['Conv → Flatten → Relu → Gemm', () => {
      const b = new GraphBuilder([1, 2, 6, 6], 'conv-flatten-relu');
      const c = b.add(convOp(mulberry32(2), { cin: 2, cout: 3, kh: 3, pads: [1, 1, 1, 1] }), [0], [1, 3, 6, 6]);
      const f = b.add(flat, [c], [1, 108]);
      const r = b.add(relu(), [f], [1, 108]);
      b.add(denseOp(mulberry32(3), 1, 108, 5), [r], [1, 5]);
      return b;
    }],
    ['Gemm → Reshape [1, 4, 4, 4] → Relu → MaxPool → Flatten → Gemm', () => {
      const b = new GraphBuilder([1, 8], 'gemm-view-pool');
      const d = b.add(denseOp(mulberry32(4), 1, 8, 64), [0], [1, 64]);
      const v = b.add({ kind: 'reshape', source: 'Reshape' }, [d], [1, 4, 4, 4]);
      const r = b.add(relu(), [v], [1, 4, 4, 4]);
      const p = b.add(maxPoolOp({ k: [2, 2], stride: [2, 2] }), [r], [1, 4, 2, 2]);
      const f = b.add(flat, [p], [1, 16]);
      b.add(denseOp(mulberry32(5), 1, 16, 3), [f], [1, 3]);
      return b;
    }],
  ];
  for (const [name, build] of cases) {
    it(name, async () => {
      const g = build().build();
      const n = g.tensors[0]!.size;
      const T = 5;
      const data = randArray(mulberry32(9), T * n, -1, 1);
      // Frames after the first change a third of the inputs a little.
      for (let t = 1; t < T; t++) for (let i = 0; i < n; i++) data[t * n + i] = i % 3 === t % 3 ? data[(t - 1) * n + i]! + 0.3 : data[(t - 1) * n + i]!;
      const frames = checkFrames(g, [T, ...g.tensors[0]!.shape.slice(1)], data, name);
      const fn = await runFunctional(g, frames, T, { ...opts, keepOutputs: true });
      const ch = await runChip(g, frames, T, { ...opts, chip: loadChip('loihi-fitted'), workers: 2, inProcess: true, keepOutputs: true });
      expect(Array.from(ch.outputs!)).toEqual(Array.from(fn.outputs!));
      expectSameWork(ch, fn);
    });
  }
});

describe('determinism across worker threads (residual CNN)', () => {
  it('outputs, counts, energy and latency are bit-identical for 1, 2 and 4 workers', async () => {
    const { g } = fixture('resnet_block');
    const v = syntheticVideo({ frames: 6, channels: 3, height: 16, width: 16, motion: 'minor', seed: 3 });
    const frames = checkFrames(g, v.shape, v.data, 'video');
    const runs = [];
    for (const workers of [1, 2, 4]) {
      runs.push(await runChip(g, frames, 6, { ...opts, chip: loadChip('loihi'), workers, keepOutputs: true }));
    }
    for (const r of runs.slice(1)) {
      expect(Array.from(r.outputs!)).toEqual(Array.from(runs[0]!.outputs!));
      expect(r.result.per_frame).toEqual(runs[0]!.result.per_frame);
      expect(r.result.totals).toEqual(runs[0]!.result.totals);
    }
    expect(runs[0]!.result.totals.energy_pj).toBeGreaterThan(0);
  });

  it('the same with more frames than 4 workers keep in flight and a flush every 3 frames', async () => {
    // 4 workers let up to 8 frames be begun at once; 12 frames fill that window, and a
    // flush (reset:3) then lands while earlier frames are still running.
    const { g } = fixture('resnet_block');
    const v = syntheticVideo({ frames: 12, channels: 3, height: 16, width: 16, motion: 'major', seed: 5 });
    const frames = checkFrames(g, v.shape, v.data, 'video');
    const o = { threshold: 0.05, policy: parsePolicy('threshold,reset:3') };
    const one = await runChip(g, frames, 12, { ...o, chip: loadChip('loihi'), workers: 1, inProcess: true, keepOutputs: true });
    // 8 workers split the input cores over two actors: a frame enters once both are done.
    for (const workers of [2, 4, 8]) {
      const r = await runChip(g, frames, 12, { ...o, chip: loadChip('loihi'), workers, keepOutputs: true });
      expect(r.result.frames).toBe(12);
      expect(Array.from(r.outputs!)).toEqual(Array.from(one.outputs!));
      expect(r.result.per_frame).toEqual(one.result.per_frame);
    }
    // The flushes happened: without them frames 0–2 are the same and frame 3 is not.
    const plain = await runChip(g, frames, 4, { ...opts, chip: loadChip('loihi'), workers: 1, inProcess: true });
    expect(plain.result.per_frame.slice(0, 3)).toEqual(one.result.per_frame.slice(0, 3));
    expect(plain.result.per_frame[3]!.synops).not.toBe(one.result.per_frame[3]!.synops);
  });
});

describe('frame period', () => {
  const withPeriod = (ns: number) => loihiWith(`loihi-p${ns}`, {}, { frame_period_ns: ns });

  it('frame k enters at k·frame_period_ns: a period longer than any frame leaves frames independent, on any worker count', async () => {
    const { g } = fixture('resnet_block');
    const v = syntheticVideo({ frames: 8, channels: 3, height: 16, width: 16, motion: 'major', seed: 9 });
    const frames = checkFrames(g, v.shape, v.data, 'video');
    const p = 10_000_000;
    const one = await runChip(g, frames, 8, { ...opts, chip: withPeriod(p), workers: 1, inProcess: true });
    const two = await runChip(g, frames, 8, { ...opts, chip: withPeriod(p), workers: 2 });
    const slower = await runChip(g, frames, 8, { ...opts, chip: withPeriod(2 * p), workers: 2 });
    expect(two.result.per_frame).toEqual(one.result.per_frame);
    // Each frame meets an idle chip, so doubling the period changes no frame's latency
    // (up to float rounding: times count from a later entry, below a picosecond here).
    const lat = one.result.per_frame.map((f) => f.latency_ns);
    slower.result.per_frame.forEach((f, k) => expect(Math.abs(f.latency_ns - lat[k]!)).toBeLessThan(1e-3));
    expect(Math.max(...lat)).toBeLessThan(p);
    // First frame in at 0, last frame (k = 7) in at 7·p and done lat[7] later.
    expect(Math.abs(one.result.totals.latency_ns - (7 * p + lat[7]!))).toBeLessThan(1e-3);
    expect(Math.abs(slower.result.totals.latency_ns - (7 * 2 * p + lat[7]!))).toBeLessThan(1e-3);
    // Without a period the frames queue behind each other: the run takes far less than 7·p.
    const free = await runChip(g, frames, 8, { ...opts, chip: loadChip('loihi'), workers: 2 });
    expect(free.result.totals.latency_ns).toBeLessThan(7 * p);
  });
});

describe('queue depth', () => {
  it('depth 1 gives the same outputs with more stall and a higher latency than depth 64', async () => {
    const { g, frames } = fixture('resnet_block');
    const base = loadChip('loihi');
    const shallow = loihiWith('loihi-q1', { queue_depth: 1 });
    const deep = await runChip(g, frames, frames.count, { ...opts, chip: base, workers: 2, inProcess: true, keepOutputs: true });
    const q1 = await runChip(g, frames, frames.count, { ...opts, chip: shallow, workers: 2, inProcess: true, keepOutputs: true });
    expect(Array.from(q1.outputs!)).toEqual(Array.from(deep.outputs!));
    expect(q1.result.totals.synops).toBe(deep.result.totals.synops);
    expect(q1.result.totals.messages).toBe(deep.result.totals.messages);
    expect(q1.result.totals.stall_ns).toBeGreaterThan(deep.result.totals.stall_ns);
    expect(q1.result.totals.latency_ns).toBeGreaterThan(deep.result.totals.latency_ns);
  });
});

describe('chip setups shared between runs', () => {
  it('a run on a cached setup (same model and chip, other threshold) equals one on a freshly mapped model', async () => {
    const { g, frames } = fixture('resnet_block_bn');
    const chip = loadChip('loihi');
    const run = (model: typeof g, threshold: number, c = chip) =>
      runChip(model, frames, frames.count, { threshold, policy: opts.policy, chip: c, workers: 2, inProcess: true, keepOutputs: true });
    await run(g, 0.05); // maps g on loihi
    const small = { ...chip, mesh: null, core: { ...chip.core, neurons: 64 } };
    expect((await run(g, 0.05, small)).setup).not.toBe((await run(g, 0.05)).setup); // another chip in between
    const cached = await run(g, 0.02); // the first mapping again
    expect(cached.setup).toBe((await run(g, 0.1)).setup);
    const fresh = await run(fixture('resnet_block_bn').g, 0.02); // a new graph object: mapped anew
    expect(fresh.setup).not.toBe(cached.setup);
    expect(Array.from(cached.outputs!)).toEqual(Array.from(fresh.outputs!));
    expect(cached.result.per_frame).toEqual(fresh.result.per_frame);
    expect(cached.result.totals).toEqual(fresh.result.totals);
  });
});
