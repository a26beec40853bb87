/**
 * The EvNet gate and the transmission policies of DESIGN §3: the EvNet authors'
 * unit-test vector, error retention |d| ≤ h as a property, memory loss, Sigma-Delta
 * rounding (half to even), chunked firing and network-wide reset:N. Expected values
 * are derived by hand in the comments, with float32 rounding made explicit
 * (Math.fround) where it matters.
 */
import { describe, expect, it } from 'vitest';
import { DenseExecutor } from '../../src/model/dense/executor.js';
import { createEngine, type EvnetEngine } from '../../src/model/evnet/engine.js';
import { Gate } from '../../src/model/evnet/gate.js';
import { parsePolicy, roundHalfEven, type Policy } from '../../src/model/evnet/policy.js';
import { DeltaList, IndexList } from '../../src/model/evnet/sparse.js';
import type { Graph } from '../../src/model/ir.js';
import { GraphBuilder, convOp, denseOp, relu, unary } from '../helpers/graph.js';
import { maxAbs, maxAbsDiff, naiveOutLen } from '../helpers/naive.js';
import { mulberry32, randInt, randomVideo, uniform, type Rng } from '../helpers/rng.js';

const f = Math.fround;
const THRESHOLD: Policy = { mode: 'threshold', memoryLoss: false, chunk: 1 };

function gate(size: number, h: number, policy: Policy = THRESHOLD, geo = { channels: size, inner: 1 }): Gate {
  return new Gate(size, new Float32Array(size).fill(h), policy, geo);
}

function indexList(size: number, idx: number[]): IndexList {
  const l = new IndexList(size);
  for (const i of idx) l.push(i);
  return l;
}

/** A DeltaList as a plain {index: value} record. */
function sent(out: DeltaList): Record<number, number> {
  const r: Record<number, number> = {};
  for (let e = 0; e < out.n; e++) r[out.idx[e]!] = out.val[e]!;
  return r;
}

/** input [1,1] → dense 1→1 with weight 1 and no bias: the output is what the input gate sent, summed. */
function identityNet(): Graph {
  const b = new GraphBuilder([1, 1]);
  const op = denseOp(mulberry32(1), 1, 1, 1, false, false);
  op.weight[0] = 1;
  b.add(op, [0], [1, 1]);
  return b.build();
}

describe("the EvNet authors' gate vector (DESIGN §3), h = 0.2, b starts at 0, no flush", () => {
  // Flat layout of the 2×3 tensor: (r, c) → 3r + c.
  const g = gate(6, 0.2);
  const out = new DeltaList(6);

  it('step 1: only (0,0), (0,1), (1,0), (1,1) updated → sends {(0,0): 1, (1,1): 5}', () => {
    const x = Float32Array.from([1, 0, 3, 0.1, 5, 6]);
    g.run(x, indexList(6, [0, 1, 3, 4]), out);
    // pos 0: c = 1 − 0 = 1, d = 1 > 0.2 → send 1, d = 0.
    // pos 1: c = 0, d = 0 → nothing.
    // pos 3: c = f(0.1), d = f(0.1) ≤ 0.2 → retained.
    // pos 4: c = 5 → send 5. Positions 2 and 5 (values 3 and 6) are not visited.
    expect(sent(out)).toEqual({ 0: 1, 4: 5 });
    expect(Array.from(g.d)).toEqual([0, 0, 0, f(0.1), 0, 0]);
    expect(Array.from(g.b)).toEqual([1, 0, 0, f(0.1), 5, 0]);
    expect(g.updates).toBe(4);
    expect(g.transmissions).toBe(2);
  });

  it('step 2: (0,0) and row 1 updated → sends row 1 = [1, 2, 3]; the 0.1 at (0,0) stays', () => {
    const x = Float32Array.from([1.1, 5, 6, 1, 7, 3]);
    g.run(x, indexList(6, [0, 3, 4, 5]), out);
    // pos 0: c = f(f(1.1) − 1) = 0.100000024 ≤ 0.2 → retained, nothing sent.
    // pos 3: c = f(1 − f(0.1)) = 0.89999998; d = f(f(0.1) + 0.89999998) = f(0.99999998) = 1
    //        (the 0.1 left from step 1 is released with this step's 0.9) → send 1.
    // pos 4: c = 7 − 5 = 2 → send 2.   pos 5: b is still 0 (not visited in step 1): c = 3 → send 3.
    expect(f(f(0.1) + f(1 - f(0.1)))).toBe(1); // the rounding claimed above
    expect(sent(out)).toEqual({ 3: 1, 4: 2, 5: 3 });
    expect(g.d[0]).toBe(f(f(1.1) - 1));
    expect(g.d[0]).toBeCloseTo(0.1, 6);
    expect(Array.from(g.d.subarray(1))).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(g.b)).toEqual([f(1.1), 0, 0, 1, 7, 3]);
    expect(g.transmissions).toBe(3);
  });
});

