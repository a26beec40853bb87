/**
 * ONNX ops that PyTorch exports of newer CNNs use (Split, Slice, ReduceMean/Max,
 * GlobalMaxPool, PRelu, Pow, Gelu, LogSoftmax, the exact-GELU pattern), on
 * hand-encoded models with outputs worked out by hand. torch's own exports of them are
 * checked in onnx-fixtures.test.ts (modern_acts, elementwise).
 */
import type onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { DenseExecutor } from '../../src/model/dense/executor.js';
import { createEngine } from '../../src/model/evnet/engine.js';
import { parsePolicy } from '../../src/model/evnet/policy.js';
import { denseMacsOf, type Graph } from '../../src/model/ir.js';
import { importOnnx } from '../../src/model/onnx/import.js';
import { encode, expectError, floats, int64s, intAttr, strAttr, valueInfo, type ModelSpec } from '../helpers/onnx.js';

type Node = onnxProto.onnx.INodeProto;

/** Imports a model reading x [inDims] and producing y [outDims]. */
function model(nodes: Node[], inDims: number[], outDims: number[], extra: Partial<ModelSpec> = {}): Graph {
  return importOnnx(encode({ nodes, inputs: [valueInfo('x', inDims)], outputs: [valueInfo('y', outDims)], ...extra }), 'm.onnx');
}
const run = (g: Graph, x: number[]): number[] => Array.from(new DenseExecutor(g).run(Float32Array.from(x)));
const close = (got: number[], want: number[]): void => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(got[i], `element ${i}`).toBeCloseTo(w, 6));
};

describe('Split and Slice are gathers of the activation', () => {
  it('Split (opset 13, sizes [1, 3]) with both outputs used: concat(b, relu(a))', () => {
    const g = model([
      { name: 'sp', opType: 'Split', input: ['x', 'sizes'], output: ['a', 'b'], attribute: [intAttr('axis', 1)] },
      { name: 'r', opType: 'Relu', input: ['a'], output: ['ra'] },
      { name: 'cat', opType: 'Concat', input: ['b', 'ra'], output: ['y'], attribute: [intAttr('axis', 1)] },
    ], [1, 4], [1, 4], { init: [int64s('sizes', [1, 3])] });
    expect(run(g, [-1, 2, -3, 4])).toEqual([2, -3, 4, 0]);
    expect(g.nodes.filter((n) => n.onnxOp === 'Split').map((n) => n.op.kind)).toEqual(['resize', 'resize']);
  });

  it('Split (opset 18, num_outputs 3) of 5 elements is 2 + 2 + 1; an unused output is dropped', () => {
    const g = model([
      { name: 'sp', opType: 'Split', input: ['x'], output: ['a', 'b', 'c'], attribute: [intAttr('axis', 1), intAttr('num_outputs', 3)] },
      { name: 'cat', opType: 'Concat', input: ['c', 'a'], output: ['y'], attribute: [intAttr('axis', 1)] },
    ], [1, 5], [1, 3], { opset: 18 });
    expect(run(g, [1, 2, 3, 4, 5])).toEqual([5, 1, 2]);
    expect(g.nodes.filter((n) => n.onnxOp === 'Split')).toHaveLength(2);
  });

  it('a Split counts each input element once, however many outputs it has', () => {
    const g = model([
      { name: 'sp', opType: 'Split', input: ['x', 'sizes'], output: ['a', 'b'], attribute: [intAttr('axis', 1)] },
      { name: 'cat', opType: 'Concat', input: ['b', 'a'], output: ['y'], attribute: [intAttr('axis', 1)] },
    ], [1, 4], [1, 4], { init: [int64s('sizes', [2, 2])] });
    const engine = createEngine(g, { threshold: 0, policy: parsePolicy('threshold') });
    // Frame 0: 4 split + 4 concat; frame 1 changes one element: 1 + 1.
    expect(engine.step(Float32Array.of(1, 2, 3, 4)).adds).toBe(8);
    expect(engine.step(Float32Array.of(1, 2, 3, 5)).adds).toBe(2);
  });

  it('Split without sizes: equal parts before opset 18, or exit 2; sizes and num_outputs together exit 2', () => {
    const uneven = encode({ nodes: [{ name: 'odd', opType: 'Split', input: ['x'], output: ['y', 'z'], attribute: [intAttr('axis', 1)] }], inputs: [valueInfo('x', [1, 5])], outputs: [valueInfo('y', [1, 3])], opset: 11 });
    expectError(() => importOnnx(uneven), 'BAD_MODEL', /node 'odd'/, /length 5 does not split into 2 equal parts/);
    const both = encode({
      nodes: [{ name: 'both', opType: 'Split', input: ['x', 'sizes'], output: ['y', 'z'], attribute: [intAttr('axis', 1), intAttr('num_outputs', 2)] }],
      init: [int64s('sizes', [2, 2])], outputs: [valueInfo('y', [1, 2])], opset: 18,
    });
    expectError(() => importOnnx(both), 'BAD_MODEL', /node 'both'/, /not both/);
  });

  it('Split (opset 11) without sizes cuts equal parts, one per output', () => {
    const g = model([
      { name: 'sp', opType: 'Split', input: ['x'], output: ['a', 'b'], attribute: [intAttr('axis', -1)] },
      { name: 'sub', opType: 'Sub', input: ['a', 'b'], output: ['y'] },
    ], [1, 4], [1, 2], { opset: 11 });
    expect(run(g, [10, 20, 1, 2])).toEqual([9, 18]);
  });

  it('Split sizes that do not add up to the axis → BAD_MODEL naming the node', () => {
    const bytes = encode({
      nodes: [{ name: 'bad_split', opType: 'Split', input: ['x', 'sizes'], output: ['y', 'z'], attribute: [intAttr('axis', 1)] }],
      init: [int64s('sizes', [1, 2])],
      outputs: [valueInfo('y', [1, 1])],
    });
    expectError(() => importOnnx(bytes), 'BAD_MODEL', /node 'bad_split'/, /summing to 4/);
    const three = encode({
      nodes: [{ name: 'split3', opType: 'Split', input: ['x', 'sizes'], output: ['y', 'z'], attribute: [intAttr('axis', 1)] }],
      init: [int64s('sizes', [1, 1, 2])],
      outputs: [valueInfo('y', [1, 1])],
    });
    expectError(() => importOnnx(three), 'BAD_MODEL', /node 'split3'/, /2 outputs but 3 split sizes/);
  });

  it('Slice with a negative step from the end: x[:, -1::-2] of 5 elements reads 4, 2, 0', () => {
    const g = model([{ name: 'sl', opType: 'Slice', input: ['x', 's', 'e', 'ax', 'st'], output: ['y'] }], [1, 5], [1, 3], {
      init: [int64s('s', [-1]), int64s('e', [-10]), int64s('ax', [1]), int64s('st', [-2])],
    });
    expect(run(g, [1, 2, 3, 4, 5])).toEqual([5, 3, 1]);
  });

  it('Slice (opset 9, attributes) of a 2-D window: rows 1..2, columns 0..1 of a 3 × 3', () => {
    const ints = (name: string, v: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: 7, ints: v });
    const g = model([{ name: 'sl', opType: 'Slice', input: ['x'], output: ['y'], attribute: [ints('starts', [1, 0]), ints('ends', [3, 2]), ints('axes', [2, 3])] }],
      [1, 1, 3, 3], [1, 1, 2, 2], { opset: 9 });
    expect(run(g, [1, 2, 3, 4, 5, 6, 7, 8, 9])).toEqual([4, 5, 7, 8]);
  });

  it('an empty Slice → UNSUPPORTED_OP', () => {
    const bytes = encode({
      nodes: [{ name: 'empty', opType: 'Slice', input: ['x', 's', 'e'], output: ['y'] }],
      init: [int64s('s', [0, 3]), int64s('e', [1, 3])],
    });
    expectError(() => importOnnx(bytes), 'UNSUPPORTED_OP', /node 'empty'/, /empty/);
  });
});

