/**
 * Operation counts against hand-derived numbers (DESIGN §4; issue acceptance 4).
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/model/evnet/engine.js';
import { parsePolicy } from '../../src/model/evnet/policy.js';
import type { Graph, Op } from '../../src/model/ir.js';

const threshold0 = { threshold: 0, policy: parsePolicy('threshold') };

/** input → op → output, one node. */
function single(op: Op, inShape: number[], outShape: number[]): Graph {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  return {
    name: 't', opset: 13, input: 0, output: 1,
    tensors: [{ name: 'x', shape: inShape, size: size(inShape) }, { name: 'y', shape: outShape, size: size(outShape) }],
    nodes: [{ id: 0, name: 'n', onnxOp: 'X', inputs: [0], output: 1, op }],
  };
}

describe('MACs of a strided, padded conv', () => {
  // input [1,1,5,5], conv 1→2, 3×3, stride 2, pads 1 → output [1,2,3,3].
  // Along one axis input i reaches output o when k = i + 1 − 2o ∈ {0,1,2}, o ∈ {0,1,2}:
  //   i = 0: o=0 (k=1)            → 1
  //   i = 1: o=0 (k=2), o=1 (k=0) → 2
  //   i = 2: o=1 (k=1)            → 1
  //   i = 3: o=1 (k=2), o=2 (k=0) → 2
  //   i = 4: o=2 (k=1)            → 1
  // An input (y, x) reaches r(y)·r(x) positions × 2 output channels.
  const conv: Op = {
    kind: 'conv', cin: 1, cout: 2, kh: 3, kw: 3, strideH: 2, strideW: 2, padT: 1, padL: 1, padB: 1, padR: 1, dilH: 1, dilW: 1, group: 1,
    weight: Float32Array.from({ length: 18 }, (_, i) => (i % 5) - 2 + 0.5), bias: Float32Array.of(0.1, -0.2), bnGamma: null,
  };
  const g = single(conv, [1, 1, 5, 5], [1, 2, 3, 3]);

  it('counts exactly the pairs each nonzero input reaches', () => {
    const e = createEngine(g, threshold0);
    const x = new Float32Array(25).fill(1);
    const f0 = e.step(x);
    // Σ r = 7 per axis: 7 · 7 · 2 = 98; dense = 2·3·3 outputs × 9 weights = 162.
    expect(f0.macs).toBe(98);
    expect(f0.denseMacs).toBe(162);
    expect(f0.transmissions).toBe(25);
    x[1 * 5 + 1] = 3; // (1,1): 2 · 2 · 2 = 8
    expect(e.step(x).macs).toBe(8);
    x[0] = -1; // corner (0,0): 1 · 1 · 2 = 2
    expect(e.step(x).macs).toBe(2);
    x[2 * 5 + 3] = 0.5; // (2,3): 1 · 2 · 2 = 4
    expect(e.step(x).macs).toBe(4);
  });

  it('zero inputs cost nothing, also on frame 0', () => {
    const e = createEngine(g, threshold0);
    const x = new Float32Array(25);
    x[2 * 5 + 2] = 1; // only the centre: 1 · 1 · 2
    const f0 = e.step(x);
    expect(f0.macs).toBe(2);
    expect(f0.transmissions).toBe(1);
  });
});

describe('MACs of a Gemm', () => {
  // Gemm 4 → 3: each nonzero input element reaches the 3 outputs.
  const dense: Op = { kind: 'dense', m: 1, k: 4, n: 3, transA: false, weight: Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.5), bias: null, bnGamma: null };
  it('is 3 per nonzero input', () => {
    const e = createEngine(single(dense, [1, 4], [1, 3]), threshold0);
    const f0 = e.step(Float32Array.of(1, 0, 2, 0));
    expect(f0.macs).toBe(6);
    expect(f0.denseMacs).toBe(12);
    expect(e.step(Float32Array.of(1, 0, 2.5, -1)).macs).toBe(6); // inputs 2 and 3 changed
  });
});

