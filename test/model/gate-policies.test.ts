/**
 * The gate and its policies (DESIGN §3; issue acceptance 3): the EvNet authors' unit
 * vector, error retention |d| ≤ h as a property, memory loss, Sigma-Delta rounding,
 * chunked firing and periodic resets.
 */
import { describe, expect, it } from 'vitest';
import { DenseExecutor } from '../../src/model/dense/executor.js';
import { createEngine } from '../../src/model/evnet/engine.js';
import { Gate } from '../../src/model/evnet/gate.js';
import { parsePolicy, roundHalfEven } from '../../src/model/evnet/policy.js';
import { DeltaList, IndexList } from '../../src/model/evnet/sparse.js';
import type { Graph } from '../../src/model/ir.js';
import { mulberry32 } from '../../src/workloads/video.js';

function gateOf(size: number, h: number, policy: string, channels = size, inner = 1): Gate {
  const p = parsePolicy(policy);
  return new Gate(size, new Float32Array(size).fill(h), { mode: p.mode, memoryLoss: p.memoryLoss, chunk: p.chunk }, { channels, inner });
}

function changed(...idx: number[]): IndexList {
  const l = new IndexList(64);
  for (const i of idx) l.push(i);
  return l;
}

function sent(out: DeltaList): Record<number, number> {
  const r: Record<number, number> = {};
  for (let i = 0; i < out.n; i++) r[out.idx[i]!] = out.val[i]!;
  return r;
}

describe('the EvNet authors’ gate vector (h = 0.2, b = 0, no flush)', () => {
  it('retains small changes and releases them later', () => {
    const g = gateOf(6, 0.2, 'threshold');
    const out = new DeltaList(6);
    // Step 1: x = [[1,0,3],[0.1,5,6]], positions (0,0),(0,1),(1,0),(1,1) = 0,1,3,4.
    // d(0) = 1 > h sent; d(1) = 0; d(3) = 0.1 ≤ h kept; d(4) = 5 sent.
    g.run(Float32Array.of(1, 0, 3, 0.1, 5, 6), changed(0, 1, 3, 4), out);
    expect(sent(out)).toEqual({ 0: 1, 4: 5 });
    expect(g.d[3]).toBeCloseTo(0.1, 7);
    // Step 2: x = [[1.1,5,6],[1,7,3]], positions 0 and row 1 = 0,3,4,5.
    // d(0) = 0.1 ≤ h kept; d(3) = 0.1 + 0.9 = 1 sent (the retained 0.1 goes out);
    // d(4) = 7 − 5 = 2; d(5) = 3 − 0 = 3.
    g.run(Float32Array.of(1.1, 5, 6, 1, 7, 3), changed(0, 3, 4, 5), out);
    const s = sent(out);
    expect(Object.keys(s).map(Number)).toEqual([3, 4, 5]);
    expect(s[3]).toBeCloseTo(1, 6);
    expect(s[4]).toBe(2);
    expect(s[5]).toBe(3);
    expect(g.d[0]).toBeCloseTo(0.1, 6);
  });
});

/** A small random conv → relu → conv graph (NCHW [1,c,h,w]). */
function randomConvNet(seed: number): Graph {
  const rnd = mulberry32(seed);
  const w = (n: number) => Float32Array.from({ length: n }, () => rnd() - 0.5);
  const conv = (cin: number, cout: number) => ({
    kind: 'conv' as const, cin, cout, kh: 3, kw: 3, strideH: 1, strideW: 1, padT: 1, padL: 1, padB: 1, padR: 1, dilH: 1, dilW: 1, group: 1,
    weight: w(cin * cout * 9), bias: w(cout), bnGamma: null,
  });
  const t = (name: string, c: number) => ({ name, shape: [1, c, 6, 6], size: c * 36 });
  return {
    name: 'rand', opset: 13, input: 0, output: 3,
    tensors: [t('x', 2), t('a', 3), t('r', 3), t('y', 2)],
    nodes: [
      { id: 0, name: 'c1', onnxOp: 'Conv', inputs: [0], output: 1, op: conv(2, 3) },
      { id: 1, name: 'relu', onnxOp: 'Relu', inputs: [1], output: 2, op: { kind: 'unary', fn: 'relu', a: 0, b: 0 } },
      { id: 2, name: 'c2', onnxOp: 'Conv', inputs: [2], output: 3, op: conv(3, 2) },
    ],
  };
}