describe('reductions over the spatial axes are global poolings', () => {
  const x8 = [1, 2, 3, 4, 5, 6, 7, 8];
  it('ReduceMean over (2, 3) without keepdims: per-channel means [2.5, 6.5]', () => {
    const g = model([{ name: 'rm', opType: 'ReduceMean', input: ['x'], output: ['y'], attribute: [{ name: 'axes', type: 7, ints: [2, 3] }, intAttr('keepdims', 0)] }],
      [1, 2, 2, 2], [1, 2]);
    expect(run(g, x8)).toEqual([2.5, 6.5]);
    // One node: the pooled [1, 2] is read as 2 channels of 1 × 1 (no reshape, no extra adds).
    expect(g.nodes.map((n) => n.op.kind)).toEqual(['avgpool']);
    expect(g.tensors[g.output]!.shape).toEqual([1, 2]);
  });

  it('ReduceMean (opset 18, axes as an input) over the last axis of [1, 2, 3], keepdims', () => {
    const g = model([{ name: 'rm', opType: 'ReduceMean', input: ['x', 'axes'], output: ['y'] }], [1, 2, 3], [1, 2, 1], { opset: 18, init: [int64s('axes', [-1])] });
    expect(run(g, [1, 2, 3, 4, 5, 6])).toEqual([2, 5]);
  });

  it('ReduceMax and GlobalMaxPool: per-channel maxima [4, 8]', () => {
    const rmax = model([{ name: 'rx', opType: 'ReduceMax', input: ['x'], output: ['y'], attribute: [{ name: 'axes', type: 7, ints: [-2, -1] }] }], [1, 2, 2, 2], [1, 2, 1, 1]);
    expect(run(rmax, x8)).toEqual([4, 8]);
    const gmp = model([{ name: 'gm', opType: 'GlobalMaxPool', input: ['x'], output: ['y'] }], [1, 2, 2, 2], [1, 2, 1, 1]);
    expect(run(gmp, [-1, -2, -3, -4, 5, 0, 0, 0])).toEqual([-1, 5]);
  });

  it('ReduceMean over the channels → UNSUPPORTED_OP saying which reductions work', () => {
    const bytes = encode({ nodes: [{ name: 'chan_mean', opType: 'ReduceMean', input: ['x'], output: ['y'], attribute: [{ name: 'axes', type: 7, ints: [1] }] }], inputs: [valueInfo('x', [1, 2, 2, 2])] });
    expectError(() => importOnnx(bytes), 'UNSUPPORTED_OP', /node 'chan_mean'/, /axes \[1\]/, /only over all spatial axes/);
  });
});

