/**
 * Operation accounting (DESIGN §4). Acceptance item 4: "MAC counts for a strided,
 * padded conv and a Gemm are checked against hand-derived numbers written in the
 * test." Also transmissions, adds, the gate/accumulator overhead convention and
 * memory, on networks small enough to count by hand; plus a second, output-centric
 * MAC count for random conv geometries.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, type FrameCounts } from '../../src/model/evnet/engine.js';
import { parsePolicy } from '../../src/model/evnet/policy.js';
import { simulate } from '../../src/simulate.js';
import type { ConvOp, Graph } from '../../src/model/ir.js';
import { GraphBuilder, convOp, denseOp, numelOf, relu } from '../helpers/graph.js';
import { naiveOutLen } from '../helpers/naive.js';
import { mulberry32, randArray, randInt } from '../helpers/rng.js';

const h0 = { threshold: 0, policy: parsePolicy('threshold') };

/** input [1,1,5,5] → conv 1→2, 3×3, stride 2, pads 1 → [1,2,3,3] (the network output). */
function stridedConv(): Graph {
  const b = new GraphBuilder([1, 1, 5, 5]);
  b.add(convOp(mulberry32(3), { cin: 1, cout: 2, kh: 3, stride: [2, 2], pads: [1, 1, 1, 1] }), [0], [1, 2, 3, 3]);
  return b.build();
}

// Reach along one axis (length 5, k 3, stride 2, pad 1 → 3 outputs): input i meets tap t
// at output o = (i + 1 − t)/2 when that is an integer in [0, 3):
//   i = 0: t=1 → o=0                    → 1
//   i = 1: t=0 → o=1, t=2 → o=0         → 2
//   i = 2: t=1 → o=1                    → 1
//   i = 3: t=0 → o=2, t=2 → o=1         → 2
//   i = 4: t=1 → o=2                    → 1
// An input (r, c) reaches REACH[r]·REACH[c] (output, tap) pairs per output channel.
const REACH = [1, 2, 1, 2, 1];
// Check from the other side: output o reads inputs 2o−1..2o+1, of which 2, 3, 2 exist →
// 7 pairs per axis, the same total as Σ REACH = 7.

describe('MACs of a stride-2, pad-1 conv (1→2 channels, 3×3, 5×5 → 3×3)', () => {
  it('frame 0 of all ones: 98 MACs (7·7 pairs × 2 channels); dense_macs 162 = 18 outputs × 9', () => {
    const e = createEngine(stridedConv(), h0);
    const fc = e.step(new Float32Array(25).fill(1));
    expect(REACH.reduce((a, b) => a + b, 0)).toBe(7);
    expect(fc.macs).toBe(7 * 7 * 2);
    expect(fc.denseMacs).toBe(2 * 3 * 3 * 9);
    // One gate (the input's): every nonzero value of the flush is sent once.
    expect(fc.transmissions).toBe(25);
    expect(fc.flush).toBe(true);
  });

  it('zero inputs cost nothing at frame 0: only (1,1) and (4,4) set → (2·2 + 1·1)·2 = 10 MACs', () => {
    const x = new Float32Array(25);
    x[1 * 5 + 1] = 0.5;
    x[4 * 5 + 4] = -2;
    const fc = createEngine(stridedConv(), h0).step(x);
    expect(fc.macs).toBe(10);
    expect(fc.transmissions).toBe(2);
    expect(fc.denseMacs).toBe(162);
  });

  it('frame 1 with exactly one changed element costs that element’s reach × 2', () => {
    // Named cases first: corner (0,0) 1·1·2 = 2; centre (2,2) 1·1·2 = 2; (1,1) 2·2·2 = 8;
    // (1,2) 2·1·2 = 4; (4,3) 1·2·2 = 4. Then every position from the REACH table.
    const named: [number, number, number][] = [[0, 0, 2], [2, 2, 2], [1, 1, 8], [1, 2, 4], [4, 3, 4]];
    const all: [number, number, number][] = [];
    for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) all.push([r, c, REACH[r]! * REACH[c]! * 2]);
    for (const [r, c, macs] of [...named, ...all]) {
      const e = createEngine(stridedConv(), h0);
      const x = new Float32Array(25).fill(1);
      e.step(x);
      x[r * 5 + c] = 2;
      const fc = e.step(x);
      expect(fc.flush).toBe(false);
      expect(fc.transmissions, `(${r},${c})`).toBe(1);
      expect(fc.macs, `(${r},${c})`).toBe(macs);
      expect(fc.denseMacs).toBe(162);
      // Nothing changed: nothing sent, nothing computed.
      const idle = e.step(x);
      expect([idle.macs, idle.transmissions, idle.gateUpdates, idle.accUpdates]).toEqual([0, 0, 0, 0]);
    }
  });
});