describe('gate invariants on random sequences', () => {
  it('Σ sent + d = x, b = x, every send has |p| > h, every remainder |d| ≤ h', () => {
    const rng = mulberry32(11);
    for (let trial = 0; trial < 10; trial++) {
      const n = randInt(rng, 5, 40);
      const h = new Float32Array(n);
      for (let i = 0; i < n; i++) h[i] = uniform(rng, 0.01, 0.5);
      const g = new Gate(n, h, THRESHOLD, { channels: n, inner: 1 });
      const video = randomVideo(rng, n, 12, 0.4);
      const out = new DeltaList(n);
      const received = new Float64Array(n);
      g.flush(video[0]!, out);
      // The flush sends the full value of every nonzero input.
      expect(out.n).toBe(video[0]!.filter((v) => v !== 0).length);
      for (let e = 0; e < out.n; e++) received[out.idx[e]!] += out.val[e]!;
      for (let t = 1; t < video.length; t++) {
        const x = video[t]!;
        const changed: number[] = [];
        for (let i = 0; i < n; i++) if (x[i] !== video[t - 1]![i]) changed.push(i);
        g.run(x, indexList(n, changed), out);
        for (let e = 0; e < out.n; e++) {
          expect(Math.abs(out.val[e]!)).toBeGreaterThan(h[out.idx[e]!]!);
          if (e > 0) expect(out.idx[e]!).toBeGreaterThan(out.idx[e - 1]!); // ascending source order
          received[out.idx[e]!] += out.val[e]!;
        }
        for (let i = 0; i < n; i++) {
          expect(Math.abs(g.d[i]!)).toBeLessThanOrEqual(h[i]!);
          expect(g.b[i]).toBe(x[i]);
          expect(Math.abs(received[i]! + g.d[i]! - x[i]!)).toBeLessThanOrEqual(1e-5);
        }
      }
    }
  });
});

/** A random small conv net or MLP (seeded), for the engine-level properties. */
function randomNet(rng: Rng, conv: boolean): Graph {
  if (conv) {
    const c0 = randInt(rng, 1, 3);
    const hw = randInt(rng, 4, 7);
    const b = new GraphBuilder([1, c0, hw, hw]);
    const c1 = randInt(rng, 2, 4);
    const k = randInt(rng, 1, 3);
    const s = randInt(rng, 1, 2);
    const p = k > 1 ? 1 : 0;
    const op = convOp(rng, { cin: c0, cout: c1, kh: k, stride: [s, s], pads: [p, p, p, p] }, 1);
    const o = naiveOutLen(hw, k, s, p, p);
    const y = b.add(relu(), [b.add(op, [0], [1, c1, o, o])], [1, c1, o, o]);
    const op2 = convOp(rng, { cin: c1, cout: 2, kh: 1 }, 1);
    const z = b.add(unary('tanh'), [b.add(op2, [y], [1, 2, o, o])], [1, 2, o, o]);
    const fl = b.add({ kind: 'reshape', source: 'Flatten' }, [z], [1, 2 * o * o]);
    b.add(denseOp(rng, 1, 2 * o * o, 3), [fl], [1, 3]);
    return b.build();
  }
  const k = randInt(rng, 4, 16);
  const hdim = randInt(rng, 3, 10);
  const b = new GraphBuilder([1, k]);
  const d1 = b.add(denseOp(rng, 1, k, hdim), [0], [1, hdim]);
  const r = b.add(relu(), [d1], [1, hdim]);
  b.add(denseOp(rng, 1, hdim, 4), [r], [1, 4]);
  return b.build();
}