describe('elementwise activations', () => {
  it('PRelu: one slope is a LeakyRelu; a slope per channel broadcasts over H × W', () => {
    const one = model([{ name: 'p', opType: 'PRelu', input: ['x', 's'], output: ['y'] }], [1, 4], [1, 4], { init: [floats('s', [1], [0.25])] });
    expect(one.nodes[0]!.op).toMatchObject({ kind: 'unary', fn: 'leakyrelu', a: 0.25 });
    expect(run(one, [-4, 2, -1, 0])).toEqual([-1, 2, -0.25, 0]);
    const per = model([{ name: 'p', opType: 'PRelu', input: ['x', 's'], output: ['y'] }], [1, 2, 1, 2], [1, 2, 1, 2], { init: [floats('s', [2, 1, 1], [0.125, 0.5])] });
    expect(run(per, [-1, 2, -4, -2])).toEqual([-0.125, 2, -2, -1]);
    // A [2] slope lines up with the last axis (W = 3 here), so it does not broadcast.
    const bytes = encode({ nodes: [{ name: 'p3', opType: 'PRelu', input: ['x', 's'], output: ['y'] }], init: [floats('s', [2], [0.1, 0.2])], inputs: [valueInfo('x', [1, 2, 1, 3])] });
    expectError(() => importOnnx(bytes), 'BAD_MODEL', /node 'p3'/, /shape \[2\] does not broadcast to the activation's \[1,2,1,3\]/);
  });

  it('Pow by one constant exponent; an exponent per element → UNSUPPORTED_OP', () => {
    const g = model([{ name: 'pw', opType: 'Pow', input: ['x', 'e'], output: ['y'] }], [1, 3], [1, 3], { init: [floats('e', [], [3])] });
    expect(run(g, [-2, 0.5, 3])).toEqual([-8, 0.125, 27]);
    const bytes = encode({ nodes: [{ name: 'pw2', opType: 'Pow', input: ['x', 'e'], output: ['y'] }], init: [floats('e', [4], [1, 2, 3, 4])] });
    expectError(() => importOnnx(bytes), 'UNSUPPORTED_OP', /node 'pw2'/, /one exponent/);
  });

  it('Gelu (opset 20): exact and tanh forms; an unknown approximation → BAD_MODEL', () => {
    const exact = model([{ name: 'g', opType: 'Gelu', input: ['x'], output: ['y'] }], [1, 2], [1, 2], { opset: 20 });
    // Φ(1) = 0.841344746…; the tanh form gives 0.841191991… (computed with Python's math).
    close(run(exact, [1, -1]), [0.841344746, -0.158655254]);
    const tanh = model([{ name: 'g', opType: 'Gelu', input: ['x'], output: ['y'], attribute: [strAttr('approximate', 'tanh')] }], [1, 2], [1, 2], { opset: 20 });
    close(run(tanh, [1, -1]), [0.841191991, -0.158808009]);
    const bytes = encode({ nodes: [{ name: 'g2', opType: 'Gelu', input: ['x'], output: ['y'], attribute: [strAttr('approximate', 'fast')] }], opset: 20 });
    expectError(() => importOnnx(bytes), 'BAD_MODEL', /node 'g2'/, /'none' or 'tanh'/);
  });

  it('Elu with alpha 2, Celu with alpha 0 refused', () => {
    const g = model([{ name: 'e', opType: 'Elu', input: ['x'], output: ['y'], attribute: [{ name: 'alpha', type: 1, f: 2 }] }], [1, 2], [1, 2]);
    close(run(g, [-1, 3]), [2 * (Math.exp(-1) - 1), 3]);
    const bytes = encode({ nodes: [{ name: 'c0', opType: 'Celu', input: ['x'], output: ['y'], attribute: [{ name: 'alpha', type: 1, f: 0 }] }] });
    expectError(() => importOnnx(bytes), 'BAD_MODEL', /node 'c0'/, /alpha cannot be 0/);
  });

  it('LogSoftmax: log of [1/4, 3/4] from logits [0, ln 3]', () => {
    const g = model([{ name: 'ls', opType: 'LogSoftmax', input: ['x'], output: ['y'], attribute: [intAttr('axis', 1)] }], [1, 2], [1, 2]);
    close(run(g, [0, Math.log(3)]), [Math.log(0.25), Math.log(0.75)]);
  });
});

describe('the exact GELU that torch exports as five nodes runs as one', () => {
  const sqrt2 = floats('sqrt2', [], [Math.SQRT2]);
  const one = floats('one', [], [1]);
  const half = floats('half', [], [0.5]);
  const head: Node[] = [
    { name: 'div', opType: 'Div', input: ['x', 'sqrt2'], output: ['d'] },
    { name: 'erf', opType: 'Erf', input: ['d'], output: ['e'] },
    { name: 'add', opType: 'Add', input: ['e', 'one'], output: ['p'] },
  ];

  it('x · (1 + erf(x/√2)) · 0.5 → one Gelu node; Φ(1) at x = 1', () => {
    const g = model([...head,
      { name: 'mul', opType: 'Mul', input: ['x', 'p'], output: ['m'] },
      { name: 'mul2', opType: 'Mul', input: ['m', 'half'], output: ['y'] },
    ], [1, 3], [1, 3], { init: [sqrt2, one, half] });
    expect(g.nodes.map((n) => [n.op.kind, n.onnxOp])).toEqual([['unary', 'Gelu']]);
    expect(g.nodes[0]!.op).toMatchObject({ fn: 'gelu', a: 0 });
    close(run(g, [1, -1, 0]), [0.841344746, -0.158655254, 0]);
  });

  it('(x · 0.5) · (1 + erf(x/√2)) as well', () => {
    const g = model([...head,
      { name: 'hx', opType: 'Mul', input: ['x', 'half'], output: ['h'] },
      { name: 'mul', opType: 'Mul', input: ['h', 'p'], output: ['y'] },
    ], [1, 1], [1, 1], { init: [sqrt2, one, half] });
    expect(g.nodes.map((n) => n.onnxOp)).toEqual(['Gelu']);
  });

  it('the tanh form as torch writes it (x·x·x, ·0.044715, +x, ·√(2/π), tanh, +1, ·x, ·0.5) → one Gelu', () => {
    const g = model([
      { name: 'sq', opType: 'Mul', input: ['x', 'x'], output: ['x2'] },
      { name: 'cu', opType: 'Mul', input: ['x', 'x2'], output: ['x3'] },
      { name: 'k', opType: 'Mul', input: ['c', 'x3'], output: ['kx3'] },
      { name: 'inner', opType: 'Add', input: ['x', 'kx3'], output: ['s'] },
      { name: 'sc', opType: 'Mul', input: ['r', 's'], output: ['u'] },
      { name: 'th', opType: 'Tanh', input: ['u'], output: ['t'] },
      { name: 'p1', opType: 'Add', input: ['one', 't'], output: ['p'] },
      { name: 'm', opType: 'Mul', input: ['x', 'p'], output: ['m'] },
      { name: 'h', opType: 'Mul', input: ['half', 'm'], output: ['y'] },
    ], [1, 2], [1, 2], { init: [floats('c', [], [0.044715]), floats('r', [], [Math.sqrt(2 / Math.PI)]), one, half] });
    expect(g.nodes.map((n) => [n.onnxOp, n.name])).toEqual([['Gelu', 'th (GELU)']]);
    expect(g.nodes[0]!.op).toMatchObject({ fn: 'gelu', a: 1 });
    close(run(g, [1, -1]), [0.841191991, -0.158808009]);
  });

  it('not when a part is read elsewhere or a constant differs', () => {
    // erf(x/√2) also goes to the output: the pattern's inside is needed, nothing fused.
    const shared = model([...head,
      { name: 'mul', opType: 'Mul', input: ['x', 'p'], output: ['m'] },
      { name: 'mul2', opType: 'Mul', input: ['m', 'half'], output: ['g'] },
      { name: 'sum', opType: 'Add', input: ['g', 'e'], output: ['y'] },
    ], [1, 1], [1, 1], { init: [sqrt2, one, half] });
    expect(shared.nodes.some((n) => n.onnxOp === 'Gelu')).toBe(false);
    const other = model([...head,
      { name: 'mul', opType: 'Mul', input: ['x', 'p'], output: ['m'] },
      { name: 'mul2', opType: 'Mul', input: ['m', 'two'], output: ['y'] },
    ], [1, 1], [1, 1], { init: [sqrt2, one, floats('two', [], [2])] });
    expect(other.nodes.some((n) => n.onnxOp === 'Gelu')).toBe(false);
    // Unfused, it still computes x · (1 + erf(x/√2)) · 2 = 4·Φ(x)·x.
    close(run(other, [1]), [4 * 0.841344746]);
  });
});

describe('ConvTranspose', () => {
  // x = [[1, 2], [3, 4]], a 3×3 kernel of ones, stride 2: the full 5×5 result is
  // [[1,1,3,2,2], [1,1,3,2,2], [4,4,10,6,6], [3,3,7,4,4], [3,3,7,4,4]] (patches overlap
  // on row and column 2); pads crop it.
  const ones = floats('w', [1, 1, 3, 3], new Array<number>(9).fill(1));
  const ints = (name: string, v: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: 7, ints: v });
  const convT = (attrs: onnxProto.onnx.IAttributeProto[], out: number[]): Graph =>
    model([{ name: 'up', opType: 'ConvTranspose', input: ['x', 'w'], output: ['y'], attribute: [ints('strides', [2, 2]), ...attrs] }], [1, 1, 2, 2], out, { init: [ones] });

  it('pads crop the full result', () => {
    expect(run(convT([ints('pads', [1, 1, 0, 0])], [1, 1, 4, 4]), [1, 2, 3, 4])).toEqual([1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4]);
  });

  it('output_shape 4×4: the one extra row and column come off the beginning', () => {
    expect(run(convT([ints('output_shape', [4, 4])], [1, 1, 4, 4]), [1, 2, 3, 4])).toEqual([1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4]);
  });

  it('auto_pad SAME_UPPER: output = input × stride, the extra off the end', () => {
    expect(run(convT([strAttr('auto_pad', 'SAME_UPPER')], [1, 1, 4, 4]), [1, 2, 3, 4])).toEqual([1, 1, 3, 2, 1, 1, 3, 2, 4, 4, 10, 6, 3, 3, 7, 4]);
  });

  it('dense MACs are inputs × the kernel each scatters; MACs count only taps inside the output', () => {
    const g = convT([ints('pads', [1, 1, 0, 0])], [1, 1, 4, 4]);
    expect(g.nodes[0]!.op).toMatchObject({ kind: 'conv', transposed: true, kh: 3, strideH: 2, padT: 1, padB: 0 });
    expect(denseMacsOf(g.nodes[0]!, g)).toBe(4 * 9);
    // Cropping the first row and column leaves 2×2, 2×3, 3×2 and 3×3 taps of the four patches.
    const frame = createEngine(g, { threshold: 0, policy: parsePolicy('threshold') }).step(Float32Array.of(1, 2, 3, 4));
    expect(frame.macs).toBe(4 + 6 + 6 + 9);
  });

  it('an output_shape larger than the full result → UNSUPPORTED_OP; a weight for other channels → BAD_MODEL', () => {
    const big = encode({
      nodes: [{ name: 'up_big', opType: 'ConvTranspose', input: ['x', 'w'], output: ['y'], attribute: [ints('strides', [2, 2]), ints('output_shape', [6, 6])] }],
      init: [ones], inputs: [valueInfo('x', [1, 1, 2, 2])],
    });
    expectError(() => importOnnx(big), 'UNSUPPORTED_OP', /node 'up_big'/, /output_shape \[6,6\]/);
    const wrong = encode({
      nodes: [{ name: 'up_ch', opType: 'ConvTranspose', input: ['x', 'w'], output: ['y'] }],
      init: [ones], inputs: [valueInfo('x', [1, 2, 2, 2])],
    });
    expectError(() => importOnnx(wrong), 'BAD_MODEL', /node 'up_ch'/, /does not match 2 input channels/);
  });
});