/**
 * MACs counted from the output side: every (output, weight) pair whose input element is
 * in range and nonzero — a different loop from the input-side reach the kernels use.
 */
function outputCentricMacs(op: ConvOp, inShape: number[], x: Float32Array): number {
  const [, , H, W] = inShape as [number, number, number, number];
  const OH = naiveOutLen(H, op.kh, op.strideH, op.padT, op.padB, op.dilH);
  const OW = naiveOutLen(W, op.kw, op.strideW, op.padL, op.padR, op.dilW);
  const cinG = op.cin / op.group;
  const coutG = op.cout / op.group;
  let macs = 0;
  for (let co = 0; co < op.cout; co++) {
    const g = Math.floor(co / coutG);
    for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      for (let cl = 0; cl < cinG; cl++) for (let ky = 0; ky < op.kh; ky++) for (let kx = 0; kx < op.kw; kx++) {
        const iy = oy * op.strideH - op.padT + ky * op.dilH;
        const ix = ox * op.strideW - op.padL + kx * op.dilW;
        if (iy >= 0 && iy < H && ix >= 0 && ix < W && x[((g * cinG + cl) * H + iy) * W + ix] !== 0) macs++;
      }
    }
  }
  return macs;
}

describe('conv MACs equal an output-centric count on random geometries', () => {
  it('30 seeded geometries (stride, asymmetric pads, dilation, groups), sparse inputs, frame 0 and frame 1', () => {
    const rng = mulberry32(4242);
    for (let trial = 0; trial < 30; trial++) {
      const group = [1, 1, 2, 3][randInt(rng, 0, 3)]!;
      const cin = group * randInt(rng, 1, 2);
      const cout = group * randInt(rng, 1, 3);
      const kh = randInt(rng, 1, 4);
      const kw = randInt(rng, 1, 4);
      const pads: [number, number, number, number] = [randInt(rng, 0, 2), randInt(rng, 0, 2), randInt(rng, 0, 2), randInt(rng, 0, 2)];
      const stride: [number, number] = [randInt(rng, 1, 3), randInt(rng, 1, 3)];
      const dil: [number, number] = [randInt(rng, 1, 2), randInt(rng, 1, 2)];
      const H = randInt(rng, (kh - 1) * dil[0] + 1, 9);
      const W = randInt(rng, (kw - 1) * dil[1] + 1, 9);
      const op = convOp(rng, { cin, cout, kh, kw, pads, stride, dil, group });
      const inShape = [1, cin, H, W];
      const OH = naiveOutLen(H, kh, stride[0], pads[0], pads[2], dil[0]);
      const OW = naiveOutLen(W, kw, stride[1], pads[1], pads[3], dil[1]);
      const b = new GraphBuilder(inShape);
      b.add(op, [0], [1, cout, OH, OW]);
      const e = createEngine(b.build(), h0);
      const n = numelOf(inShape);
      const x = randArray(rng, n);
      for (let i = 0; i < n; i++) if (rng() < 0.5) x[i] = 0;
      const fc0 = e.step(x);
      const where = `trial ${trial}: ${JSON.stringify({ cin, cout, kh, kw, pads, stride, dil, group, H, W })}`;
      expect(fc0.macs, where).toBe(outputCentricMacs(op, inShape, x));
      expect(fc0.denseMacs, where).toBe(cout * OH * OW * (cin / group) * kh * kw);
      // Frame 1: the delta is nonzero exactly where the input changed.
      const x1 = Float32Array.from(x);
      const delta = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        if (rng() < 0.3) {
          x1[i] = x[i]! + 1;
          delta[i] = 1;
        }
      }
      expect(e.step(x1).macs, where).toBe(outputCentricMacs(op, inShape, delta));
    }
  });
});

