/**
 * Real torch.onnx.export fixtures (test/fixtures/onnx, listed in manifest.json): the
 * dense executor and the EvNet at h = 0 both reproduce the outputs torch computed
 * when the fixtures were made, at every frame, within 1e-4 × max(1, max |output|).
 * Then what `evsim inspect` would show about the imported graphs: BatchNorm folded
 * into the conv before it, a standalone BatchNorm kept as one affine node, the
 * dynamic-batch Shape subgraph folded away.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DenseExecutor } from '../../src/model/dense/executor.js';
import { createEngine } from '../../src/model/evnet/engine.js';
import { parsePolicy } from '../../src/model/evnet/policy.js';
import type { Graph } from '../../src/model/ir.js';
import { loadOnnx } from '../../src/model/onnx/import.js';
import { readFloat32Npy } from '../../src/workloads/npy.js';
import { maxAbs, maxAbsDiff } from '../helpers/naive.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'onnx');

interface ManifestEntry {
  name: string;
  opset: number;
  input_shape: number[];
  output_shape: number[];
  ops: string[];
  frames: number;
}
const manifest = JSON.parse(readFileSync(join(FIX, 'manifest.json'), 'utf8')) as ManifestEntry[];

interface Fixture {
  graph: Graph;
  frames: Float32Array[];
  torch: Float32Array[];
  tol: number;
}

const cache = new Map<string, Fixture>();
function fixture(name: string): Fixture {
  const hit = cache.get(name);
  if (hit) return hit;
  const graph = loadOnnx(join(FIX, `${name}.onnx`));
  const inp = readFloat32Npy(join(FIX, `${name}.input.npy`));
  const out = readFloat32Npy(join(FIX, `${name}.output.npy`));
  const T = inp.shape[0]!;
  const split = (d: Float32Array): Float32Array[] => {
    const n = d.length / T;
    return Array.from({ length: T }, (_, t) => d.subarray(t * n, (t + 1) * n));
  };
  const f = { graph, frames: split(inp.data), torch: split(out.data), tol: 1e-4 * Math.max(1, maxAbs(out.data)) };
  cache.set(name, f);
  return f;
}

const kinds = (g: Graph): string[] => g.nodes.map((n) => n.op.kind);

describe('manifest', () => {
  it('lists the fixtures on disk, each with its frame count and shapes', () => {
    expect(manifest.length).toBeGreaterThanOrEqual(10);
    for (const m of manifest) {
      const inp = readFloat32Npy(join(FIX, `${m.name}.input.npy`));
      const out = readFloat32Npy(join(FIX, `${m.name}.output.npy`));
      expect(inp.shape, m.name).toEqual([m.frames, ...m.input_shape]);
      expect(out.shape, m.name).toEqual([m.frames, ...m.output_shape]);
    }
  });
});

describe.each(manifest.map((m) => [m.name, m] as const))('%s', (name, m) => {
  it('imports with the manifest shapes, batch fixed to 1', () => {
    const { graph } = fixture(name);
    expect(graph.tensors[graph.input]!.shape).toEqual([1, ...m.input_shape]);
    expect(graph.tensors[graph.output]!.shape).toEqual([1, ...m.output_shape]);
    expect(graph.opset).toBe(m.opset);
  });

  it('dense executor equals torch at every frame', () => {
    const { graph, frames, torch, tol } = fixture(name);
    const dense = new DenseExecutor(graph);
    frames.forEach((x, t) => {
      expect(maxAbsDiff(dense.run(x), torch[t]!), `frame ${t}`).toBeLessThanOrEqual(tol);
    });
  });

  it('EvNet with h = 0 equals torch at every frame', () => {
    const { graph, frames, torch, tol } = fixture(name);
    const engine = createEngine(graph, { threshold: 0, policy: parsePolicy('threshold') });
    frames.forEach((x, t) => {
      const fc = engine.step(x);
      expect(fc.flush).toBe(t === 0);
      expect(maxAbsDiff(engine.output, torch[t]!), `frame ${t}`).toBeLessThanOrEqual(tol);
    });
  });
});

describe('import facts (what inspect shows)', () => {
  it('resnet_block_bn: every BatchNorm is folded into its conv; the graph is resnet_block’s', () => {
    const bn = fixture('resnet_block_bn').graph;
    const plain = fixture('resnet_block').graph;
    expect(bn.nodes.filter((n) => n.op.kind === 'affine')).toHaveLength(0);
    expect(bn.nodes.some((n) => n.onnxOp === 'BatchNormalization')).toBe(false);
    expect(kinds(bn)).toEqual(kinds(plain));
    const convs = bn.nodes.filter((n) => n.op.kind === 'conv');
    expect(convs.length).toBe(6);
    for (const n of convs) if (n.op.kind === 'conv') expect(n.op.bnGamma, n.name).not.toBeNull();
    for (const n of plain.nodes) if (n.op.kind === 'conv') expect(n.op.bnGamma, n.name).toBeNull();
  });

  it('resnet_block_bn and resnet_block compute the same function (the fixture says so)', () => {
    const a = fixture('resnet_block');
    const b = fixture('resnet_block_bn');
    const da = new DenseExecutor(a.graph);
    const db = new DenseExecutor(b.graph);
    a.frames.forEach((x, t) => {
      expect(maxAbsDiff(b.frames[t]!, x)).toBe(0);
      expect(maxAbsDiff(Float32Array.from(da.run(x)), db.run(x))).toBeLessThanOrEqual(a.tol);
    });
  });

  it('activations: the standalone BatchNorm stays, as exactly one affine node with γ', () => {
    const g = fixture('activations').graph;
    const bn = g.nodes.filter((n) => n.op.kind === 'affine' && n.onnxOp === 'BatchNormalization');
    expect(bn).toHaveLength(1);
    const op = bn[0]!.op;
    if (op.kind !== 'affine') throw new Error('unreachable');
    expect(op.bnGamma).not.toBeNull();
    expect(op.bnGamma!.length).toBe(8); // [1, 8, 12, 12]: one γ per channel
    // Per-channel scale: constant within each channel's 144 positions.
    for (let c = 0; c < 8; c++) for (let i = 1; i < 144; i++) expect(op.scale[c * 144 + i]).toBe(op.scale[c * 144]);
    // Its input is an Add of two activations, so it could not be folded into a conv.
    const producer = g.nodes.find((n) => n.output === bn[0]!.inputs[0]);
    expect(producer?.op.kind).toBe('add');
    // Mul and Div by a constant are affine too; Mul of two activations is a 'mul'.
    expect(g.nodes.filter((n) => n.op.kind === 'affine').map((n) => n.onnxOp).sort()).toEqual(['BatchNormalization', 'Div', 'Mul']);
    expect(g.nodes.filter((n) => n.op.kind === 'mul')).toHaveLength(2);
  });

  it('mlp_flatten_dynamic: no Shape subgraph left; same graph and outputs as mlp_flatten', () => {
    const dyn = fixture('mlp_flatten_dynamic');
    const stat = fixture('mlp_flatten');
    for (const op of ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Constant']) {
      expect(dyn.graph.nodes.some((n) => n.onnxOp === op), op).toBe(false);
    }
    expect(kinds(dyn.graph)).toEqual(['reshape', 'dense', 'unary', 'dense']);
    expect(kinds(dyn.graph)).toEqual(kinds(stat.graph));
    expect(dyn.graph.tensors[dyn.graph.nodes[0]!.output]!.shape).toEqual([1, 784]);
    const dd = new DenseExecutor(dyn.graph);
    const ds = new DenseExecutor(stat.graph);
    stat.frames.forEach((x, t) => {
      expect(maxAbsDiff(dyn.frames[t]!, x)).toBe(0);
      // Same weights, same folded graph: bit-identical outputs.
      expect(maxAbsDiff(Float32Array.from(dd.run(x)), ds.run(x))).toBe(0);
      expect(maxAbsDiff(dyn.torch[t]!, stat.torch[t]!)).toBe(0);
    });
  });

  it('mlp ends in Softmax: every output frame sums to 1', () => {
    const { graph, frames } = fixture('mlp');
    const e = createEngine(graph, { threshold: 0, policy: parsePolicy('threshold') });
    for (const x of frames) {
      e.step(x);
      expect(e.output.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it('concat_upsample: nearest ×2 resize copies input coordinate ⌊o/2⌋ on H and W', () => {
    const g = fixture('concat_upsample').graph;
    const r = g.nodes.find((n) => n.op.kind === 'resize');
    if (!r || r.op.kind !== 'resize') throw new Error('no resize node');
    const [n, c, h, w] = r.op.maps.map((m) => Array.from(m));
    expect(n).toEqual([0]);
    expect(c).toEqual(Array.from({ length: c!.length }, (_, i) => i));
    expect(h).toEqual(Array.from({ length: h!.length }, (_, o) => Math.floor(o / 2)));
    expect(w).toEqual(Array.from({ length: w!.length }, (_, o) => Math.floor(o / 2)));
  });

  it('pad_transpose: the Pad built from ConstantOfShape/Slice/Cast is folded to one pad node first', () => {
    const g = fixture('pad_transpose').graph;
    expect(g.nodes[0]!.op.kind).toBe('pad');
    expect(kinds(g)).toContain('transpose');
    for (const op of ['ConstantOfShape', 'Slice', 'Cast', 'Constant', 'Concat']) expect(g.nodes.some((n) => n.onnxOp === op), op).toBe(false);
  });
});