describe('a dilated AveragePool (opset 19) divides by the taps it reads', () => {
  const ints = (name: string, v: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: 7, ints: v });
  const pool = (countIncludePad: number): Graph => model([{
    name: 'ap', opType: 'AveragePool', input: ['x'], output: ['y'],
    attribute: [ints('kernel_shape', [1, 3]), ints('dilations', [1, 2]), ints('pads', [0, 1, 0, 1]), intAttr('count_include_pad', countIncludePad)],
  }], [1, 1, 1, 5], [1, 1, 1, 3], { opset: 19 });

  it('without padding counted: windows at −1, 1, 3 read 1, 3 / 0, 2, 4 / 1, 3 (5 is padding)', () => {
    // x = 1, 2, 4, 8, 16: (2 + 8) / 2, (1 + 4 + 16) / 3, (2 + 8) / 2.
    expect(run(pool(0), [1, 2, 4, 8, 16])).toEqual([5, 7, 5]);
  });

  it('with padding counted: three taps each, padding reading 0', () => {
    expect(run(pool(1), [1, 2, 4, 8, 16])).toEqual([10 / 3, 7, 10 / 3].map(Math.fround));
  });
});

describe('nearest Resize at fractional scales (float32 arithmetic, as PyTorch exports and ONNX Runtime runs it)', () => {
  const nearest = (n: number, scale: number, outLen: number): Graph => model([{
    name: 'rs', opType: 'Resize', input: ['x', '', 'scales'], output: ['y'],
    attribute: [strAttr('mode', 'nearest'), strAttr('coordinate_transformation_mode', 'asymmetric'), strAttr('nearest_mode', 'floor')],
  }], [1, 1, 1, n], [1, 1, 1, outLen], { init: [floats('scales', [4], [1, 1, 1, scale])] });
  const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

  it('×0.6 of 0…9 reads 0 1 3 5 6 8 (o / 0.6f in float32: output 3 at exactly 5, not 4.9999998)', () => {
    expect(run(nearest(10, 0.6, 6), iota(10))).toEqual([0, 1, 3, 5, 6, 8]);
  });

  it('×1.2 of 0…9 reads 0 0 1 2 3 4 5 5 6 7 8 9 (torch.nn.functional.interpolate, by hand: floor(o / 1.2f))', () => {
    expect(run(nearest(10, 1.2, 12), iota(10))).toEqual([0, 0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9]);
  });

  it('tf_half_pixel_for_nn with ceil keeps a scale-1 axis one to one, as ONNX Runtime does (was: o + 0.5 rounded up read the next channel and row)', () => {
    // [1, 2, 2, 2] → ×2 on the last axis only: channel c, row r stays channel c, row r;
    // along the last axis ceil((o + 0.5) / 2) clamped: outputs 0…3 read 1, 1, 1, 1 of [0, 1].
    const g = model([{
      name: 'rs', opType: 'Resize', input: ['x', '', 'scales'], output: ['y'],
      attribute: [strAttr('mode', 'nearest'), strAttr('coordinate_transformation_mode', 'tf_half_pixel_for_nn'), strAttr('nearest_mode', 'ceil')],
    }], [1, 2, 2, 2], [1, 2, 2, 4], { init: [floats('scales', [4], [1, 1, 1, 2])] });
    expect(run(g, [0, 1, 2, 3, 4, 5, 6, 7])).toEqual([1, 1, 1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 7, 7, 7, 7]);
  });

  it('×0.7 of 10 is 7 long (10 × 0.7f = 7 in float32; 6.99999988 in float64)', () => {
    const g = nearest(10, 0.7, 7);
    expect(g.tensors[g.output]!.shape).toEqual([1, 1, 1, 7]);
  });
});