describe('overhead and memory of a tiny MLP', () => {
  // x[2] → Gemm(2→3, bias) → Relu → Gemm(3→1, bias).
  // W1 (k×n) = [[1, -1, 0.5], [2, 1, -3]], b1 = [0, 0.5, 0]; W2 = [1, 1, 1], b2 = [0.25].
  const g: Graph = {
    name: 'mlp', opset: 13, input: 0, output: 3,
    tensors: [
      { name: 'x', shape: [1, 2], size: 2 }, { name: 'h', shape: [1, 3], size: 3 },
      { name: 'r', shape: [1, 3], size: 3 }, { name: 'y', shape: [1, 1], size: 1 },
    ],
    nodes: [
      { id: 0, name: 'fc1', onnxOp: 'Gemm', inputs: [0], output: 1, op: { kind: 'dense', m: 1, k: 2, n: 3, transA: false, weight: Float32Array.of(1, -1, 0.5, 2, 1, -3), bias: Float32Array.of(0, 0.5, 0), bnGamma: null } },
      { id: 1, name: 'relu', onnxOp: 'Relu', inputs: [1], output: 2, op: { kind: 'unary', fn: 'relu', a: 0, b: 0 } },
      { id: 2, name: 'fc2', onnxOp: 'Gemm', inputs: [2], output: 3, op: { kind: 'dense', m: 1, k: 3, n: 1, transA: false, weight: Float32Array.of(1, 1, 1), bias: Float32Array.of(0.25), bnGamma: null } },
    ],
  };

  it('follows the authors’ overhead convention', () => {
    const e = createEngine(g, { threshold: 0.1, policy: parsePolicy('threshold') });
    // Frame 0, x = [1, 1]: h = [3, 0.5, -2.5] → r = [3, 0.5, 0]; y = 3.5 + 0.25 = 3.75.
    // Gate updates: input 2 + relu 3 = 5 (a flush visits every neuron); transmissions:
    // input 2 + relu 2 (r2 = 0 is not sent) = 4; accumulator updates 3 + 1 = 4.
    const f0 = e.step(Float32Array.of(1, 1));
    expect(e.output[0]).toBe(3.75);
    expect([f0.gateUpdates, f0.transmissions, f0.accUpdates]).toEqual([5, 4, 4]);
    expect(f0.overheadAdds).toBe(4 + 2 * 5 + 4);
    expect(f0.overheadCompares).toBe(5);
    expect(f0.overheadLoadStore).toBe(2 * 4 + 4 * 5 + 2 * 4);
    // Frame 1, x = [1, 1.5]: input gate: 1 update (x1), d = 0.5 > 0.1 → sent.
    // h += 0.5·[2, 1, −3] = [4, 1, −4] → 3 accumulator updates; r = [4, 1, 0]: relu
    // changed at 0 and 1 → 2 gate updates, both |d| > 0.1 → 2 sent; y += 1 + 0.5 → 1 update.
    const f1 = e.step(Float32Array.of(1, 1.5));
    expect(e.output[0]).toBe(5.25);
    expect([f1.gateUpdates, f1.transmissions, f1.accUpdates]).toEqual([3, 3, 4]);
    expect(f1.macs).toBe(3 + 2);
    expect(f1.overheadAdds).toBe(4 + 2 * 3 + 3);
  });

  it('weight and state memory', () => {
    const e = createEngine(g, { threshold: 0.1, policy: parsePolicy('threshold') });
    // Weights (float32): fc1 6 + 3 bias, fc2 3 + 1 bias = 13 values = 52 B.
    // State: accumulators h (3) and y (1); gates on x (2) and r (3): 4·(4 + 2·5) = 56 B.
    expect(e.memory()).toEqual({ weightBytes: 52, stateBytes: 56 });
  });
});
