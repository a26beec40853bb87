/**
 * ONNX writer round trip: an MLP written by mlpToOnnx, read back by evsim's importer
 * and run by the DenseExecutor, gives what a naive float64 forward pass (written here
 * from the layer definitions y = x·Wᵀ + b, relu, softmax) gives on the same weights.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { EvsimError } from '../../src/errors.js';
import { DenseExecutor } from '../../src/model/dense/executor.js';
import { mlpToOnnx, type MlpActivation, type MlpLayer } from '../../src/model/onnx/export.js';
import { importOnnx, loadOnnx } from '../../src/model/onnx/import.js';
import { mulberry32, uniform, type Rng } from '../helpers/rng.js';

const { onnx } = onnxProto;
const tmp = mkdtempSync(join(tmpdir(), 'evsim-onnx-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function randomLayer(rng: Rng, inF: number, outF: number, activation: MlpActivation): MlpLayer {
  const weight = new Float32Array(inF * outF);
  const bias = new Float32Array(outF);
  for (let i = 0; i < weight.length; i++) weight[i] = uniform(rng, -1, 1) / Math.sqrt(inF);
  for (let i = 0; i < outF; i++) bias[i] = uniform(rng, -0.5, 0.5);
  return { weight, bias, inFeatures: inF, outFeatures: outF, activation };
}

/** Float64 forward pass straight from the definitions, sharing no code with src/. */
function naiveForward(layers: MlpLayer[], x: ArrayLike<number>): number[] {
  let h = Array.from(x);
  for (const l of layers) {
    const y: number[] = [];
    for (let o = 0; o < l.outFeatures; o++) {
      let s = l.bias[o]!;
      for (let i = 0; i < l.inFeatures; i++) s += l.weight[o * l.inFeatures + i]! * h[i]!;
      y.push(s);
    }
    if (l.activation === 'relu') h = y.map((v) => Math.max(v, 0));
    else if (l.activation === 'softmax') {
      const m = Math.max(...y);
      const e = y.map((v) => Math.exp(v - m));
      const z = e.reduce((a, b) => a + b, 0);
      h = e.map((v) => v / z);
    } else h = y;
  }
  return h;
}

function expectClose(got: ArrayLike<number>, want: number[]): void {
  expect(got.length).toBe(want.length);
  const scale = Math.max(...want.map(Math.abs));
  for (let i = 0; i < want.length; i++) {
    // 1e-5 relative to the output's magnitude (float32 weights, float32 activations).
    expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(Math.abs(want[i]!), scale));
  }
}

describe('mlpToOnnx', () => {
  it('784-200-200-10 relu/softmax round-trips through importOnnx and the DenseExecutor', () => {
    const rng = mulberry32(7);
    const layers = [randomLayer(rng, 784, 200, 'relu'), randomLayer(rng, 200, 200, 'relu'), randomLayer(rng, 200, 10, 'softmax')];
    const g = importOnnx(mlpToOnnx({ layers, name: 'roundtrip' }), 'roundtrip.onnx');
    expect(g.opset).toBe(13);
    expect(g.nodes.map((n) => n.onnxOp)).toEqual(['Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm', 'Softmax']);
    expect(g.tensors[g.input]!.shape).toEqual([1, 784]);
    expect(g.tensors[g.output]!.shape).toEqual([1, 10]);
    const ex = new DenseExecutor(g);
    for (let trial = 0; trial < 5; trial++) {
      const x = Float32Array.from({ length: 784 }, () => (rng() < 0.8 ? 0 : rng()));
      const y = ex.run(x);
      expectClose(y, naiveForward(layers, x));
      expect(y.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it('the Gemm weight is [out, in] with transB = 1, the bias [out], Softmax axis = 1', () => {
    const rng = mulberry32(3);
    const layers = [randomLayer(rng, 3, 2, 'softmax')];
    const m = onnx.ModelProto.decode(mlpToOnnx({ layers }));
    const gemm = m.graph!.node![0]!;
    expect(gemm.opType).toBe('Gemm');
    expect(gemm.attribute!.map((a) => [a.name, Number(a.i)])).toEqual([['transB', 1]]);
    const [w, b] = m.graph!.initializer!;
    expect(w!.dims!.map(Number)).toEqual([2, 3]);
    expect(b!.dims!.map(Number)).toEqual([2]);
    const sm = m.graph!.node![1]!;
    expect(sm.opType).toBe('Softmax');
    expect(sm.attribute!.map((a) => [a.name, Number(a.i)])).toEqual([['axis', 1]]);
    expect(m.opsetImport!.map((o) => Number(o.version))).toEqual([13]);
  });

  it('a hand-computed 2-3-2 network through a file (loadOnnx)', () => {
    // W1 = [[1, 0], [0, -1], [1, 1]], b1 = [0, 0.5, -3]; W2 = [[1, 2, 3], [-1, 0, 1]], b2 = [0.25, 0].
    // x = [2, 1]: W1x + b1 = [2, -0.5, 0] → relu [2, 0, 0]; W2h + b2 = [2.25, -2].
    const layers: MlpLayer[] = [
      { weight: Float32Array.of(1, 0, 0, -1, 1, 1), bias: Float32Array.of(0, 0.5, -3), inFeatures: 2, outFeatures: 3, activation: 'relu' },
      { weight: Float32Array.of(1, 2, 3, -1, 0, 1), bias: Float32Array.of(0.25, 0), inFeatures: 3, outFeatures: 2, activation: 'none' },
    ];
    const path = join(tmp, 'tiny.onnx');
    writeFileSync(path, mlpToOnnx({ layers }));
    const y = new DenseExecutor(loadOnnx(path)).run(Float32Array.of(2, 1));
    expect(Array.from(y)).toEqual([2.25, -2]);
  });

  it('same weights → identical bytes', () => {
    const a = mlpToOnnx({ layers: [randomLayer(mulberry32(5), 6, 4, 'relu'), randomLayer(mulberry32(6), 4, 3, 'softmax')] });
    const b = mlpToOnnx({ layers: [randomLayer(mulberry32(5), 6, 4, 'relu'), randomLayer(mulberry32(6), 4, 3, 'softmax')] });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('refuses layers that do not chain or arrays of the wrong size', () => {
    const rng = mulberry32(1);
    const bad = (layers: MlpLayer[]): unknown => {
      try {
        mlpToOnnx({ layers });
      } catch (e) {
        return e;
      }
      return null;
    };
    const e1 = bad([randomLayer(rng, 4, 3, 'relu'), randomLayer(rng, 5, 2, 'none')]);
    expect(e1).toBeInstanceOf(EvsimError);
    expect((e1 as EvsimError).code).toBe('BAD_USAGE');
    expect((e1 as EvsimError).message).toMatch(/layer 1: inFeatures 5 does not match .* 3/);
    const l = randomLayer(rng, 4, 3, 'relu');
    const e2 = bad([{ ...l, bias: new Float32Array(2) }]);
    expect((e2 as EvsimError).message).toMatch(/layer 0: bias has 2 values, needs 3/);
    expect((bad([]) as EvsimError).code).toBe('BAD_USAGE');
  });
});