describe('conv MACs across the sparse kernel’s row tiles', () => {
  // Outputs of ow × cout beyond ~32 Ki floats per row are scattered in several row tiles;
  // an input whose window straddles a tile boundary must still be counted exactly once.
  const geoms: [string, number[], Parameters<typeof convOp>[1]][] = [
    ['2 → 64, 24×24, pad 1', [1, 2, 24, 24], { cin: 2, cout: 64, kh: 3, pads: [1, 1, 1, 1] }],
    ['4 → 64 group 4, 24×24, pad 1', [1, 4, 24, 24], { cin: 4, cout: 64, kh: 3, group: 4, pads: [1, 1, 1, 1] }],
    ['1 → 512, 6×70 (one row per tile), 5×3 kernel', [1, 1, 6, 70], { cin: 1, cout: 512, kh: 5, kw: 3, pads: [2, 1, 2, 1] }],
  ];
  it.each(geoms)('%s', (_n, inShape, spec) => {
    const rng = mulberry32(77);
    const op = convOp(rng, spec);
    const [, , H, W] = inShape as [number, number, number, number];
    const b = new GraphBuilder(inShape);
    b.add(op, [0], [1, op.cout, naiveOutLen(H, op.kh, 1, op.padT, op.padB), naiveOutLen(W, op.kw, 1, op.padL, op.padR)]);
    const x = randArray(rng, numelOf(inShape));
    for (let i = 0; i < x.length; i++) if (rng() < 0.6) x[i] = 0;
    expect(createEngine(b.build(), h0).step(x).macs).toBe(outputCentricMacs(op, inShape, x));
  });
});

describe('MACs of a Gemm 4 → 3', () => {
  function gemm(): Graph {
    const b = new GraphBuilder([1, 4]);
    b.add(denseOp(mulberry32(5), 1, 4, 3), [0], [1, 3]);
    return b.build();
  }

  it('each nonzero input element costs 3 MACs (one per output); zeros cost nothing', () => {
    const e = createEngine(gemm(), h0);
    const frames: [number[], number, number][] = [
      [[1, 0, 2, 0], 2 * 3, 2], // frame 0: 2 nonzero inputs → 6 MACs, 2 sent
      [[1, 5, 2, 0], 1 * 3, 1], // element 1: 0 → 5
      [[1, 5, 2, 0], 0, 0], // no change
      [[0, 5, 2, 0], 1 * 3, 1], // element 0: 1 → 0 is a change of −1, still one delta
      [[0, 5, -2, 7], 2 * 3, 2],
    ];
    for (const [x, macs, tx] of frames) {
      const fc = e.step(Float32Array.from(x));
      expect(fc.macs).toBe(macs);
      expect(fc.transmissions).toBe(tx);
      expect(fc.denseMacs).toBe(4 * 3);
    }
  });

  it('M = 3 rows (MatMul [1,3,5] × [5,4]): each nonzero element reaches the 4 outputs of its row', () => {
    const b = new GraphBuilder([1, 3, 5]);
    b.add(denseOp(mulberry32(6), 3, 5, 4), [0], [1, 3, 4]);
    const x = new Float32Array(15);
    x[0] = 1; // row 0
    x[7] = 2; // row 1
    x[14] = -1; // row 2
    x[13] = 3; // row 2
    const fc = createEngine(b.build(), h0).step(x);
    expect(fc.macs).toBe(4 * 4);
    expect(fc.denseMacs).toBe(3 * 4 * 5); // 12 outputs × fan-in 5
  });
});

describe('adds: other linear nodes, per nonzero input element', () => {
  it('affine then Add of two delta streams', () => {
    // input [1,4] → affine (×2) → add(affine, input). Frame 0, x = [1, 0, 3, 0]:
    // affine 2 adds (2 nonzero inputs), add 2 + 2 = 4 → 6, no MACs. Frame 1 changes one
    // element: affine 1, add 1 + 1 → 3.
    const b = new GraphBuilder([1, 4]);
    const a = b.add({ kind: 'affine', scale: new Float32Array(4).fill(2), shift: new Float32Array(4), bnGamma: null, source: 'Mul' }, [0], [1, 4]);
    b.add({ kind: 'add', sign: 1 }, [a, 0], [1, 4]);
    const e = createEngine(b.build(), h0);
    const f0 = e.step(Float32Array.of(1, 0, 3, 0));
    expect([f0.adds, f0.macs, f0.denseMacs]).toEqual([6, 0, 0]);
    expect(Array.from(e.output)).toEqual([3, 0, 9, 0]);
    const f1 = e.step(Float32Array.of(1, 4, 3, 0));
    expect(f1.adds).toBe(3);
    expect(Array.from(e.output)).toEqual([3, 12, 9, 0]);
  });
});

