/**
 * The incremental value kernels select without branches on float32 bits (ReLU,
 * MaxPool). They must agree bit for bit with the dense definitions (`unaryFn`,
 * `maxWindow`) on the awkward values: ±0, NaN, ±Inf, subnormals, and report exactly
 * the outputs whose value changed (`v !== y`, so +0 → −0 is no change).
 */
import { describe, expect, it } from 'vitest';
import { maxWindow, unaryFn } from '../../src/model/dense/ops.js';
import type { Graph, GraphNode, MaxPoolOp } from '../../src/model/ir.js';
import { IndexList } from '../../src/model/evnet/sparse.js';
import { makeValueKernel } from '../../src/model/evnet/value-kernels.js';
import { mulberry32, randInt, type Rng } from '../helpers/rng.js';

const SPECIAL = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45, 3.5, -3.5, 0.25, -0.25];

function pick(rng: Rng): number {
  return rng() < 0.6 ? SPECIAL[randInt(rng, 0, SPECIAL.length - 1)]! : Math.fround(rng() * 4 - 2);
}

const bits = (a: Float32Array): Int32Array => new Int32Array(a.buffer.slice(0));

function graphOf(inShape: number[], outShape: number[]): Graph {
  const size = (s: number[]): number => s.reduce((p, q) => p * q, 1);
  return { tensors: [{ name: 'x', shape: inShape, size: size(inShape) }, { name: 'y', shape: outShape, size: size(outShape) }] } as unknown as Graph;
}

describe('value kernels on special float32 values', () => {
  it('ReLU equals unaryFn(relu) bit for bit and lists exactly the changed outputs', () => {
    const rng = mulberry32(21);
    const n = 400;
    const op = { kind: 'unary', fn: 'relu', a: 0, b: 0 } as const;
    const node = { name: 'r', op, onnxOp: 'Relu', inputs: [0], output: 1 } as unknown as GraphNode;
    const k = makeValueKernel(graphOf([1, n], [1, n]), node);
    const f = unaryFn(op);
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    const ref = new Float32Array(n);
    const changed = new IndexList(n);
    const yChanged = new IndexList(n);
    for (let frame = 0; frame < 6; frame++) {
      changed.n = 0;
      for (let i = 0; i < n; i++) {
        if (frame === 0 || rng() < 0.5) {
          x[i] = pick(rng);
          changed.push(i);
        }
      }
      const flush = frame === 0;
      const expected: number[] = [];
      for (let c = 0; c < changed.n; c++) {
        const i = changed.idx[c]!;
        const v = Math.fround(f(x[i]!, i));
        if (v !== ref[i] || flush) {
          ref[i] = v;
          expected.push(i);
        }
      }
      k.run([x], [changed], y, yChanged, flush);
      expect(bits(y)).toEqual(bits(ref));
      expect(Array.from(yChanged.idx.subarray(0, yChanged.n))).toEqual(expected);
    }
  });

  it('maxWindow on hand-written windows: NaN never wins (an all-NaN window is −∞), the first of ±0 stays', () => {
    const op: MaxPoolOp = { kind: 'maxpool', kh: 1, kw: 2, strideH: 1, strideW: 2, padT: 0, padL: 0, padB: 0, padR: 0, dilH: 1, dilW: 1 };
    const max2 = (a: number, b: number): number => maxWindow(op, Float32Array.of(a, b), 0, 1, 2, 0, 0);
    expect(max2(NaN, 1)).toBe(1);
    expect(max2(1, NaN)).toBe(1);
    expect(max2(NaN, NaN)).toBe(-Infinity);
    expect(Object.is(max2(-0, 0), -0)).toBe(true);
    expect(Object.is(max2(0, -0), 0)).toBe(true);
    expect(max2(-Infinity, -3)).toBe(-3);
  });

  it.each([
    ['2×2 stride 2', { kh: 2, kw: 2, strideH: 2, strideW: 2, padT: 0, padL: 0, padB: 0, padR: 0, dilH: 1, dilW: 1 }],
    ['3×3 stride 1 padded', { kh: 3, kw: 3, strideH: 1, strideW: 1, padT: 1, padL: 1, padB: 1, padR: 1, dilH: 1, dilW: 1 }],
    ['3×2 dilated, stride 2', { kh: 3, kw: 2, strideH: 2, strideW: 1, padT: 2, padL: 0, padB: 1, padR: 1, dilH: 2, dilW: 1 }],
  ])('MaxPool %s equals maxWindow bit for bit (NaN never wins, the first of ±0 stays)', (_name, geo) => {
    const rng = mulberry32(22);
    const [c, h, w] = [3, 9, 7];
    const op: MaxPoolOp = { kind: 'maxpool', ...geo };
    const oh = Math.floor((h + geo.padT + geo.padB - (geo.kh - 1) * geo.dilH - 1) / geo.strideH) + 1;
    const ow = Math.floor((w + geo.padL + geo.padR - (geo.kw - 1) * geo.dilW - 1) / geo.strideW) + 1;
    const node = { name: 'p', op, onnxOp: 'MaxPool', inputs: [0], output: 1 } as unknown as GraphNode;
    const k = makeValueKernel(graphOf([1, c, h, w], [1, c, oh, ow]), node);
    const x = new Float32Array(c * h * w);
    const y = new Float32Array(c * oh * ow);
    const ref = new Float32Array(c * oh * ow);
    const changed = new IndexList(x.length);
    const yChanged = new IndexList(y.length);
    // Dense and sparse frames: the kernel marks windows in a byte map or a stamp set.
    const rates = [1, 0.3, 0.02, 0.5, 0.01, 0.3, 0.03, 0.2, 0.01];
    for (let frame = 0; frame < rates.length; frame++) {
      changed.n = 0;
      for (let i = 0; i < x.length; i++) {
        if (frame === 0 || rng() < rates[frame]!) {
          x[i] = pick(rng);
          changed.push(i);
        }
      }
      const flush = frame === 0;
      const expected: number[] = [];
      for (let ch = 0; ch < c; ch++) {
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            const o = (ch * oh + oy) * ow + ox;
            const v = maxWindow(op, x, ch * h * w, h, w, oy, ox);
            if (v !== ref[o] || flush) {
              ref[o] = v;
              expected.push(o);
            }
          }
        }
      }
      k.run([x], [changed], y, yChanged, flush);
      expect(bits(y)).toEqual(bits(ref));
      // Windows with no changed input are not revisited: their value cannot have changed.
      expect(Array.from(yChanged.idx.subarray(0, yChanged.n))).toEqual(expected);
    }
  });
});
