/**
 * Bad ONNX input is reported as an EvsimError with a code and a one-line message that
 * says what and where (STYLE §7, §10: assert the code and a regex, not the whole text).
 * Models are hand-encoded with the onnx-proto package; a valid one of the same shape
 * is imported first, so every failure below is the rule under test and not a broken
 * encoding.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { DenseExecutor } from '../../src/model/dense/executor.js';
import { importOnnx, loadOnnx } from '../../src/model/onnx/import.js';
import { AT, FLOAT, encode, expectError, floats, int64s, intAttr, strAttr, valueInfo } from '../helpers/onnx.js';

const UINT8 = onnxProto.onnx.TensorProto.DataType.UINT8;
const floatAttr = (name: string, f: number): onnxProto.onnx.IAttributeProto => ({ name, type: AT.FLOAT, f });
import { mulberry32 } from '../helpers/rng.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'onnx');

const relu4 = (name = 'r0'): onnxProto.onnx.INodeProto => ({ name, opType: 'Relu', input: ['x'], output: ['y'] });

describe('the hand encoder produces importable models', () => {
  it('Relu on [1, 4]: relu([−1, 2, −3, 4]) = [0, 2, 0, 4]', () => {
    const g = importOnnx(encode({ nodes: [relu4()] }), 'relu.onnx');
    expect(g.nodes.map((n) => n.op.kind)).toEqual(['unary']);
    expect(Array.from(new DenseExecutor(g).run(Float32Array.of(-1, 2, -3, 4)))).toEqual([0, 2, 0, 4]);
  });

  it('Pad (constant mode, pads 1 on the last axis) and Resize (nearest, scales 1×2) import', () => {
    const pad = importOnnx(encode({
      nodes: [{ name: 'pad0', opType: 'Pad', input: ['x', 'pads'], output: ['y'], attribute: [strAttr('mode', 'constant')] }],
      init: [int64s('pads', [0, 1, 0, 1])],
      outputs: [valueInfo('y', [1, 6])],
    }));
    expect(Array.from(new DenseExecutor(pad).run(Float32Array.of(1, 2, 3, 4)))).toEqual([0, 1, 2, 3, 4, 0]);
    const resize = importOnnx(encode({
      nodes: [{ name: 'rs0', opType: 'Resize', input: ['x', '', 'scales'], output: ['y'], attribute: [strAttr('mode', 'nearest'), strAttr('coordinate_transformation_mode', 'asymmetric'), strAttr('nearest_mode', 'floor')] }],
      init: [floats('scales', [2], [1, 2])],
      outputs: [valueInfo('y', [1, 8])],
    }));
    // asymmetric + floor: output o copies input ⌊o/2⌋.
    expect(Array.from(new DenseExecutor(resize).run(Float32Array.of(1, 2, 3, 4)))).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
  });
});

describe('malformed files → BAD_MODEL', () => {
  it('random bytes', () => {
    const rng = mulberry32(99);
    for (const n of [1, 7, 64, 1000, 5000]) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(rng() * 256));
      expectError(() => importOnnx(bytes, 'noise.onnx'), 'BAD_MODEL', /noise\.onnx/);
    }
  });

  it('an input of more than 2³¹ − 1 elements names it and its shape (was: a 32-bit overflow reported at a Gemm)', () => {
    const m = encode({ nodes: [{ name: 'r', opType: 'Relu', input: ['x'], output: ['y'] }], inputs: [valueInfo('x', [1, 3, 1_000_000_000, 1])], outputs: [valueInfo('y', [1, 3, 1_000_000_000, 1])] });
    expectError(() => importOnnx(m, 'big.onnx'), 'BAD_MODEL', /tensor 'x' of shape \[1, 3, 1000000000, 1\] has 3\.00e\+9 elements, more than evsim handles/);
  });

  it('an empty file', () => {
    expectError(() => importOnnx(new Uint8Array(0), 'empty.onnx'), 'BAD_MODEL', /empty\.onnx/);
  });

  it('every fixture truncated to half its length', () => {
    const files = readdirSync(FIX).filter((f) => f.endsWith('.onnx'));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) {
      const bytes = readFileSync(join(FIX, f));
      expectError(() => importOnnx(bytes.subarray(0, Math.floor(bytes.length / 2)), f), 'BAD_MODEL');
    }
  });

  it('a fixture truncated at other points', () => {
    const bytes = readFileSync(join(FIX, 'cnn_basic.onnx'));
    for (const frac of [0.01, 0.1, 0.3, 0.7, 0.9, 0.99]) {
      expectError(() => importOnnx(bytes.subarray(0, Math.floor(bytes.length * frac)), 'cnn_basic.onnx'), 'BAD_MODEL');
    }
    expectError(() => importOnnx(bytes.subarray(0, bytes.length - 1), 'cnn_basic.onnx'), 'BAD_MODEL');
  });

  it('a missing file names the path', () => {
    expectError(() => loadOnnx('/nonexistent/dir/model.onnx'), 'BAD_MODEL', /\/nonexistent\/dir\/model\.onnx/);
  });

  it("the file's bytes passed for its path are named by their size (was: every byte in a 4.5 MB message)", () => {
    const bytes = readFileSync(join(FIX, 'mlp.onnx'));
    const e = expectError(() => loadOnnx(bytes as never), 'BAD_USAGE', new RegExp(`^loadOnnx\\(\\) takes the path of an \\.onnx file, got a Buffer of ${bytes.length} bytes$`));
    expect(e.message.length).toBeLessThan(100);
  });
});

describe('unsupported ops and attributes → UNSUPPORTED_OP naming the node', () => {
  it("an unknown op ('Hardmax'): names the node and the op and lists the supported ops", () => {
    const bytes = encode({ nodes: [{ name: 'my_hardmax', opType: 'Hardmax', input: ['x'], output: ['y'] }] });
    expectError(() => importOnnx(bytes, 'hardmax.onnx'), 'UNSUPPORTED_OP', /node 'my_hardmax'/, /'Hardmax'/, /supported ops:.*\bConv\b.*\bRelu\b/);
  });

  it('an unnamed node is named by its op and position', () => {
    const bytes = encode({ nodes: [relu4('first'), { opType: 'Hardmax', input: ['y'], output: ['z'] }], outputs: [valueInfo('z', [1, 4])] });
    expectError(() => importOnnx(bytes), 'UNSUPPORTED_OP', /node 'Hardmax_1'/, /'Hardmax'/);
  });

  it("Resize with mode 'cubic'", () => {
    const bytes = encode({
      nodes: [{ name: 'up_cubic', opType: 'Resize', input: ['x', '', 'scales'], output: ['y'], attribute: [strAttr('mode', 'cubic')] }],
      init: [floats('scales', [2], [1, 2])],
      outputs: [valueInfo('y', [1, 8])],
    });
    expectError(() => importOnnx(bytes), 'UNSUPPORTED_OP', /node 'up_cubic'/, /cubic/, /'nearest' or 'linear'/);
  });

  it("Upsample (opset 9) with mode 'linear' imports: asymmetric coordinates, the last clamped", () => {
    const g = importOnnx(encode({
      opset: 9,
      nodes: [{ name: 'ups', opType: 'Upsample', input: ['x', 'scales'], output: ['y'], attribute: [strAttr('mode', 'linear')] }],
      init: [floats('scales', [2], [1, 2])],
      outputs: [valueInfo('y', [1, 8])],
    }));
    expect(Array.from(new DenseExecutor(g).run(Float32Array.of(1, 2, 3, 4)))).toEqual([1, 1.5, 2, 2.5, 3, 3.5, 4, 4]);
  });

  it("Pad with mode 'reflect'", () => {
    const bytes = encode({
      nodes: [{ name: 'pad_reflect', opType: 'Pad', input: ['x', 'pads'], output: ['y'], attribute: [strAttr('mode', 'reflect')] }],
      init: [int64s('pads', [0, 1, 0, 1])],
      outputs: [valueInfo('y', [1, 6])],
    });
    expectError(() => importOnnx(bytes), 'UNSUPPORTED_OP', /node 'pad_reflect'/, /reflect/);
  });

  it('a custom op domain', () => {
    const bytes = encode({ nodes: [{ name: 'cust', opType: 'Relu', domain: 'com.example', input: ['x'], output: ['y'] }] });
    expectError(() => importOnnx(bytes), 'UNSUPPORTED_OP', /node 'cust'/, /com\.example/);
  });

  it('Div of two activations', () => {
    const bytes = encode({ nodes: [{ name: 'div2', opType: 'Div', input: ['x', 'x'], output: ['y'] }] });
    expectError(() => importOnnx(bytes), 'UNSUPPORTED_OP', /node 'div2'/, /division/);
  });

  it('BatchNormalization in training mode', () => {
    const c = (n: string, v: number) => floats(n, [4], [v, v, v, v]);
    const bytes = encode({
      inputs: [valueInfo('x', [1, 4, 2])],
      outputs: [valueInfo('y', [1, 4, 2])],
      nodes: [{ name: 'bn_train', opType: 'BatchNormalization', input: ['x', 'g', 'b', 'm', 'v'], output: ['y'], attribute: [intAttr('training_mode', 1)] }],
      init: [c('g', 1), c('b', 0), c('m', 0), c('v', 1)],
    });
    expectError(() => importOnnx(bytes), 'UNSUPPORTED_OP', /node 'bn_train'/, /training_mode/);
    // Also right after a Gemm, where an eval-mode BatchNormalization is folded into it.
    const afterGemm = encode({
      inputs: [valueInfo('x', [1, 4])],
      outputs: [valueInfo('y', [1, 4])],
      nodes: [
        { name: 'fc', opType: 'Gemm', input: ['x', 'w'], output: ['h'] },
        { name: 'bn_train2', opType: 'BatchNormalization', input: ['h', 'g', 'b', 'm', 'v'], output: ['y'], attribute: [intAttr('training_mode', 1)] },
      ],
      init: [floats('w', [4, 4], Array.from({ length: 16 }, (_, i) => i % 5)), c('g', 1), c('b', 0), c('m', 0), c('v', 1)],
      opset: 15,
    });
    expectError(() => importOnnx(afterGemm), 'UNSUPPORTED_OP', /node 'bn_train2'/, /training_mode/);
  });

  it('an unsupported op on constants only (cannot be folded)', () => {
    const bytes = encode({
      nodes: [
        { name: 'erf_const', opType: 'Erf', input: ['c'], output: ['e'] },
        { name: 'add0', opType: 'Add', input: ['x', 'e'], output: ['y'] },
      ],
      init: [floats('c', [4], [0, 1, 2, 3])],
    });
    expectError(() => importOnnx(bytes), 'UNSUPPORTED_OP', /node 'erf_const'/, /Erf/);
  });
});

describe('other model rules → BAD_MODEL', () => {
  it('opset outside the supported range', () => {
    expectError(() => importOnnx(encode({ nodes: [relu4()], opset: 5 }), 'old.onnx'), 'BAD_MODEL', /old\.onnx/, /opset 5/);
  });

  it('a NaN or infinite weight, bias or constant is refused naming the node (was: NaN outputs, or 0 behind a ReLU, with accuracy and error read as numbers)', () => {
    const gemm = (w: number[], b: number[], after: 'Relu' | null = null): Uint8Array => encode({
      nodes: [
        { name: 'fc', opType: 'Gemm', input: ['x', 'w', 'b'], output: [after ? 'h' : 'y'], attribute: [intAttr('transB', 1)] },
        ...(after ? [{ name: 'act', opType: after, input: ['h'], output: ['y'] }] : []),
      ],
      init: [floats('w', [3, 4], w), floats('b', [3], b)],
      outputs: [valueInfo('y', [1, 3])],
    });
    const w = Array.from({ length: 12 }, (_, i) => i / 10);
    expect(importOnnx(gemm(w, [0, 0, 0])).nodes).toHaveLength(1);
    expectError(() => importOnnx(gemm([Number.NaN, ...w.slice(1)], [0, 0, 0]), 'nan.onnx'), 'BAD_MODEL', /^nan\.onnx: node 'fc' \(Gemm\): its weight holds NaN at element 0; evsim runs finite weights only/);
    expectError(() => importOnnx(gemm(w, [0, Number.POSITIVE_INFINITY, 0], 'Relu')), 'BAD_MODEL', /node 'fc' \(Gemm\): its bias holds Infinity at element 1/);
    // A constant Mul (an affine node) too.
    const mul = encode({ nodes: [{ name: 'scale', opType: 'Mul', input: ['x', 'k'], output: ['y'] }], init: [floats('k', [4], [1, 2, Number.NEGATIVE_INFINITY, 4])] });
    expectError(() => importOnnx(mul), 'BAD_MODEL', /node 'scale' \(Mul\): its scale holds -Infinity at element 2/);
  });

  it('a NaN scalar constant is refused naming the node and the field (was: a Clip bound dropped silently, NaN outputs from Pad and LeakyRelu)', () => {
    const clip = (lo: number): Uint8Array => encode({ nodes: [{ name: 'clamp', opType: 'Clip', input: ['x', 'lo', 'hi'], output: ['y'] }], init: [floats('lo', [], [lo]), floats('hi', [], [6])] });
    expect(importOnnx(clip(0)).nodes).toHaveLength(1);
    expectError(() => importOnnx(clip(Number.NaN), 'nan.onnx'), 'BAD_MODEL', /^nan\.onnx: node 'clamp' \(Clip\): its min is NaN; .*fix the model's attribute or initializer$/);
    // ±Infinity is a scalar's "no bound", and a Pad value of −Infinity feeds a MaxPool.
    expect(importOnnx(clip(Number.NEGATIVE_INFINITY)).nodes).toHaveLength(1);
    // Before opset 11 the bounds are attributes.
    const clip7 = encode({ nodes: [{ name: 'c6', opType: 'Clip', input: ['x'], output: ['y'], attribute: [floatAttr('min', 0), floatAttr('max', Number.NaN)] }], opset: 7 });
    expectError(() => importOnnx(clip7), 'BAD_MODEL', /node 'c6' \(Clip\): its max is NaN/);
    const pad = (value: number): Uint8Array => encode({
      nodes: [{ name: 'p', opType: 'Pad', input: ['x', 'pads', 'v'], output: ['y'] }],
      init: [int64s('pads', [0, 1, 0, 1]), floats('v', [], [value])],
      outputs: [valueInfo('y', [1, 6])],
    });
    expect(Array.from(new DenseExecutor(importOnnx(pad(Number.NEGATIVE_INFINITY))).run(Float32Array.of(1, 2, 3, 4)))).toEqual([-Infinity, 1, 2, 3, 4, -Infinity]);
    expectError(() => importOnnx(pad(Number.NaN)), 'BAD_MODEL', /node 'p' \(Pad\): its value is NaN/);
    const leaky = encode({ nodes: [{ name: 'lr', opType: 'LeakyRelu', input: ['x'], output: ['y'], attribute: [floatAttr('alpha', Number.NaN)] }] });
    expectError(() => importOnnx(leaky), 'BAD_MODEL', /node 'lr' \(LeakyRelu\): its alpha is NaN/);
    // A NaN exponent was called "a different exponent per element" (NaN ≠ NaN).
    const pow = encode({ nodes: [{ name: 'sq', opType: 'Pow', input: ['x', 'e'], output: ['y'] }], init: [floats('e', [], [Number.NaN])] });
    expectError(() => importOnnx(pow), 'BAD_MODEL', /node 'sq' \(Pow\): its exponent is NaN/);
  });

  it('an infinite alpha, gamma or exponent is refused (it made outputs NaN: Celu everywhere, Elu at 0, Pow at ±1); a Clip bound may be infinite', () => {
    const one = (opType: string, attribute: ReturnType<typeof floatAttr>[]): Uint8Array => encode({ nodes: [{ name: 'f', opType, input: ['x'], output: ['y'], attribute }] });
    expectError(() => importOnnx(one('Celu', [floatAttr('alpha', Number.POSITIVE_INFINITY)])), 'BAD_MODEL', /node 'f' \(Celu\): its alpha is Infinity; it must be finite/);
    expectError(() => importOnnx(one('Elu', [floatAttr('alpha', Number.NEGATIVE_INFINITY)])), 'BAD_MODEL', /node 'f' \(Elu\): its alpha is -Infinity/);
    expectError(() => importOnnx(one('Selu', [floatAttr('gamma', Number.POSITIVE_INFINITY)])), 'BAD_MODEL', /node 'f' \(Selu\): its gamma is Infinity/);
    const pow = encode({ nodes: [{ name: 'p', opType: 'Pow', input: ['x', 'e'], output: ['y'] }], init: [floats('e', [], [Number.POSITIVE_INFINITY])] });
    expectError(() => importOnnx(pow), 'BAD_MODEL', /node 'p' \(Pow\): its exponent is Infinity/);
    // Finite ones import; a Clip without an upper bound (Infinity) too.
    expect(importOnnx(one('Celu', [floatAttr('alpha', 1)])).nodes).toHaveLength(1);
    const clip = encode({ nodes: [{ name: 'c', opType: 'Clip', input: ['x', 'lo', 'hi'], output: ['y'] }], init: [floats('lo', [], [0]), floats('hi', [], [Number.POSITIVE_INFINITY])] });
    expect(Array.from(new DenseExecutor(importOnnx(clip)).run(Float32Array.of(-1, 0, 1, 1e30)))).toEqual([0, 0, 1, Math.fround(1e30)]);
  });

  it("a NaN bound of a Clip on quantized integers is refused naming the Clip (was: the QuantizeLinear's range turned NaN)", () => {
    // Opset 10: QuantizeLinear exists and Clip's bounds are float attributes.
    const qdq = (lo: number): Uint8Array => encode({
      nodes: [
        { name: 'q', opType: 'QuantizeLinear', input: ['x', 's', 'z'], output: ['xq'] },
        { name: 'clamp', opType: 'Clip', input: ['xq'], output: ['xc'], attribute: [floatAttr('min', lo)] },
        { name: 'dq', opType: 'DequantizeLinear', input: ['xc', 's', 'z'], output: ['y'] },
      ],
      init: [floats('s', [], [0.1]), { name: 'z', dims: [], dataType: UINT8, int32Data: [0] }],
      opset: 10,
    });
    expect(importOnnx(qdq(2)).nodes).toHaveLength(1);
    expectError(() => importOnnx(qdq(Number.NaN)), 'BAD_MODEL', /^model\.onnx: node 'clamp' \(Clip\): its min is NaN/);
  });

  it("an output no node produces is named as such (was: called a constant)", () => {
    const bytes = encode({ nodes: [{ name: 'a', opType: 'Relu', input: ['x'], output: ['h'] }], outputs: [valueInfo('nothere', [1, 4])] });
    expectError(() => importOnnx(bytes, 'dangling.onnx'), 'BAD_MODEL', /^dangling\.onnx: no node produces the output 'nothere'; check the graph's output name$/);
  });

  it('two non-constant inputs', () => {
    const bytes = encode({ nodes: [{ name: 'a', opType: 'Add', input: ['x', 'x2'], output: ['y'] }], inputs: [valueInfo('x', [1, 4]), valueInfo('x2', [1, 4])] });
    expectError(() => importOnnx(bytes), 'BAD_MODEL', /2 non-constant inputs/, /x2/);
  });

  it('per-channel constants of the wrong length: a Conv bias, a BatchNormalization mean or var (was: NaN past their end, exit 0)', () => {
    const x = valueInfo('x', [1, 2, 3, 3]);
    const conv = (bias: number[]): Uint8Array => encode({
      nodes: [{ name: 'c0', opType: 'Conv', input: ['x', 'w', 'b'], output: ['y'] }],
      init: [floats('w', [4, 2, 1, 1], Array(8).fill(0.5)), floats('b', [bias.length], bias)],
      inputs: [x], outputs: [valueInfo('y', [1, 4, 3, 3])],
    });
    expect(importOnnx(conv([1, 2, 3, 4])).nodes).toHaveLength(1);
    expectError(() => importOnnx(conv([1, 2, 3])), 'BAD_MODEL', /node 'c0' \(Conv\): bias \(input 2\) has 3 entries for 4 channels/);
    const bn = (mean: number[], v: number[]): Uint8Array => encode({
      nodes: [{ name: 'bn', opType: 'BatchNormalization', input: ['x', 'g', 'b', 'm', 'v'], output: ['y'] }],
      init: [floats('g', [2], [1, 1]), floats('b', [2], [0, 0]), floats('m', [mean.length], mean), floats('v', [v.length], v)],
      inputs: [x], outputs: [valueInfo('y', [1, 2, 3, 3])],
    });
    expect(importOnnx(bn([0, 0], [1, 1])).nodes).toHaveLength(1);
    expectError(() => importOnnx(bn([0], [1, 1])), 'BAD_MODEL', /node 'bn' \(BatchNormalization\): mean \(input 3\) has 1 entries for 2 channels/);
    expectError(() => importOnnx(bn([0, 0], [1, 1, 1])), 'BAD_MODEL', /var \(input 4\) has 3 entries for 2 channels/);
  });

  it('a tensor name defined twice (two nodes, a node and the input, a node and an initializer) is refused (was: the last writer won, silently)', () => {
    const two = encode({ nodes: [{ name: 'a', opType: 'Relu', input: ['x'], output: ['y'] }, { name: 'b', opType: 'Sigmoid', input: ['x'], output: ['y'] }] });
    expectError(() => importOnnx(two, 'dup.onnx'), 'BAD_MODEL', /dup\.onnx: tensor 'y' is produced by node 'b' but is already produced by node 'a'/);
    const input = encode({ nodes: [{ name: 'a', opType: 'Relu', input: ['x'], output: ['x'] }, relu4('b')] });
    expectError(() => importOnnx(input), 'BAD_MODEL', /tensor 'x' is produced by node 'a' but is already the model input/);
    const init = encode({ nodes: [{ name: 'a', opType: 'Relu', input: ['x'], output: ['k'] }, { name: 'b', opType: 'Add', input: ['k', 'x'], output: ['y'] }], init: [floats('k', [1, 4], [1, 2, 3, 4])] });
    expectError(() => importOnnx(init), 'BAD_MODEL', /tensor 'k' is produced by node 'a' but is already an initializer/);
  });

  it('a division by a constant 0, and a pooling window wholly in the padding, are refused (were NaN outputs, exit 0)', () => {
    const div = encode({ nodes: [{ name: 'd', opType: 'Div', input: ['x', 'k'], output: ['y'] }], init: [floats('k', [1, 4], [1, 2, 0, 4])] });
    expectError(() => importOnnx(div), 'BAD_MODEL', /node 'd' \(Div\): divides by a constant 0 \(element 2\)/);
    const pool = (pad: number, includePad = 0): Uint8Array => encode({
      nodes: [{ name: 'p', opType: 'AveragePool', input: ['x'], output: ['y'], attribute: [{ name: 'kernel_shape', type: AT.INTS, ints: [1, 1] }, { name: 'pads', type: AT.INTS, ints: [0, pad, 0, 0] }, intAttr('count_include_pad', includePad)] }],
      inputs: [valueInfo('x', [1, 1, 1, 2])], outputs: [valueInfo('y', [1, 1, 1, 2 + pad])],
    });
    expect(importOnnx(pool(0)).nodes).toHaveLength(1);
    // A 1×1 window over a left pad of 1: output (0, 0) reads only padding.
    expectError(() => importOnnx(pool(1)), 'BAD_MODEL', /node 'p' \(AveragePool\): the window of output \(0, 0\) lies wholly in the padding/);
    // Unless the padding counts (count_include_pad): that window is 0 / 1 = 0, as ONNX Runtime gives.
    expect(Array.from(new DenseExecutor(importOnnx(pool(1, 1))).run(Float32Array.of(5, 7)))).toEqual([0, 5, 7]);
  });

  it('a malformed node or initializer the converter trips on exits 2 naming it (was: internal error, exit 1)', () => {
    const neg = encode({
      nodes: [{ name: 'cos', opType: 'ConstantOfShape', input: ['shape'], output: ['k'] }, { name: 'a', opType: 'Add', input: ['x', 'k'], output: ['y'] }],
      init: [int64s('shape', [1, -4])],
    });
    expectError(() => importOnnx(neg), 'BAD_MODEL', /node 'cos' \(ConstantOfShape\): cannot be converted \(.*\); the node is malformed, or evsim does not handle this form of the op/);
    const dims = encode({ nodes: [{ name: 'a', opType: 'Add', input: ['x', 'w'], output: ['y'] }], init: [{ name: 'w', dims: [-4, 1], dataType: FLOAT, floatData: [1, 2, 3, 4] }] });
    expectError(() => importOnnx(dims), 'BAD_MODEL', /initializer 'w': declared shape \[-4, 1\] is not a tensor evsim can hold/);
  });

  it('attributes of the wrong type or out of range, and empty tensors, exit 2 naming the node (were NaN, a wrong shape, or ignored)', () => {
    const leaky = encode({ nodes: [{ name: 'lr', opType: 'LeakyRelu', input: ['x'], output: ['y'], attribute: [strAttr('alpha', '0.1')] }] });
    expectError(() => importOnnx(leaky), 'BAD_MODEL', /node 'lr' \(LeakyRelu\): attribute 'alpha' must be a float \(ONNX\), got a string/);
    // A float attribute written as an int is its number.
    expect(importOnnx(encode({ nodes: [{ name: 'lr', opType: 'LeakyRelu', input: ['x'], output: ['y'], attribute: [intAttr('alpha', 1)] }] })).nodes).toHaveLength(1);
    const flat = encode({ nodes: [{ name: 'f', opType: 'Flatten', input: ['x'], output: ['y'], attribute: [intAttr('axis', 7)] }] });
    expectError(() => importOnnx(flat), 'BAD_MODEL', /node 'f' \(Flatten\): axis 7 is outside −2…2 for a rank-2 input/);
    const perm = encode({
      nodes: [{ name: 't', opType: 'Transpose', input: ['k'], output: ['kt'], attribute: [{ name: 'perm', type: AT.INTS, ints: [0, 0] }] }, { name: 'a', opType: 'Add', input: ['x', 'kt'], output: ['y'] }],
      init: [floats('k', [1, 4], [1, 2, 3, 4])],
    });
    expectError(() => importOnnx(perm), 'BAD_MODEL', /node 't' \(Transpose\): perm \[0,0\] is not a permutation of the 2 axes/);
    const cat = encode({ nodes: [{ name: 'c', opType: 'Concat', input: ['k', 'k'], output: ['kk'] }, { name: 'a', opType: 'Add', input: ['x', 'kk'], output: ['y'] }], init: [floats('k', [1, 2], [1, 2])] });
    expectError(() => importOnnx(cat), 'BAD_MODEL', /node 'c' \(Concat\): Concat needs its axis attribute/);
    const conv = (ks: number[], cout: number): Uint8Array => encode({
      nodes: [{ name: 'cv', opType: 'Conv', input: ['x', 'w'], output: ['y'], attribute: [{ name: 'kernel_shape', type: AT.INTS, ints: ks }] }],
      init: [floats('w', [cout, 1, 3, 3], Array(cout * 9).fill(0.5))],
      inputs: [valueInfo('x', [1, 1, 5, 5])], outputs: [valueInfo('y', [1, cout, 3, 3])],
    });
    expect(importOnnx(conv([3, 3], 2)).nodes).toHaveLength(1);
    expectError(() => importOnnx(conv([5, 5], 2)), 'BAD_MODEL', /node 'cv' \(Conv\): kernel_shape \[5,5\] differs from the weight's \[3,3\]/);
    expectError(() => importOnnx(conv([3, 3], 0)), 'BAD_MODEL', /tensor 'y' of shape \[1, 0, 3, 3\] has no elements/);
  });

  it('a node reading a tensor nothing produces', () => {
    const bytes = encode({ nodes: [{ name: 'orphan', opType: 'Add', input: ['x', 'ghost'], output: ['y'] }] });
    expectError(() => importOnnx(bytes), 'BAD_MODEL', /node 'orphan'/, /'ghost'/);
  });

  it('batch size 2, and a dynamic non-batch dimension', () => {
    expectError(() => importOnnx(encode({ nodes: [relu4()], inputs: [valueInfo('x', [2, 4])] })), 'BAD_MODEL', /batch size 2/);
    expectError(() => importOnnx(encode({ nodes: [relu4()], inputs: [valueInfo('x', [1, 'width'])] })), 'BAD_MODEL', /dynamic dimension/);
    // A symbolic batch dimension alone is fine: it is bound to 1.
    expect(importOnnx(encode({ nodes: [relu4()], inputs: [valueInfo('x', ['batch', 4])] })).tensors[0]!.shape).toEqual([1, 4]);
  });

  it('the output is the input (only an Identity)', () => {
    expectError(() => importOnnx(encode({ nodes: [{ name: 'id', opType: 'Identity', input: ['x'], output: ['y'] }] })), 'BAD_MODEL', /output is the input/);
  });

  it('raw weight data that does not match its shape', () => {
    const bytes = encode({
      nodes: [{ name: 'mm', opType: 'MatMul', input: ['x', 'w'], output: ['y'] }],
      init: [{ name: 'w', dims: [4, 4], dataType: FLOAT, rawData: new Uint8Array(10) }],
    });
    expectError(() => importOnnx(bytes), 'BAD_MODEL', /'w'/, /corrupt/);
  });

  it('Gemm with mismatched inner sizes', () => {
    const bytes = encode({
      nodes: [{ name: 'gm', opType: 'Gemm', input: ['x', 'w'], output: ['y'] }],
      init: [floats('w', [3, 2], [1, 2, 3, 4, 5, 6])],
      outputs: [valueInfo('y', [1, 2])],
    });
    expectError(() => importOnnx(bytes), 'BAD_MODEL', /node 'gm'/);
  });
});

/**
 * Malformed attributes are refused: ONNX requires Concat's `axis`, a Transpose `perm`
 * that is a permutation, strides and dilations ≥ 1, and `pads`/`strides` with one entry
 * per spatial axis (two for pads). Each is BAD_MODEL naming the node.
 */