describe('adds: data-movement linear nodes count too (DESIGN §4)', () => {
  it('Flatten and Concat cost one add per nonzero input element', () => {
    // input [1,2,1,2] → Flatten [1,4] → Concat(flat, flat) on axis 1 → [1,8].
    // Frame 0, x = [1, 0, 2, 0]: Flatten 2, Concat 2 + 2 = 4 → 6 adds.
    // Frame 1 changes one element: Flatten 1, Concat 1 + 1 → 3.
    const b = new GraphBuilder([1, 2, 1, 2]);
    const f = b.add({ kind: 'reshape', source: 'Flatten' }, [0], [1, 4]);
    b.add({ kind: 'concat', axis: 1 }, [f, f], [1, 8]);
    const e = createEngine(b.build(), h0);
    expect(e.step(Float32Array.of(1, 0, 2, 0)).adds).toBe(6);
    expect(Array.from(e.output)).toEqual([1, 0, 2, 0, 1, 0, 2, 0]);
    expect(e.step(Float32Array.of(1, 5, 2, 0)).adds).toBe(3);
  });
});

describe('overhead and memory of a tiny MLP: [1,4] → 3 → relu → 2', () => {
  // W1 ([k][n]): k0 [1, −1, 2], k1 [3, 1, −1], k2 [0, 1, −1], k3 [1, 1, 1]; bias1 = 0 (present).
  // W2: k0 [1, 2], k1 [−1, 1], k2 [2, 0]; no bias2.
  // Gates: the input (4) and relu's output (3, read by dense 2). Accumulators: dense 1's
  // output (3, read by relu) and dense 2's output (2, the network output).
  function mlp(): Graph {
    const b = new GraphBuilder([1, 4]);
    const d1 = denseOp(mulberry32(7), 1, 4, 3);
    d1.weight.set([1, -1, 2, 3, 1, -1, 0, 1, -1, 1, 1, 1]);
    d1.bias!.fill(0);
    const d2 = denseOp(mulberry32(8), 1, 3, 2, false, false);
    d2.weight.set([1, 2, -1, 1, 2, 0]);
    const t1 = b.add(d1, [0], [1, 3], 'fc1');
    const r = b.add(relu(), [t1], [1, 3], 'relu');
    b.add(d2, [r], [1, 2], 'fc2');
    return b.build();
  }
  const totals = (fc: FrameCounts) => ({
    macs: fc.macs, transmissions: fc.transmissions, gateUpdates: fc.gateUpdates, accUpdates: fc.accUpdates,
    overheadAdds: fc.overheadAdds, overheadCompares: fc.overheadCompares, overheadLoadStore: fc.overheadLoadStore,
  });

  it('frame 0 (flush) and two later frames, counted by hand', () => {
    const e = createEngine(mlp(), h0);
    // Frame 0: x = [1, 0, 2, 0]. fc1 = 1·k0 + 2·k2 = [1, 1, 0]; relu = [1, 1, 0];
    // fc2 = 1·[1, 2] + 1·[−1, 1] = [0, 3].
    // macs: fc1 2 nonzero × 3 + fc2 2 nonzero × 2 = 10. Transmissions 2 + 2 = 4.
    // A flush updates every gate neuron (4 + 3 = 7) and every accumulator (3 + 2 = 5).
    // adds = 5 + 2·7 + 4 = 23; compares = 7; load/store = 2·5 + 4·7 + 2·4 = 46.
    const f0 = e.step(Float32Array.of(1, 0, 2, 0));
    expect(Array.from(e.output)).toEqual([0, 3]);
    expect(totals(f0)).toEqual({ macs: 10, transmissions: 4, gateUpdates: 7, accUpdates: 5, overheadAdds: 23, overheadCompares: 7, overheadLoadStore: 46 });
    expect(f0.denseMacs).toBe(4 * 3 + 3 * 2);

    // Frame 1: x = [1, 1, 2, 0]. Input gate: 1 update, sends 1 → fc1 3 MACs, delta k1 =
    // [3, 1, −1], 3 accumulator updates → fc1 = [4, 2, −1], relu = [4, 2, 0]: positions 0
    // and 1 changed → relu gate 2 updates, sends [3, 1] → fc2 2 × 2 = 4 MACs, delta
    // 3·[1, 2] + 1·[−1, 1] = [2, 7], 2 accumulator updates → output [2, 10].
    // gateUpdates 1 + 2 = 3, transmissions 1 + 2 = 3, accUpdates 3 + 2 = 5, macs 7.
    // adds = 5 + 2·3 + 3 = 14; compares = 3; load/store = 2·5 + 4·3 + 2·3 = 28.
    const f1 = e.step(Float32Array.of(1, 1, 2, 0));
    expect(Array.from(e.output)).toEqual([2, 10]);
    expect(totals(f1)).toEqual({ macs: 7, transmissions: 3, gateUpdates: 3, accUpdates: 5, overheadAdds: 14, overheadCompares: 3, overheadLoadStore: 28 });

    // Frame 2: x = [1, 1, 2, 0.5]. Input gate 1 update, sends 0.5 → fc1 delta 0.5·k3 =
    // [0.5, 0.5, 0.5] (3 MACs, 3 acc updates) → fc1 = [4.5, 2.5, −0.5], relu = [4.5, 2.5, 0]:
    // 2 changed → 2 sends → 4 MACs, delta 0.5·[1, 2] + 0.5·[−1, 1] = [0, 1.5] → the exact
    // zero is not an update: 1 accumulator update → output [2, 11.5].
    // gateUpdates 3, transmissions 3, accUpdates 3 + 1 = 4, macs 7.
    // adds = 4 + 6 + 3 = 13; compares 3; load/store = 8 + 12 + 6 = 26.
    const f2 = e.step(Float32Array.of(1, 1, 2, 0.5));
    expect(Array.from(e.output)).toEqual([2, 11.5]);
    expect(totals(f2)).toEqual({ macs: 7, transmissions: 3, gateUpdates: 3, accUpdates: 4, overheadAdds: 13, overheadCompares: 3, overheadLoadStore: 26 });

    // Per-layer counts of the last frame: fc1 did 3 MACs, fc2 4.
    const macsOf = (name: string) => e.counts.macs[e.layers.find((l) => l.kind === 'node' && l.name === name)!.id];
    expect([macsOf('fc1'), macsOf('fc2')]).toEqual([3, 4]);
  });

  it("a run's totals (what run --json prints) sum the three frames' hand counts, on ideal and on a chip", async () => {
    // 23 + 14 + 13 adds, 7 + 3 + 3 compares, 46 + 28 + 26 loads/stores; 10 + 7 + 7 MACs.
    const frames = { shape: [3, 4], data: Float32Array.of(1, 0, 2, 0, 1, 1, 2, 0, 1, 1, 2, 0.5) };
    for (const chip of ['ideal', 'loihi']) {
      const r = await simulate({ model: mlp(), frames, threshold: 0, chip, workers: 1 });
      const t = r.totals;
      expect([t.macs, t.overhead_adds, t.overhead_compares, t.overhead_load_store]).toEqual([24, 50, 13, 100]);
    }
  });

  it('memory: weights 4·(12 + 3) + 4·6 = 84 bytes; state 4·((3 + 2) + 2·(4 + 3)) = 76 bytes', () => {
    const e = createEngine(mlp(), h0);
    expect(e.memory()).toEqual({ weightBytes: 84, stateBytes: 76 });
    const gates = e.layers.filter((l) => l.kind === 'gate');
    const accs = e.layers.filter((l) => l.kind === 'acc');
    expect(gates.map((l) => l.shape)).toEqual([[1, 4], [1, 3]]);
    expect(accs.map((l) => l.shape)).toEqual([[1, 3], [1, 2]]);
  });
});