function expectRetention(engine: EvnetEngine, where: string): void {
  expect(engine.retentionExcess(), where).toBeLessThanOrEqual(0);
  for (const [gi, g] of engine.gates.entries()) {
    for (let i = 0; i < g.d.length; i++) {
      if (!(Math.abs(g.d[i]!) <= g.h[i]!)) expect.fail(`${where}: gate ${gi} neuron ${i}: |d| = ${Math.abs(g.d[i]!)} > h = ${g.h[i]}`);
    }
  }
}

describe('error retention: after every frame every gate neuron has |d| ≤ h', () => {
  it('20 seeded random videos on random conv nets and MLPs, h ∈ [0.01, 0.5]', () => {
    let heldSomething = 0;
    for (let trial = 0; trial < 20; trial++) {
      const rng = mulberry32(500 + trial);
      const g = randomNet(rng, trial % 2 === 0);
      const h = uniform(rng, 0.01, 0.5);
      const engine = createEngine(g, { threshold: h, policy: parsePolicy('threshold') });
      // The global threshold reaches every gate neuron, as float32.
      for (const gt of engine.gates) for (const v of gt.h) expect(v).toBe(f(h));
      const video = randomVideo(rng, g.tensors[0]!.size, 10, 0.3);
      video.forEach((x, t) => {
        engine.step(x);
        expectRetention(engine, `trial ${trial} frame ${t}`);
        for (const gt of engine.gates) for (const v of gt.d) if (v !== 0) heldSomething++;
      });
    }
    // Not vacuous: gates did hold sub-threshold changes.
    expect(heldSomething).toBeGreaterThan(100);
  });
});