describe('import validation of window and axis attributes', () => {
  const w3 = [floats('w', [1, 1, 3], [1, 1, 1])];
  const conv1d = (attribute: onnxProto.onnx.IAttributeProto[]) => encode({
    inputs: [valueInfo('x', [1, 1, 4])],
    outputs: [valueInfo('y', [1, 1, 2])],
    nodes: [{ name: 'cv', opType: 'Conv', input: ['x', 'w'], output: ['y'], attribute }],
    init: w3,
  });
  const ints = (name: string, v: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: AT.INTS, ints: v });

  it('Concat without its required axis (imports as a [1,4] output for two [1,4] inputs)', () => {
    const bytes = encode({ nodes: [{ name: 'cat', opType: 'Concat', input: ['x', 'x'], output: ['y'] }], outputs: [valueInfo('y', [1, 8])] });
    expectError(() => importOnnx(bytes), 'BAD_MODEL', /node 'cat'/, /axis/);
  });

  it('Transpose with a perm that is not a permutation ([0, 0] imports as a [1,1] output)', () => {
    const bytes = encode({ nodes: [{ name: 'tr', opType: 'Transpose', input: ['x'], output: ['y'], attribute: [ints('perm', [0, 0])] }] });
    expectError(() => importOnnx(bytes), 'BAD_MODEL', /node 'tr'/, /perm/);
  });

  it('Conv with strides 0 (imports with a zero-size output)', () => {
    expectError(() => importOnnx(conv1d([ints('strides', [0])])), 'BAD_MODEL', /node 'cv'/);
  });

  it('Conv with dilations 0 (imports; every tap reads the same pixel)', () => {
    expectError(() => importOnnx(conv1d([ints('dilations', [0])])), 'BAD_MODEL', /node 'cv'/);
  });

  it('Conv with one pads entry for one spatial axis (needs 2; padR becomes undefined)', () => {
    expectError(() => importOnnx(conv1d([ints('pads', [1])])), 'BAD_MODEL', /node 'cv'/, /pads/);
  });

  it('Conv with an empty strides list (strideW becomes undefined)', () => {
    expectError(() => importOnnx(conv1d([ints('strides', [])])), 'BAD_MODEL', /node 'cv'/, /strides/);
  });
});