describe('error retention |d| ≤ h (property over random videos)', () => {
  it('holds for every gate neuron after every frame', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = mulberry32(1000 + seed);
      const g = randomConvNet(seed);
      const h = 0.01 + 0.49 * rnd();
      const policy = seed % 3 === 0 ? 'threshold,reset:4' : 'threshold';
      const e = createEngine(g, { threshold: h, policy: parsePolicy(policy) });
      const x = Float32Array.from({ length: 72 }, () => rnd() * 2 - 1);
      for (let t = 0; t < 12; t++) {
        for (let i = 0; i < x.length; i++) if (rnd() < 0.3) x[i] = x[i]! + (rnd() - 0.5) * 0.4;
        e.step(x);
        expect(e.retentionExcess()).toBeLessThanOrEqual(0);
        for (const gate of e.gates) for (let i = 0; i < gate.d.length; i++) expect(Math.abs(gate.d[i]!)).toBeLessThanOrEqual(gate.h[i]!);
      }
    }
  });
});

describe('memory loss (Skip-Conv)', () => {
  it('never sends a slow ramp that the long-term memory does send', () => {
    // x_t = 0.01·t, h = 0.05. Threshold: d accumulates 0.01 per frame and is sent when
    // it exceeds 0.05, i.e. at t = 6 (d ≈ 0.06). Memory loss: d = 0.01 every frame.
    const ramp = (policy: string): number[] => {
      const g = gateOf(1, 0.05, policy);
      const out = new DeltaList(1);
      const sentAt: number[] = [];
      for (let t = 1; t <= 12; t++) {
        g.run(Float32Array.of(0.01 * t), changed(0), out);
        if (out.n > 0) sentAt.push(t);
        if (policy === 'memory-loss') expect(g.d[0]).toBe(0);
      }
      return sentAt;
    };
    expect(ramp('memory-loss')).toEqual([]);
    expect(ramp('threshold')).toEqual([6, 12]);
  });
});

describe('rounding (Sigma-Delta)', () => {
  it('rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3]);
  });

  it('sends (round(k·x_t) − round(k·x_{t−1}))/k', () => {
    // h = 0.5 → k = 2. b starts 0.
    // x = 1.25: 2·1.25 = 2.5 → 2 (tie to even); round(0) = 0 → send 2/2 = 1.
    // x = 1.75: 3.5 → 4;     previous 2.5 → 2 → send (4 − 2)/2 = 1.
    // x = 1.8:  3.6 → 4;     previous 3.5 → 4 → nothing.
    const g = gateOf(1, 0.5, 'rounding');
    const out = new DeltaList(1);
    const sends: number[] = [];
    for (const x of [1.25, 1.75, 1.8]) {
      g.run(Float32Array.of(x), changed(0), out);
      sends.push(out.n ? out.val[0]! : 0);
    }
    expect(sends).toEqual([1, 1, 0]);
  });
});

describe('chunk:2', () => {
  it('fires a chunk of two channels when their mean |d| exceeds h', () => {
    // [1,4,1,1]: chunks {0,1} and {2,3}, h = 0.3.
    const g = gateOf(4, 0.3, 'chunk:2', 4, 1);
    const out = new DeltaList(4);
    // Chunk 0: |d| = 0.5, 0 → mean 0.25 ≤ 0.3: kept. Chunk 1: 0.4, 0.3 → 0.35 > 0.3: both sent.
    g.run(Float32Array.of(0.5, 0, 0.4, -0.3), changed(0, 2, 3), out);
    expect(sent(out)).toEqual({ 2: expect.closeTo(0.4, 6), 3: expect.closeTo(-0.3, 6) });
    // Channel 1 moves by 0.2: chunk 0 mean (0.5 + 0.2)/2 = 0.35 > 0.3 → both sent.
    g.run(Float32Array.of(0.5, 0.2, 0.4, -0.3), changed(1), out);
    expect(sent(out)).toEqual({ 0: 0.5, 1: expect.closeTo(0.2, 6) });
  });
});

describe('reset:3', () => {
  it('re-flushes frames 3 and 6, sending every nonzero value of every gate', () => {
    const g = randomConvNet(7);
    const e = createEngine(g, { threshold: 0.2, policy: parsePolicy('threshold,reset:3') });
    const dense = new DenseExecutor(g);
    const rnd = mulberry32(99);
    const x = Float32Array.from({ length: 72 }, () => rnd() - 0.5);
    for (let t = 0; t < 8; t++) {
      for (let i = 0; i < 10; i++) x[Math.floor(rnd() * 72)] += 0.1;
      const fc = e.step(x);
      expect(fc.flush).toBe(t % 3 === 0);
      if (fc.flush) {
        // Gates read the input and the relu output: count their nonzeros densely.
        dense.run(x);
        let nz = 0;
        for (const v of dense.values[0]!) if (v !== 0) nz++;
        for (const v of dense.values[2]!) if (v !== 0) nz++;
        expect(fc.transmissions).toBe(nz);
      }
    }
  });
});