describe('h > 0: the engine follows the gate rule through a whole network', () => {
  /**
   * An independent EvNet of an MLP x → fc1 → relu → fc2, written from DESIGN §3: float32
   * gate state (b, d), the flush at frame 0, accumulators a += W·p over what the gates
   * sent. Accumulators are float64 here, so the engine's float32 sums match only to a
   * tolerance.
   */
  function referenceMlp(w1: Float32Array, b1: Float32Array, w2: Float32Array, b2: Float32Array, k: number, hd: number, n: number, h: number, video: Float32Array[]): Float64Array[] {
    const hf = f(h);
    const gb = [new Float32Array(k), new Float32Array(hd)];
    const gd = [new Float32Array(k), new Float32Array(hd)];
    const a1 = new Float64Array(hd);
    const a2 = new Float64Array(n);
    const r = new Float32Array(hd);
    const outs: Float64Array[] = [];
    /** The gate rule on one tensor; returns the sent (index, value) pairs. */
    const gateStep = (g: number, x: Float32Array, flush: boolean): [number, number][] => {
      const sentNow: [number, number][] = [];
      for (let i = 0; i < x.length; i++) {
        if (flush) {
          gb[g]![i] = x[i]!;
          gd[g]![i] = 0;
          if (x[i] !== 0) sentNow.push([i, x[i]!]);
          continue;
        }
        if (x[i] === gb[g]![i]) continue;
        gd[g]![i] = f(gd[g]![i]! + f(x[i]! - gb[g]![i]!));
        gb[g]![i] = x[i]!;
        if (Math.abs(gd[g]![i]!) > hf) {
          sentNow.push([i, gd[g]![i]!]);
          gd[g]![i] = 0;
        }
      }
      return sentNow;
    };
    video.forEach((x, t) => {
      const flush = t === 0;
      if (flush) {
        a1.set(b1);
        a2.set(b2);
      }
      for (const [i, v] of gateStep(0, x, flush)) for (let j = 0; j < hd; j++) a1[j] += w1[i * hd + j]! * v;
      for (let j = 0; j < hd; j++) r[j] = Math.max(0, a1[j]!);
      for (const [i, v] of gateStep(1, r, flush)) for (let j = 0; j < n; j++) a2[j] += w2[i * n + j]! * v;
      outs.push(Float64Array.from(a2));
    });
    return outs;
  }

  it('an MLP at h = 0.1 matches the reference at every frame, and differs from dense', () => {
    for (let trial = 0; trial < 5; trial++) {
      const rng = mulberry32(70 + trial);
      const [k, hd, n] = [randInt(rng, 6, 20), randInt(rng, 4, 12), 3];
      const b = new GraphBuilder([1, k]);
      const fc1 = denseOp(rng, 1, k, hd);
      const fc2 = denseOp(rng, 1, hd, n);
      const r = b.add(relu(), [b.add(fc1, [0], [1, hd])], [1, hd]);
      b.add(fc2, [r], [1, n]);
      const g = b.build();
      // A slowly drifting input: small changes that gates hold back and release later.
      const video: Float32Array[] = [Float32Array.from({ length: k }, () => uniform(rng, -1, 1))];
      for (let t = 1; t < 12; t++) video.push(video[t - 1]!.map((v) => (rng() < 0.5 ? v + uniform(rng, -0.12, 0.12) : v)));
      const ref = referenceMlp(fc1.weight, fc1.bias!, fc2.weight, fc2.bias!, k, hd, n, 0.1, video);
      const engine = createEngine(g, { threshold: 0.1, policy: parsePolicy('threshold') });
      const dense = new DenseExecutor(g);
      let offDense = 0;
      video.forEach((x, t) => {
        engine.step(x);
        expect(maxAbsDiff(engine.output, ref[t]!), `trial ${trial} frame ${t}`).toBeLessThanOrEqual(1e-5);
        offDense = Math.max(offDense, maxAbsDiff(engine.output, Float32Array.from(dense.run(x))));
      });
      expect(offDense, 'h > 0 changes the output').toBeGreaterThan(1e-3);
    }
  });
});