describe('linear (bilinear) Resize', () => {
  const resize = (inDims: number[], outDims: number[], coord: string, scales: number[]): Graph => model([{
    name: 'rs', opType: 'Resize', input: ['x', '', 'scales'], output: ['y'],
    attribute: [strAttr('mode', 'linear'), strAttr('coordinate_transformation_mode', coord)],
  }], inDims, outDims, { init: [floats('scales', [scales.length], scales)] });

  it('asymmetric ×2 of [0, 4]: 0, 2, 4 and the clamped 4', () => {
    expect(run(resize([1, 1, 1, 2], [1, 1, 1, 4], 'asymmetric', [1, 1, 1, 2]), [0, 4])).toEqual([0, 2, 4, 4]);
  });

  it('align_corners 3 → 5 (by sizes): the ends kept, midpoints between', () => {
    const g = model([{
      name: 'rs', opType: 'Resize', input: ['x', '', '', 'sizes'], output: ['y'],
      attribute: [strAttr('mode', 'linear'), strAttr('coordinate_transformation_mode', 'align_corners')],
    }], [1, 1, 1, 3], [1, 1, 1, 5], { init: [int64s('sizes', [1, 1, 1, 5])] });
    expect(run(g, [2, 6, -2])).toEqual([2, 4, 6, 2, -2]);
  });

  it('half_pixel ×2 in two axes: corner (0, 0) is x[0][0], (1, 1) mixes four inputs 9 : 3 : 3 : 1', () => {
    // Output 1 of each axis sits at input 0.25: weights 0.75 and 0.25.
    const y = run(resize([1, 1, 2, 2], [1, 1, 4, 4], 'half_pixel', [1, 1, 2, 2]), [0, 16, 32, 64]);
    expect(y[0]).toBe(0);
    expect(y[5]).toBeCloseTo((9 * 0 + 3 * 16 + 3 * 32 + 1 * 64) / 16, 6);
  });

  it('cubic → UNSUPPORTED_OP naming the node', () => {
    const bytes = encode({ nodes: [{ name: 'cubic', opType: 'Resize', input: ['x', '', 'scales'], output: ['y'], attribute: [strAttr('mode', 'cubic')] }], init: [floats('scales', [2], [1, 2])] });
    expectError(() => importOnnx(bytes), 'UNSUPPORTED_OP', /node 'cubic'/, /'nearest' or 'linear'/);
  });
});


