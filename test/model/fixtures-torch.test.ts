/**
 * Real torch.onnx.export fixtures (issue acceptance 2): the dense executor and the
 * EvNet at h = 0 reproduce torch's outputs (computed by torch at fixture time, see
 * scripts/make_fixtures.py); the importer folds what exporters emit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DenseExecutor } from '../../src/model/dense/executor.js';
import { createEngine } from '../../src/model/evnet/engine.js';
import { parsePolicy } from '../../src/model/evnet/policy.js';
import { loadOnnx } from '../../src/model/onnx/import.js';
import { readFloat32Npy } from '../../src/workloads/npy.js';

const FIX = join(__dirname, '..', 'fixtures', 'onnx');
const manifest = JSON.parse(readFileSync(join(FIX, 'manifest.json'), 'utf8')) as { models: { name: string }[] } | { name: string }[];
const names = (Array.isArray(manifest) ? manifest : manifest.models).map((m) => m.name);

describe.each(names)('%s', (name) => {
  const g = loadOnnx(join(FIX, `${name}.onnx`));
  const inp = readFloat32Npy(join(FIX, `${name}.input.npy`));
  const ref = readFloat32Npy(join(FIX, `${name}.output.npy`));
  const T = inp.shape[0]!;
  const fin = inp.data.length / T;
  const fout = ref.data.length / T;
  let scale = 1;
  for (const v of ref.data) scale = Math.max(scale, Math.abs(v));
  const tol = 1e-4 * scale;

  it('dense executor matches torch at every frame', () => {
    const ex = new DenseExecutor(g);
    for (let t = 0; t < T; t++) {
      const y = ex.run(inp.data.subarray(t * fin, (t + 1) * fin));
      for (let i = 0; i < fout; i++) expect(Math.abs(y[i]! - ref.data[t * fout + i]!)).toBeLessThanOrEqual(tol);
    }
  });

  it('EvNet with h = 0 matches torch at every frame', () => {
    const e = createEngine(g, { threshold: 0, policy: parsePolicy('threshold') });
    for (let t = 0; t < T; t++) {
      e.step(inp.data.subarray(t * fin, (t + 1) * fin));
      for (let i = 0; i < fout; i++) expect(Math.abs(e.output[i]! - ref.data[t * fout + i]!)).toBeLessThanOrEqual(tol);
    }
  });
});

describe('import folds what exporters emit', () => {
  it('BatchNormalization after a Conv is folded; elsewhere it is one affine node', () => {
    const bn = loadOnnx(join(FIX, 'resnet_block_bn.onnx'));
    expect(bn.nodes.filter((n) => n.op.kind === 'affine')).toHaveLength(0);
    expect(bn.nodes.filter((n) => n.op.kind === 'conv' && n.op.bnGamma !== null).length).toBeGreaterThan(0);
    const act = loadOnnx(join(FIX, 'activations.onnx'));
    expect(act.nodes.filter((n) => n.op.kind === 'affine' && n.onnxOp === 'BatchNormalization')).toHaveLength(1);
  });

  it('Shape → Gather → Unsqueeze → Concat → Reshape folds to one reshape', () => {
    const dyn = loadOnnx(join(FIX, 'mlp_flatten_dynamic.onnx'));
    expect(dyn.nodes.map((n) => n.op.kind)).toEqual(['reshape', 'dense', 'unary', 'dense']);
  });

  it('Pad built from ConstantOfShape/Slice/Cast and Resize scales from constants are folded', () => {
    expect(loadOnnx(join(FIX, 'pad_transpose.onnx')).nodes[0]!.op.kind).toBe('pad');
    expect(loadOnnx(join(FIX, 'concat_upsample.onnx')).nodes.some((n) => n.op.kind === 'resize')).toBe(true);
  });
});