describe('memory loss (Skip-Conv): d = 0 after every frame', () => {
  it('on random nets every d is 0 after every frame', () => {
    for (let trial = 0; trial < 6; trial++) {
      const rng = mulberry32(900 + trial);
      const g = randomNet(rng, trial % 2 === 0);
      const engine = createEngine(g, { threshold: uniform(rng, 0.05, 0.3), policy: parsePolicy('memory-loss') });
      randomVideo(rng, g.tensors[0]!.size, 8, 0.3).forEach((x, t) => {
        engine.step(x);
        for (const gt of engine.gates) expect(maxAbs(gt.d), `trial ${trial} frame ${t}`).toBe(0);
      });
    }
  });

  it('a slow ramp x_t = 0.01·t with h = 0.05 never transmits under memory loss but does under threshold', () => {
    // x_t = f(0.01·t). For t ≥ 2, x_{t−1} ≥ x_t / 2, so c = x_t − x_{t−1} is exact in
    // float32 (Sterbenz) and d telescopes exactly: under threshold, d_t = x_t − x_0 = x_t.
    // d_5 = f(0.05) = h, not > h (strict) → held; d_6 = f(0.06) > h → send f(0.06), d = 0.
    // Then d_t = x_t − x_6 ≈ 0.01·(t − 6) ≤ 0.04 < h through t = 10: nothing more.
    // Under memory loss d is reset every frame and each step's c ≈ 0.01 < h: nothing, ever.
    // Frame 0 is the flush of x_0 = 0, which sends nothing either.
    const xs = Array.from({ length: 11 }, (_, t) => Float32Array.of(0.01 * t));
    expect(xs[5]![0]).toBe(f(0.05));
    const run = (policy: string) => {
      const e = createEngine(identityNet(), { threshold: 0.05, policy: parsePolicy(policy) });
      return xs.map((x) => {
        const fc = e.step(x);
        return { tx: fc.transmissions, y: e.output[0]!, d: e.gates[0]!.d[0]! };
      });
    };
    const loss = run('memory-loss');
    expect(loss.map((r) => r.tx)).toEqual(new Array(11).fill(0));
    expect(loss.map((r) => r.y)).toEqual(new Array(11).fill(0));
    expect(loss.map((r) => r.d)).toEqual(new Array(11).fill(0));

    const thr = run('threshold');
    expect(thr.map((r) => r.tx)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(thr.map((r) => r.y)).toEqual([0, 0, 0, 0, 0, 0, f(0.06), f(0.06), f(0.06), f(0.06), f(0.06)]);
    expect(thr.slice(0, 6).map((r) => r.d)).toEqual(xs.slice(0, 6).map((x) => x[0]));
    expect(thr[6]!.d).toBe(0);
    expect(thr[10]!.d).toBeCloseTo(0.04, 6);
  });
});

describe('rounding (Sigma-Delta), h = 0.5 so k = 2', () => {
  it('roundHalfEven: ties go to the even neighbour', () => {
    expect(roundHalfEven(0.5)).toBe(0);
    expect(roundHalfEven(-0.5) + 0).toBe(0); // −0 is fine
    expect(roundHalfEven(1.5)).toBe(2);
    expect(roundHalfEven(-1.5)).toBe(-2);
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(-2.5)).toBe(-2);
    expect(roundHalfEven(3.5)).toBe(4);
    expect(roundHalfEven(-3.5)).toBe(-4);
    // Not ties: ordinary rounding.
    expect(roundHalfEven(2.4999999)).toBe(2);
    expect(roundHalfEven(2.5000001)).toBe(3);
    expect(roundHalfEven(-1.6)).toBe(-2);
    expect(roundHalfEven(0.49999999999999994)).toBe(0);
    expect(roundHalfEven(7)).toBe(7);
  });

  // x:        0.3 (flush)  0.6   1.25   1.75   0.25   −0.75   −1.25
  // round(2x):  —          1     2.5→2  3.5→4  0.5→0  −1.5→−2  −2.5→−2
  //   (2·f(0.3) = 0.60000002 → 1, 2·f(0.6) = 1.2000000 → 1)
  // sent = Δround / 2:     0     0.5    1      −2     −1       0
  const xs = [0.3, 0.6, 1.25, 1.75, 0.25, -0.75, -1.25];
  const expectedSends = [0.5, 1, -2, -1]; // at steps 2..5
  it('gate: flush sends the full value, then (round(k·x_t) − round(k·x_{t−1}))/k, no d', () => {
    const g = gate(1, 0.5, { mode: 'rounding', memoryLoss: false, chunk: 1 });
    const out = new DeltaList(1);
    g.flush(Float32Array.of(xs[0]!), out);
    expect(sent(out)).toEqual({ 0: f(0.3) });
    const got: Record<number, number>[] = [];
    for (let t = 1; t < xs.length; t++) {
      g.run(Float32Array.of(xs[t]!), indexList(1, [0]), out);
      got.push(sent(out));
      expect(g.d[0]).toBe(0);
    }
    expect(got).toEqual([{}, { 0: expectedSends[0] }, { 0: expectedSends[1] }, { 0: expectedSends[2] }, { 0: expectedSends[3] }, {}]);
  });

  it('engine: the output is x_0 plus the quantised change since frame 0', () => {
    // Σ sent: 0.3, 0.3, 0.8, 1.8, −0.2, −1.2, −1.2 (= x_0 + (round(2x_t) − round(2x_0))/2).
    const e = createEngine(identityNet(), { threshold: 0.5, policy: parsePolicy('rounding') });
    const ys: number[] = [];
    const tx: number[] = [];
    for (const x of xs) {
      tx.push(e.step(Float32Array.of(x)).transmissions);
      ys.push(e.output[0]!);
    }
    expect(tx).toEqual([1, 0, 1, 1, 1, 1, 0]);
    [0.3, 0.3, 0.8, 1.8, -0.2, -1.2, -1.2].forEach((v, t) => expect(ys[t]).toBeCloseTo(v, 6));
  });

  it('a rounding policy needs h > 0', () => {
    expect(() => createEngine(identityNet(), { threshold: 0, policy: parsePolicy('rounding') })).toThrow(expect.objectContaining({ code: 'BAD_POLICY' }));
    // A zero global threshold is named as such, not as the first gate's setting.
    expect(() => createEngine(identityNet(), { threshold: 0, policy: parsePolicy('rounding') })).toThrow(/^the run's threshold \(--threshold/);
  });
});

describe('chunk:2 on a [1,4,1,1] tensor, h = 0.5: chunks {0,1} and {2,3} fire together', () => {
  const policy: Policy = { mode: 'threshold', memoryLoss: false, chunk: 2 };
  // Step 1 (b = 0): x = [0.4, 0.4, 0.9, 0]. Chunk {0,1}: mean |d| = 0.4 ≤ 0.5; chunk {2,3}:
  //   mean = 0.45 ≤ 0.5, although channel 2 alone (0.9) is over h → nothing fires.
  // Step 2: x = [0.4, 0.7, 0.9, 0.2], only channels 1 and 3 changed. d = [0.4, 0.7, 0.9, 0.2]:
  //   chunk {0,1} mean 0.55 > 0.5 → fires, sending channel 0's 0.4 too (unchanged this step);
  //   chunk {2,3} mean 0.55 > 0.5 → fires. All four sent, d = 0.
  // Step 3: x = [0.4, 0.7, 2.1, 0.2], channel 2 changed: d = [0, 0, 1.2, 0]; chunk {2,3}
  //   mean 0.6 > 0.5 → fires, but only the nonzero d (channel 2) is sent.
  const steps: [number[], number[]][] = [
    [[0.4, 0.4, 0.9, 0], [0, 1, 2, 3]],
    [[0.4, 0.7, 0.9, 0.2], [1, 3]],
    [[0.4, 0.7, 2.1, 0.2], [2]],
  ];

  it('gate: sends per the chunk mean, not per neuron', () => {
    const g = gate(4, 0.5, policy, { channels: 4, inner: 1 });
    const out = new DeltaList(4);
    g.run(Float32Array.from(steps[0]![0]), indexList(4, steps[0]![1]), out);
    expect(out.n).toBe(0);
    expect(Array.from(g.d)).toEqual([f(0.4), f(0.4), f(0.9), 0]);
    g.run(Float32Array.from(steps[1]![0]), indexList(4, steps[1]![1]), out);
    const s2 = sent(out);
    expect(Object.keys(s2).map(Number)).toEqual([0, 1, 2, 3]);
    [0.4, 0.7, 0.9, 0.2].forEach((v, i) => expect(s2[i]).toBeCloseTo(v, 6));
    expect(Array.from(g.d)).toEqual([0, 0, 0, 0]);
    g.run(Float32Array.from(steps[2]![0]), indexList(4, steps[2]![1]), out);
    const s3 = sent(out);
    expect(Object.keys(s3).map(Number)).toEqual([2]);
    expect(s3[2]).toBeCloseTo(1.2, 6);
  });

  it('memory-loss,chunk:2: a chunk that does not fire forgets its d', () => {
    // Step 1 as above: nothing fires, so every d is dropped. Step 2: d = [0, 0.3, 0, 0.2]:
    // means 0.15 and 0.1 → nothing fires again (under plain chunk:2 both chunks fired).
    const g = gate(4, 0.5, { mode: 'threshold', memoryLoss: true, chunk: 2 }, { channels: 4, inner: 1 });
    const out = new DeltaList(4);
    g.run(Float32Array.from(steps[0]![0]), indexList(4, steps[0]![1]), out);
    expect(out.n).toBe(0);
    expect(Array.from(g.d)).toEqual([0, 0, 0, 0]);
    g.run(Float32Array.from(steps[1]![0]), indexList(4, steps[1]![1]), out);
    expect(out.n).toBe(0);
  });

  it('engine: a [1,4,1,1] input into a 1×1 conv summing the channels', () => {
    // Frame 0 flushes x = 0 (nothing sent, b = 0), then the three steps above.
    // Output = Σ of everything sent: 0, 0, 0.4+0.7+0.9+0.2 = 2.2, 2.2 + 1.2 = 3.4.
    const b = new GraphBuilder([1, 4, 1, 1]);
    const op = convOp(mulberry32(1), { cin: 4, cout: 1, kh: 1, bias: false });
    op.weight.fill(1);
    b.add(op, [0], [1, 1, 1, 1]);
    const e = createEngine(b.build(), { threshold: 0.5, policy: parsePolicy('chunk:2') });
    const tx = [e.step(new Float32Array(4)).transmissions];
    const ys = [e.output[0]!];
    for (const [x] of steps) {
      tx.push(e.step(Float32Array.from(x)).transmissions);
      ys.push(e.output[0]!);
    }
    expect(tx).toEqual([0, 0, 4, 1]);
    [0, 0, 2.2, 3.4].forEach((v, t) => expect(ys[t]).toBeCloseTo(v, 5));
  });
});

describe('reset:3 re-flushes the whole network at frames 3 and 6', () => {
  function net(rng: Rng): { g: Graph; gated: number[] } {
    const b = new GraphBuilder([1, 2, 6, 6]);
    const y = b.add(relu(), [b.add(convOp(rng, { cin: 2, cout: 3, kh: 3, pads: [1, 1, 1, 1] }, 1), [0], [1, 3, 6, 6])], [1, 3, 6, 6]);
    const z = b.add(relu(), [b.add(convOp(rng, { cin: 3, cout: 3, kh: 3, pads: [1, 1, 1, 1] }, 1), [y], [1, 3, 6, 6])], [1, 3, 6, 6]);
    const fl = b.add({ kind: 'reshape', source: 'Flatten' }, [z], [1, 108]);
    b.add(denseOp(rng, 1, 108, 4), [fl], [1, 4]);
    // Value tensors read by a linear node, hence gated (DESIGN §3): the input, y (→ conv), z (→ reshape).
    return { g: b.build(), gated: [0, y, z] };
  }

  for (const policy of ['reset:3', 'memory-loss,reset:3']) {
    it(`${policy}: flush flags, flush transmissions = nonzero gate inputs, output = dense at flushes`, () => {
      const rng = mulberry32(31);
      const { g, gated } = net(rng);
      const engine = createEngine(g, { threshold: 0.1, policy: parsePolicy(policy) });
      const dense = new DenseExecutor(g);
      expect(engine.gates).toHaveLength(3);
      let heldBeforeReset = false;
      randomVideo(rng, 72, 8, 0.3).forEach((x, t) => {
        const y = Float32Array.from(dense.run(x));
        const heldNow = engine.gates.some((gt) => gt.d.some((v) => v !== 0));
        const fc = engine.step(x);
        const isFlush = t % 3 === 0;
        expect(fc.flush, `frame ${t}`).toBe(isFlush);
        if (isFlush) {
          if (t > 0 && heldNow) heldBeforeReset = true;
          const nonzero = gated.reduce((s, id) => s + dense.values[id]!.filter((v) => v !== 0).length, 0);
          expect(fc.transmissions, `frame ${t}`).toBe(nonzero);
          expect(fc.gateUpdates, `frame ${t}`).toBe(72 + 108 + 108);
          for (const gt of engine.gates) expect(maxAbs(gt.d)).toBe(0);
          expect(maxAbsDiff(engine.output, y), `frame ${t}`).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbs(y)));
        }
      });
      if (policy === 'reset:3') expect(heldBeforeReset, 'a reset cleared held changes').toBe(true);
    });
  }
});