describe('QuantizeLinear → DequantizeLinear (fake quantization)', () => {
  const UINT8 = 2;
  const INT8 = 3;
  const INT32 = 6;
  const ints = (name: string, dims: number[], dataType: number, data: number[]): onnxProto.onnx.ITensorProto => ({ name, dims, dataType, int32Data: data });
  const qdq = (zp: onnxProto.onnx.ITensorProto | null, scale: onnxProto.onnx.ITensorProto, attrs: onnxProto.onnx.IAttributeProto[] = []): Node[] => [
    { name: 'q', opType: 'QuantizeLinear', input: ['x', scale.name!, ...(zp ? [zp.name!] : [])], output: ['xq'], attribute: attrs },
    { name: 'dq', opType: 'DequantizeLinear', input: ['xq', scale.name!, ...(zp ? [zp.name!] : [])], output: ['y'], attribute: attrs },
  ];

  // The ONNX operator documentation's examples, dequantized by hand: (q − zero) · scale.
  it('uint8, scale 2, zero point 128: x [0, 2, 3, 1000, −254, −1000] quantizes to [128, 129, 130, 255, 1, 0]', () => {
    const zp = ints('zp', [], UINT8, [128]);
    const g = model(qdq(zp, floats('s', [], [2])), [1, 6], [1, 6], { init: [floats('s', [], [2]), zp] });
    // 3 / 2 = 1.5 rounds to even 2; 1000 and −1000 saturate.
    expect(run(g, [0, 2, 3, 1000, -254, -1000])).toEqual([0, 2, 4, 254, -254, -256]);
  });

  it('int8, scale 2, zero point −1: [−1, 0, 1, 127, −128, −128]', () => {
    const zp = ints('zp', [], INT8, [-1]);
    const g = model(qdq(zp, floats('s', [], [2])), [1, 6], [1, 6], { init: [floats('s', [], [2]), zp] });
    expect(run(g, [0, 2, 3, 1000, -254, -1000])).toEqual([0, 2, 4, 256, -254, -254]);
  });

  it('per axis (axis 1): scales [2, 4, 5], zero points [84, 24, 196] on [1, 3, 3, 2]', () => {
    const zp = ints('zp', [3], UINT8, [84, 24, 196]);
    const g = model(qdq(zp, floats('s', [3], [2, 4, 5])), [1, 3, 3, 2], [1, 3, 3, 2], { init: [floats('s', [3], [2, 4, 5]), zp] });
    const x = [-162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32, -44, 245, -485, -960, -270, -375, -470];
    const q = [3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32, 13, 245, 99, 4, 142, 121, 102];
    const s = [2, 4, 5];
    const z = [84, 24, 196];
    expect(run(g, x)).toEqual(q.map((v, i) => (v - z[Math.floor(i / 6)]!) * s[Math.floor(i / 6)]!));
  });

  it('no zero point: uint8 from 0; one node of the graph, deltas then multiples of the scale', () => {
    const g = model([{ name: 'r', opType: 'Relu', input: ['x'], output: ['h'] }, ...qdq(null, floats('s', [], [0.25])).map((n) => ({ ...n, input: n.input!.map((i) => (i === 'x' ? 'h' : i)) }))], [1, 4], [1, 4], { init: [floats('s', [], [0.25])] });
    expect(run(g, [0.1, 0.125, 0.375, 100])).toEqual([0, 0, 0.5, 63.75]);
    expect(g.nodes.map((n) => n.onnxOp)).toEqual(['Relu', 'QuantizeLinear']);
  });

  it('weights: a QDQ pair on an initializer folds into the constant the Gemm reads', () => {
    const zp = ints('wz', [], INT8, [0]);
    const g = model([
      { name: 'wq', opType: 'QuantizeLinear', input: ['w', 'ws', 'wz'], output: ['w8'] },
      { name: 'wdq', opType: 'DequantizeLinear', input: ['w8', 'ws', 'wz'], output: ['wf'] },
      { name: 'mm', opType: 'MatMul', input: ['x', 'wf'], output: ['y'] },
    ], [1, 2], [1, 1], { init: [floats('w', [2, 1], [0.3, -0.55]), floats('ws', [], [0.25]), zp] });
    // 0.3 / 0.25 = 1.2 → 1 → 0.25; −0.55 / 0.25 = −2.2 → −2 → −0.5.
    expect(run(g, [4, 2])).toEqual([4 * 0.25 - 2 * 0.5]);
  });

  it('a quantized activation read by anything but DequantizeLinear, or a mismatched pair → UNSUPPORTED_OP naming the node', () => {
    const s = floats('s', [], [0.5]);
    expectError(() => model([
      { name: 'q', opType: 'QuantizeLinear', input: ['x', 's'], output: ['xq'] },
      { name: 'r', opType: 'Relu', input: ['xq'], output: ['y'] },
    ], [1, 4], [1, 4], { init: [s] }), 'UNSUPPORTED_OP', /'q'/, /DequantizeLinear only/);
    expectError(() => model([
      { name: 'q', opType: 'QuantizeLinear', input: ['x', 's'], output: ['xq'] },
      { name: 'dq', opType: 'DequantizeLinear', input: ['xq', 's2'], output: ['y'] },
    ], [1, 4], [1, 4], { init: [s, floats('s2', [], [0.25])] }), 'UNSUPPORTED_OP', /'dq'/, /differs from the QuantizeLinear 'q'/);
    expectError(() => model(qdq(ints('zp', [], INT32, [0]), s), [1, 4], [1, 4], { init: [s, ints('zp', [], INT32, [0])] }), 'UNSUPPORTED_OP', /'q'/, /uint8, int8/);
    expectError(() => model(qdq(null, floats('s0', [], [0])), [1, 4], [1, 4], { init: [floats('s0', [], [0])] }), 'BAD_MODEL', /'q'/, /positive finite/);
  });
});

describe('folding a BatchNormalization or bias into the layer before it, only where that is the same computation', () => {
  // BN with scale γ/√(v+ε) = 2 or 3 per channel and shift β − m·scale = 1 or −1 (ε = 0).
  const bn = (c: number): onnxProto.onnx.ITensorProto[] => [
    floats('g', [c], c === 2 ? [2, 3] : [2, 3, 2]), floats('b', [c], c === 2 ? [1, -1] : [1, -1, 1]),
    floats('m', [c], new Array(c).fill(0)), floats('v', [c], new Array(c).fill(1)),
  ];
  const bnNode = (input: string, output: string): Node => ({ name: 'bn', opType: 'BatchNormalization', input: [input, 'g', 'b', 'm', 'v'], output: [output], attribute: [{ name: 'epsilon', type: 1, f: 0 }] });

  it('after a MatMul on [1, 3, 2] (BN over axis 1, the 3 rows): per row, not per output column', () => {
    // x rows (1, 2), (3, 4), (5, 6) · W = [[1, 0], [0, 1]] = x; row r scaled by (2, 3, 2)[r], shifted by (1, −1, 1)[r].
    const g = model([{ name: 'mm', opType: 'MatMul', input: ['x', 'w'], output: ['h'] }, bnNode('h', 'y')], [1, 3, 2], [1, 3, 2], { init: [floats('w', [2, 2], [1, 0, 0, 1]), ...bn(3)] });
    expect(run(g, [1, 2, 3, 4, 5, 6])).toEqual([3, 5, 8, 11, 11, 13]);
  });

  it('not through an Identity another node also reads: Gemm → Identity → BN, plus the Identity', () => {
    // h = x = (1, 2); y = BN(h) + h = (2·1 + 1, 3·2 − 1) + (1, 2) = (4, 7).
    const g = model([
      { name: 'mm', opType: 'MatMul', input: ['x', 'w'], output: ['a'] },
      { name: 'id', opType: 'Identity', input: ['a'], output: ['h'] },
      bnNode('h', 'n'),
      { name: 'add', opType: 'Add', input: ['n', 'h'], output: ['y'] },
    ], [1, 2], [1, 2], { init: [floats('w', [2, 2], [1, 0, 0, 1]), ...bn(2)] });
    expect(run(g, [1, 2])).toEqual([4, 7]);
  });
});

describe('a Clip of the integers between QuantizeLinear and DequantizeLinear (torch reduced-range QAT)', () => {
  const UINT8 = 2;
  const zp = { name: 'zp', dims: [], dataType: UINT8, int32Data: [0] } as onnxProto.onnx.ITensorProto;
  it('narrows the range the pair saturates to: scale 2, clip max 100 → at most 200', () => {
    const g = model([
      { name: 'q', opType: 'QuantizeLinear', input: ['x', 's', 'zp'], output: ['xq'] },
      { name: 'clip', opType: 'Clip', input: ['xq', '', 'hi'], output: ['xc'] },
      { name: 'dq', opType: 'DequantizeLinear', input: ['xc', 's', 'zp'], output: ['y'] },
    ], [1, 4], [1, 4], { init: [floats('s', [], [2]), zp, { name: 'hi', dims: [], dataType: UINT8, int32Data: [100] }] });
    expect(run(g, [3, 150, 400, -5])).toEqual([4, 150, 200, 0]);
  });

  it('a Clip after the DequantizeLinear clips the values (ReLU6), not the integers', () => {
    const g = model([
      { name: 'q', opType: 'QuantizeLinear', input: ['x', 's', 'zp'], output: ['xq'] },
      { name: 'dq', opType: 'DequantizeLinear', input: ['xq', 's', 'zp'], output: ['xf'] },
      { name: 'clip', opType: 'Clip', input: ['xf', 'lo', 'hi6'], output: ['y'] },
    ], [1, 4], [1, 4], { init: [floats('s', [], [2]), zp, floats('lo', [], [0]), floats('hi6', [], [6])] });
    expect(run(g, [3, 150, 400, -5])).toEqual([4, 6, 6, 0]);
  });
});

describe('Clip', () => {
  it('with min above max gives max everywhere (ONNX: min(max(x, min), max); numpy.clip and torch.clamp agree)', () => {
    const g = model([{ name: 'clip', opType: 'Clip', input: ['x', 'lo', 'hi'], output: ['y'] }], [1, 4], [1, 4], { init: [floats('lo', [], [0.5]), floats('hi', [], [0.25])] });
    expect(run(g, [-1, 0.3, 0.6, 2])).toEqual([0.25, 0.25, 0.25, 0.25]);
  });
});

describe('opset-18 Resize attributes that change what scales and sizes mean', () => {
  it('axes and keep_aspect_ratio_policy are refused by name (was: ignored, or NaN sizes)', () => {
    const node = (attribute: onnxProto.onnx.IAttributeProto[], ins: string[]): Node => ({ name: 'rs', opType: 'Resize', input: ins, output: ['y'], attribute: [strAttr('mode', 'nearest'), ...attribute] });
    expectError(() => model([node([{ name: 'axes', type: 7, ints: [2, 3] }], ['x', '', 'sc'])], [1, 1, 2, 2], [1, 1, 4, 4], { opset: 18, init: [floats('sc', [2], [2, 2])] }), 'UNSUPPORTED_OP', /'rs'/, /axes attribute/);
    expectError(() => model([node([strAttr('keep_aspect_ratio_policy', 'not_larger')], ['x', '', '', 'sz'])], [1, 1, 2, 2], [1, 1, 4, 4], { opset: 18, init: [int64s('sz', [1, 1, 4, 6])] }), 'UNSUPPORTED_OP', /'rs'/, /keep_aspect_ratio_policy 'not_larger'/);
  });
});

describe('a model with several outputs', () => {
  // x → fc1 → Relu → y1;  x → fc2 → y2;  x → Hardmax → y3 (an op evsim does not support).
  const w1 = [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1];
  const w2 = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const bytes = encode({
    nodes: [
      { name: 'fc1', opType: 'Gemm', input: ['x', 'w1'], output: ['h'] },
      { name: 'relu', opType: 'Relu', input: ['h'], output: ['y1'] },
      { name: 'fc2', opType: 'Gemm', input: ['x', 'w2'], output: ['y2'] },
      { name: 'hardmax', opType: 'Hardmax', input: ['x'], output: ['y3'] },
    ],
    init: [floats('w1', [4, 4], w1), floats('w2', [4, 4], w2)],
    outputs: [valueInfo('y1', [1, 4]), valueInfo('y2', [1, 4]), valueInfo('y3', [1, 4])],
  });

  it('is refused without a choice, naming its outputs and the flag that chooses', () => {
    expectError(() => importOnnx(bytes, 'multi.onnx'), 'BAD_MODEL', /multi\.onnx: the model has 3 outputs \('y1', 'y2', 'y3'\); choose the one to simulate with --model-output NAME/);
    expectError(() => importOnnx(bytes, 'multi.onnx', 'nope'), 'BAD_MODEL', /has no output 'nope'; its outputs are 'y1', 'y2', 'y3'/);
  });

  it('simulates the output chosen from its own branch (another branch\'s unsupported op does not matter)', () => {
    // y1 = relu(x · W1): x = [1, 2, 3, 4] → [1, −2, 6, 4] → [1, 0, 6, 4]; y2 = [x0, x0, x0, x0].
    const g1 = importOnnx(bytes, 'multi.onnx', 'y1');
    expect(g1.nodes.map((n) => n.onnxOp)).toEqual(['Gemm', 'Relu']);
    expect(run(g1, [1, 2, 3, 4])).toEqual([1, 0, 6, 4]);
    const g2 = importOnnx(bytes, 'multi.onnx', 'y2');
    expect(g2.nodes.map((n) => n.onnxOp)).toEqual(['Gemm']);
    expect(run(g2, [1, 2, 3, 4])).toEqual([1, 1, 1, 1]);
    expectError(() => importOnnx(bytes, 'multi.onnx', 'y3'), 'UNSUPPORTED_OP', /node 'hardmax'/);
  });
});
