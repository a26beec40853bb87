/**
 * Conversion of one ONNX node with activation inputs into a graph-IR op, with shape
 * inference. Constants reaching the node have already been folded.
 */
import { EvsimError } from '../../errors.js';
import { numel, type Op, type PoolGeometry, type UnaryKind } from '../ir.js';
import { avgDivisor, outLength, samePads, spatialOf } from '../geometry.js';
import { broadcastIndex, broadcastShapes, checkPerm, flattenAxis, normAxis, quantParams, reshapeTarget, sliceAxes, type Attrs } from './const-fold.js';
import type { ConstTensor } from './proto.js';

/** An input as the converter sees it: an activation (shape) or a folded constant. */
export type Operand = { kind: 'act'; id: number; shape: number[] } | { kind: 'const'; t: ConstTensor } | { kind: 'none' };

export interface Converted {
  op: Op;
  /** Activation tensor ids feeding the op, in order. */
  inputs: number[];
  shape: number[];
  /** The ONNX node's second, third, … outputs (Split), each an op of the same inputs. */
  more?: Converted[];
}

export const SUPPORTED_OPS = [
  'Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'BatchNormalization', 'Add', 'Sub', 'Mul', 'Div', 'Sum', 'Neg',
  'AveragePool', 'GlobalAveragePool', 'MaxPool', 'Concat', 'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze',
  'Transpose', 'Pad', 'Resize', 'Upsample', 'Slice', 'Split', 'ReduceMean', 'ReduceMax', 'GlobalMaxPool',
  'Relu', 'LeakyRelu', 'PRelu', 'Clip', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu',
  'ThresholdedRelu', 'Softplus', 'Softsign', 'Mish', 'Erf', 'Gelu', 'Abs', 'Exp', 'Log', 'Sqrt', 'Reciprocal',
  'Pow', 'Softmax', 'LogSoftmax', 'Identity', 'Dropout',
];

function bad(where: string, msg: string): EvsimError {
  return new EvsimError('BAD_MODEL', `${where}: ${msg}`);
}

function unsupported(where: string, msg: string): EvsimError {
  return new EvsimError('UNSUPPORTED_OP', `${where}: ${msg}`);
}

function act(o: Operand | undefined, where: string, what = 'input'): { id: number; shape: number[] } {
  if (!o || o.kind !== 'act') throw unsupported(where, `${what} must be an activation (the network input or a node output)`);
  return o;
}

function konst(o: Operand | undefined, where: string, what: string): ConstTensor {
  if (!o || o.kind !== 'const') throw unsupported(where, `${what} must be a constant (an initializer or a foldable subgraph)`);
  return o.t;
}

function optConst(o: Operand | undefined): ConstTensor | null {
  return o && o.kind === 'const' ? o.t : null;
}

/**
 * A list that became an input at `since` (axes, split sizes): the constant input from then
 * on (null when omitted), the attribute before.
 */
function listArg(ins: Operand[], k: number, a: Attrs, name: string, opset: number, since: number, where: string): number[] | null {
  if (opset < since) return (a.get(name) as number[] | undefined) ?? null;
  if (ins[k]?.kind === 'act') throw unsupported(where, `the ${name} (input ${k}) must be a constant`);
  const c = optConst(ins[k]);
  return c ? Array.from(c.data) : null;
}

const f32 = (d: ArrayLike<number>): Float32Array => Float32Array.from(d as ArrayLike<number>);

/** Expands a constant to the output shape (broadcast), as float32. */
function expandTo(t: ConstTensor, shape: number[], where: string): Float32Array {
  const b = broadcastShapes(t.shape, shape);
  if (!b) throw bad(where, `constant of shape [${t.shape}] does not broadcast to the activation's [${shape}]`);
  if (b.length !== shape.length || b.some((d, i) => d !== shape[i])) {
    throw unsupported(where, `constant of shape [${t.shape}] would broadcast the activation [${shape}] to a new shape`);
  }
  const idx = broadcastIndex(t.shape, shape);
  const out = new Float32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = t.data[idx[i]!]!;
  return out;
}

/** A 1-D or 2-D window's attributes as the IR's 2-D geometry (1-D: H = 1). */
function geometry2d(nsp: number, ks: number[], strides: number[], dil: number[], pads: number[]): PoolGeometry {
  const two = (v: number[], fill: number): [number, number] => (nsp === 2 ? [v[0]!, v[1]!] : [fill, v[0]!]);
  const [kh, kw] = two(ks, 1);
  const [strideH, strideW] = two(strides, 1);
  const [dilH, dilW] = two(dil, 1);
  const [padT, padL] = two(pads.slice(0, nsp), 0);
  const [padB, padR] = two(pads.slice(nsp), 0);
  return { kh, kw, strideH, strideW, padT, padL, padB, padR, dilH, dilW };
}

function windowGeometry(a: Attrs, inShape: number[], where: string, isConv: boolean, kernel?: number[]): { g: PoolGeometry; oh: number; ow: number } {
  const rank = inShape.length;
  if (rank !== 3 && rank !== 4) throw unsupported(where, `only 1-D and 2-D windows are supported (input rank ${rank})`);
  const nsp = rank - 2;
  const ks = kernel ?? (a.get('kernel_shape') as number[] | undefined);
  if (!ks || ks.length !== nsp) throw bad(where, `kernel_shape must have ${nsp} entries`);
  const declared = a.get('kernel_shape') as number[] | undefined;
  if (kernel && declared && declared.join() !== kernel.join()) throw bad(where, `kernel_shape [${declared}] differs from the weight's [${kernel}]`);
  const strides = (a.get('strides') as number[] | undefined) ?? new Array<number>(nsp).fill(1);
  const dil = (a.get('dilations') as number[] | undefined) ?? new Array<number>(nsp).fill(1);
  const positive = (v: number[], name: string, len: number): void => {
    if (v.length !== len) throw bad(where, `${name} has ${v.length} entries; a ${nsp}-D window needs ${len}`);
    if (v.some((x) => !Number.isInteger(x) || x < 1)) throw bad(where, `${name} [${v}] must be positive integers`);
  };
  positive(ks, 'kernel_shape', nsp);
  positive(strides, 'strides', nsp);
  positive(dil, 'dilations', nsp);
  const autoPad = (a.get('auto_pad') as string | undefined) ?? 'NOTSET';
  const ceil = ((a.get('ceil_mode') as number | undefined) ?? 0) === 1;
  if (ceil && isConv) throw bad(where, 'ceil_mode is not a Conv attribute');
  const spatial = inShape.slice(2);
  let pads = (a.get('pads') as number[] | undefined) ?? new Array<number>(2 * nsp).fill(0);
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const pr = spatial.map((len, i) => samePads(len, ks[i]!, strides[i]!, dil[i]!, autoPad === 'SAME_UPPER'));
    pads = [...pr.map((p) => p[0]), ...pr.map((p) => p[1])];
  } else if (autoPad === 'VALID') {
    pads = new Array<number>(2 * nsp).fill(0);
  } else if (autoPad !== 'NOTSET') {
    throw bad(where, `auto_pad '${autoPad}' is not valid`);
  }
  if (pads.length !== 2 * nsp) throw bad(where, `pads has ${pads.length} entries; a ${nsp}-D window needs ${2 * nsp} (begin and end per axis)`);
  if (pads.some((p) => !Number.isInteger(p))) throw bad(where, `pads [${pads}] must be integers`);
  if (pads.some((p) => p < 0)) throw unsupported(where, 'negative pads are not supported');
  const g = geometry2d(nsp, ks, strides, dil, pads);
  const [h, w] = nsp === 2 ? [spatial[0]!, spatial[1]!] : [1, spatial[0]!];
  const { kh, kw, strideH, strideW, padT, padL, padB, padR, dilH, dilW } = g;
  const oh = outLength(h, kh, strideH, padT, padB, dilH, ceil);
  const ow = outLength(w, kw, strideW, padL, padR, dilW, ceil);
  if (oh <= 0 || ow <= 0) throw bad(where, `the window does not fit the input [${inShape}]`);
  return { g, oh, ow };
}

function outShapeOf(inShape: number[], c: number, oh: number, ow: number): number[] {
  return inShape.length === 4 ? [inShape[0]!, c, oh, ow] : [inShape[0]!, c, ow];
}

function convertConv(ins: Operand[], a: Attrs, where: string): Converted {
  const x = act(ins[0], where);
  const w = konst(ins[1], where, 'the weight (input 1)');
  const b = optConst(ins[2]);
  const group = (a.get('group') as number | undefined) ?? 1;
  const cin = x.shape[1]!;
  const cout = w.shape[0]!;
  if (w.shape.length !== x.shape.length) throw unsupported(where, `weight rank ${w.shape.length} does not match input rank ${x.shape.length}`);
  if (cin % group !== 0 || cout % group !== 0 || w.shape[1]! * group !== cin) {
    throw bad(where, `weight [${w.shape}] does not match ${cin} input channels with group=${group}`);
  }
  const { g, oh, ow } = windowGeometry(a, x.shape, where, true, w.shape.slice(2));
  const op: Op = {
    kind: 'conv', cin, cout, group, ...g,
    weight: f32(w.data),
    bias: b ? f32(channelsOf(b, cout, where, 'bias (input 2)')) : null,
    bnGamma: null,
  };
  return { op, inputs: [x.id], shape: outShapeOf(x.shape, cout, oh, ow) };
}

/**
 * ConvTranspose: the weight [cin][cout/group][k…] is stored as a conv's
 * [cout][cin/group][k…]; the pads come from `pads`, or from `output_shape` / auto_pad
 * as the ONNX spec derives them (total padding split begin/end).
 */
function convertConvTranspose(ins: Operand[], a: Attrs, where: string): Converted {
  const x = act(ins[0], where);
  const wt = konst(ins[1], where, 'the weight (input 1)');
  const b = optConst(ins[2]);
  const rank = x.shape.length;
  if (rank !== 3 && rank !== 4) throw unsupported(where, `only 1-D and 2-D ConvTranspose is supported (input rank ${rank})`);
  const nsp = rank - 2;
  const group = attr(a, 'group', 1);
  const cin = x.shape[1]!;
  if (wt.shape.length !== rank || wt.shape[0] !== cin || cin % group !== 0) throw bad(where, `weight [${wt.shape}] does not match ${cin} input channels with group=${group}`);
  const coutG = wt.shape[1]!;
  const cout = coutG * group;
  const ks = wt.shape.slice(2);
  const list = (name: string, fill: number, len = nsp): number[] => {
    const v = (a.get(name) as number[] | undefined) ?? new Array<number>(len).fill(fill);
    if (v.length !== len || v.some((n) => !Number.isInteger(n))) throw bad(where, `${name} [${v}] must be ${len} integers`);
    return v;
  };
  const strides = list('strides', 1);
  const dil = list('dilations', 1);
  const outPad = list('output_padding', 0);
  if ([...strides, ...dil].some((v) => v < 1)) throw bad(where, 'strides and dilations must be positive');
  const inSp = x.shape.slice(2);
  const full = inSp.map((n, i) => strides[i]! * (n - 1) + outPad[i]! + (ks[i]! - 1) * dil[i]! + 1);
  const autoPad = (a.get('auto_pad') as string | undefined) ?? 'NOTSET';
  let pads: number[];
  const outShapeAttr = a.get('output_shape') as number[] | undefined;
  if (outShapeAttr || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const target = outShapeAttr ? outShapeAttr.slice(-nsp) : inSp.map((n, i) => n * strides[i]!);
    const total = full.map((f, i) => f - target[i]!);
    if (target.length !== nsp || total.some((t) => t < 0)) throw unsupported(where, `output_shape [${target}] is larger than the ${full.join('×')} a ConvTranspose gives`);
    const upper = autoPad === 'SAME_UPPER';
    pads = [...total.map((t) => (upper ? Math.floor(t / 2) : t - Math.floor(t / 2))), ...total.map((t) => (upper ? t - Math.floor(t / 2) : Math.floor(t / 2)))];
  } else if (autoPad === 'VALID') {
    pads = new Array<number>(2 * nsp).fill(0);
  } else if (autoPad === 'NOTSET') {
    pads = list('pads', 0, 2 * nsp);
  } else {
    throw bad(where, `auto_pad '${autoPad}' is not valid`);
  }
  if (pads.some((p) => p < 0)) throw unsupported(where, 'negative pads are not supported');
  const outSp = full.map((f, i) => f - pads[i]! - pads[i + nsp]!);
  if (outSp.some((n) => n < 1)) throw bad(where, `the output [${outSp}] is empty; check pads`);
  // [cin][coutG][k] → [cout][cinG][k]
  const cinG = cin / group;
  const area = ks.reduce((p, q) => p * q, 1);
  const weight = new Float32Array(cout * cinG * area);
  for (let ci = 0; ci < cin; ci++) {
    const g = Math.floor(ci / cinG);
    for (let j = 0; j < coutG; j++) {
      const co = g * coutG + j;
      for (let t = 0; t < area; t++) weight[(co * cinG + (ci - g * cinG)) * area + t] = wt.data[(ci * coutG + j) * area + t]!;
    }
  }
  const op: Op = {
    kind: 'conv', cin, cout, group, ...geometry2d(nsp, ks, strides, dil, pads),
    weight, bias: b ? f32(channelsOf(b, cout, where, 'bias (input 2)')) : null, bnGamma: null, transposed: true,
  };
  return { op, inputs: [x.id], shape: [x.shape[0]!, cout, ...outSp] };
}

/**
 * Gemm's B as [k, n] float32, scaled by alpha. The loops are a function of their own:
 * compiled mid-loop inside convertGemm, the code after them had no type feedback and
 * deoptimised at every weight matrix.
 */
function gemmWeight(b: Float64Array, k: number, n: number, transB: boolean, alpha: number): Float32Array {
  const weight = new Float32Array(k * n);
  for (let kk = 0; kk < k; kk++) {
    for (let nn = 0; nn < n; nn++) weight[kk * n + nn] = alpha * b[transB ? nn * k + kk : kk * n + nn]!;
  }
  return weight;
}

function convertGemm(ins: Operand[], a: Attrs, where: string): Converted {
  const x = act(ins[0], where, 'input A');
  const bT = konst(ins[1], where, 'input B (the weight)');
  const c = optConst(ins[2]);
  const transA = ((a.get('transA') as number | undefined) ?? 0) === 1;
  const transB = ((a.get('transB') as number | undefined) ?? 0) === 1;
  const alpha = (a.get('alpha') as number | undefined) ?? 1;
  const beta = (a.get('beta') as number | undefined) ?? 1;
  if (x.shape.length !== 2 || bT.shape.length !== 2) throw bad(where, `Gemm needs rank-2 A and B, got [${x.shape}] and [${bT.shape}]`);
  const [m, k] = transA ? [x.shape[1]!, x.shape[0]!] : [x.shape[0]!, x.shape[1]!];
  const [kb, n] = transB ? [bT.shape[1]!, bT.shape[0]!] : [bT.shape[0]!, bT.shape[1]!];
  if (k !== kb) throw bad(where, `A [${x.shape}] and B [${bT.shape}] have different inner sizes`);
  const weight = gemmWeight(bT.data, k, n, transB, alpha);
  let bias: Float32Array | null = null;
  if (c) {
    bias = expandTo(c, [m, n], where);
    for (let i = 0; i < bias.length; i++) bias[i] = beta * bias[i]!;
  }
  return { op: { kind: 'dense', m, k, n, transA, weight, bias, bnGamma: null }, inputs: [x.id], shape: [m, n] };
}

function convertMatMul(ins: Operand[], where: string): Converted {
  const x = act(ins[0], where, 'input A');
  const w = konst(ins[1], where, 'input B (the weight)');
  if (w.shape.length < 1 || w.shape.length > 2) throw unsupported(where, `MatMul weight must be rank 1 or 2, got [${w.shape}]`);
  const k = w.shape[0]!;
  const n = w.shape.length === 2 ? w.shape[1]! : 1;
  if (x.shape[x.shape.length - 1] !== k) throw bad(where, `A [${x.shape}] and B [${w.shape}] have different inner sizes`);
  const m = numel(x.shape) / k;
  const shape = w.shape.length === 2 ? [...x.shape.slice(0, -1), n] : x.shape.slice(0, -1);
  return { op: { kind: 'dense', m, k, n, transA: false, weight: f32(w.data), bias: null, bnGamma: null }, inputs: [x.id], shape };
}

/** A per-channel constant's values, checked to hold one per channel. */
function channelsOf(t: { data: ArrayLike<number> }, channels: number, where: string, what: string): ArrayLike<number> {
  if (t.data.length !== channels) throw bad(where, `${what} has ${t.data.length} entries for ${channels} channels`);
  return t.data;
}

/** BatchNormalization as scale/shift per channel (axis 1). */
export function bnScaleShift(ins: Operand[], a: Attrs, where: string): { scale: Float64Array; shift: Float64Array; gamma: Float32Array } {
  // Checked here, so a BatchNormalization folded into the Conv/Gemm before it is refused too:
  // training mode normalises with each batch's own statistics, not the running ones.
  if (((a.get('training_mode') as number | undefined) ?? 0) === 1) throw unsupported(where, 'training_mode=1 is not supported; export the model in eval mode');
  const [g, b, mean, v] = [1, 2, 3, 4].map((i) => konst(ins[i], where, `input ${i}`));
  const eps = (a.get('epsilon') as number | undefined) ?? 1e-5;
  const c = g!.data.length;
  // Every parameter one value per channel (a short one would read past its end: NaN).
  [b, mean, v].forEach((t, k) => channelsOf(t!, c, where, ['bias (input 2)', 'mean (input 3)', 'var (input 4)'][k]!));
  const x = ins[0];
  const ch = x?.kind === 'act' ? x.shape[1] : undefined;
  if (ch !== undefined && ch !== c) throw bad(where, `scale (input 1) has ${c} entries for ${ch} channels`);
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = g!.data[i]! / Math.sqrt(v!.data[i]! + eps);
    shift[i] = b!.data[i]! - mean!.data[i]! * scale[i]!;
  }
  return { scale, shift, gamma: f32(g!.data) };
}

function affineFromChannels(shape: number[], scale: ArrayLike<number>, shift: ArrayLike<number>, where: string): { scale: Float32Array; shift: Float32Array } {
  const c = shape[1]!;
  if (scale.length !== c) throw bad(where, `per-channel parameters have ${scale.length} entries for ${c} channels`);
  const inner = numel(shape.slice(2));
  const n = numel(shape);
  const s = new Float32Array(n);
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const ch = Math.floor(i / inner) % c;
    s[i] = scale[ch]!;
    t[i] = shift[ch]!;
  }
  return { scale: s, shift: t };
}

function convertArith(op: string, ins: Operand[], where: string): Converted {
  const [p, q] = [ins[0], ins[1]];
  if (p?.kind === 'act' && q?.kind === 'act') {
    if (op === 'Div') throw unsupported(where, 'division of two activations is not supported');
    const same = (s: number[], t: number[]): boolean => s.length === t.length && s.every((d, i) => d === t[i]);
    if (!same(p.shape, q.shape)) {
      const out = broadcastShapes(p.shape, q.shape);
      if (op !== 'Mul') throw unsupported(where, `${op} of activations with different shapes [${p.shape}] and [${q.shape}] (broadcasting) is not supported`);
      if (!out) throw bad(where, `Mul of activations with shapes [${p.shape}] and [${q.shape}] that do not broadcast`);
      const bcast = [p, q].map((t) => (same(t.shape, out) ? null : broadcastIndex(t.shape, out)));
      return { op: { kind: 'mul', bcast }, inputs: [p.id, q.id], shape: out };
    }
    const irOp: Op = op === 'Mul' ? { kind: 'mul' } : { kind: 'add', sign: op === 'Sub' ? -1 : 1 };
    return { op: irOp, inputs: [p.id, q.id], shape: [...p.shape] };
  }
  const x = p?.kind === 'act' ? p : act(q, where);
  const c = konst(p?.kind === 'act' ? q : p, where, 'the other operand');
  const cFirst = p?.kind !== 'act';
  const shape = [...x.shape];
  const cv = expandTo(c, shape, where);
  const ones = new Float32Array(cv.length).fill(1);
  const zeros = new Float32Array(cv.length);
  let scale: Float32Array = ones;
  let shift: Float32Array = zeros;
  switch (op) {
    case 'Add': shift = cv; break;
    case 'Sub':
      if (cFirst) { scale = ones.map(() => -1); shift = cv; } else shift = cv.map((v) => -v);
      break;
    case 'Mul': scale = cv; break;
    case 'Div': {
      if (cFirst) throw unsupported(where, 'dividing a constant by an activation is not supported (not linear)');
      const z = cv.indexOf(0);
      if (z >= 0) throw bad(where, `divides by a constant 0 (element ${z}), which gives infinities; fix the divisor`);
      scale = cv.map((v) => 1 / v);
      break;
    }
  }
  return { op: { kind: 'affine', scale, shift, bnGamma: null, source: op }, inputs: [x.id], shape };
}

const exact = (x: number): number => x;

/**
 * ONNX Resize's coordinate_transformation_mode: the input coordinate of output coordinate
 * o. Nearest resizing picks a pixel by rounding it, so it is computed in float32 as ONNX
 * Runtime and PyTorch do (a float32 scale of 0.6 puts output 3 at 4.9999998 in float64,
 * whose floor picks the wrong pixel; 5 in float32). Linear weights vary smoothly with it
 * and come closer to PyTorch's in float64 (`f32` false).
 */
function sourceCoord(coordMode: string, o: number, scale: number, inLen: number, outLen: number, where: string, f32 = true): number {
  const fr = f32 ? Math.fround : exact;
  const s = fr(scale);
  switch (coordMode) {
    case 'half_pixel': return fr(fr(fr(o + 0.5) / s) - 0.5);
    case 'pytorch_half_pixel': return outLen > 1 ? fr(fr(fr(o + 0.5) / s) - 0.5) : 0;
    case 'align_corners': return outLen > 1 ? fr(fr(o * (inLen - 1)) / (outLen - 1)) : 0;
    case 'asymmetric': return fr(o / s);
    case 'tf_half_pixel_for_nn': return fr(fr(o + 0.5) / s);
    default: throw unsupported(where, `coordinate_transformation_mode '${coordMode}' is not supported`);
  }
}

/**
 * A linear Resize per axis: the input coordinate clamped to [0, len − 1] (as ONNX
 * Runtime and PyTorch do at the borders), its floor, the next one and the weight of the
 * next one.
 */
function linearMaps(inShape: number[], outShape: number[], coordMode: string, scales: number[], where: string): { lo: Int32Array[]; linear: { hi: Int32Array; w: Float32Array }[] } {
  const lo: Int32Array[] = [];
  const linear: { hi: Int32Array; w: Float32Array }[] = [];
  outShape.forEach((outLen, ax) => {
    const inLen = inShape[ax]!;
    const l = new Int32Array(outLen);
    const hi = new Int32Array(outLen);
    const w = new Float32Array(outLen);
    for (let o = 0; o < outLen; o++) {
      const x = Math.min(Math.max(sourceCoord(coordMode, o, scales[ax]!, inLen, outLen, where, false), 0), inLen - 1);
      const i0 = Math.floor(x);
      l[o] = i0;
      hi[o] = Math.min(i0 + 1, inLen - 1);
      w[o] = hi[o] === i0 ? 0 : x - i0;
    }
    lo.push(l);
    linear.push({ hi, w });
  });
  return { lo, linear };
}

function resizeMaps(inShape: number[], outShape: number[], coordMode: string, nearestMode: string, scales: number[], where: string): Int32Array[] {
  return outShape.map((outLen, ax) => {
    const inLen = inShape[ax]!;
    const s = scales[ax]!;
    const m = new Int32Array(outLen);
    // An axis kept as it is maps one to one, as ONNX Runtime does: tf_half_pixel_for_nn
    // would put o at o + 0.5, which a ceil or round-up would move to the next element.
    if (s === 1 && outLen === inLen) return m.map((_, o) => o);
    for (let o = 0; o < outLen; o++) {
      const x = sourceCoord(coordMode, o, s, inLen, outLen, where);
      let r: number;
      switch (nearestMode) {
        case 'round_prefer_floor': r = x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x); break;
        case 'round_prefer_ceil': r = Math.round(x); break;
        case 'floor': r = Math.floor(x); break;
        case 'ceil': r = Math.ceil(x); break;
        default: throw unsupported(where, `nearest_mode '${nearestMode}' is not supported`);
      }
      m[o] = Math.min(Math.max(r, 0), inLen - 1);
    }
    return m;
  });
}

function convertResize(op: string, ins: Operand[], a: Attrs, opset: number, where: string): Converted {
  const x = act(ins[0], where);
  const mode = (a.get('mode') as string | undefined) ?? 'nearest';
  // 'bilinear' is Upsample's name before opset 9 (ONNX 1.2).
  const linear = mode === 'linear' || mode === 'bilinear';
  if (mode !== 'nearest' && !linear) throw unsupported(where, `${op} mode '${mode}' is not supported; use 'nearest' or 'linear'`);
  if (linear && attr(a, 'antialias', 0) !== 0) throw unsupported(where, `${op} with antialias is not supported`);
  // Opset 18's partial scales/sizes (axes) and aspect-ratio policies change what scales and
  // sizes mean; refused by name rather than read as if they were absent.
  if (a.has('axes')) throw unsupported(where, `${op} with the axes attribute (opset 18) is not supported; give scales or sizes for every axis`);
  const policy = (a.get('keep_aspect_ratio_policy') as string | undefined) ?? 'stretch';
  if (policy !== 'stretch') throw unsupported(where, `${op} with keep_aspect_ratio_policy '${policy}' is not supported; use the default 'stretch' (sizes as given)`);
  let scales: number[] | null = null;
  let sizes: number[] | null = null;
  let coord = 'asymmetric';
  let nearest = 'floor';
  if (op === 'Upsample') {
    scales = opset >= 9 ? Array.from(konst(ins[1], where, 'scales').data) : (a.get('scales') as number[]);
  } else if (opset < 11) {
    scales = Array.from(konst(ins[1], where, 'scales').data);
  } else {
    coord = (a.get('coordinate_transformation_mode') as string | undefined) ?? 'half_pixel';
    nearest = (a.get('nearest_mode') as string | undefined) ?? 'round_prefer_floor';
    const sc = optConst(ins[2]);
    const sz = optConst(ins[3]);
    if (sc && sc.data.length > 0) scales = Array.from(sc.data);
    else if (sz && sz.data.length > 0) sizes = Array.from(sz.data);
    else throw bad(where, 'Resize needs constant scales or sizes');
  }
  let shape: number[];
  // In float32 like the coordinates (ONNX Runtime multiplies a float scale; 10 × 0.7f is
  // 6.99999988 in float64 but 7 in float32, the shape PyTorch exports).
  if (sizes) {
    shape = sizes;
    // (Rounded to float32 where nearest resizing reads it, see sourceCoord.)
    scales = sizes.map((s, i) => s / x.shape[i]!);
  } else {
    shape = x.shape.map((d, i) => Math.floor(Math.fround(d * Math.fround(scales![i]!))));
  }
  if (shape.length !== x.shape.length) throw bad(where, `scales/sizes have ${shape.length} entries for rank ${x.shape.length}`);
  if (shape.some((d) => !Number.isInteger(d) || d < 1)) throw bad(where, `the resized shape [${shape}] has an empty or fractional dimension; check scales/sizes`);
  if (linear) {
    if (coord === 'tf_half_pixel_for_nn') throw unsupported(where, `coordinate_transformation_mode '${coord}' is for nearest resizing only`);
    const { lo, linear: lin } = linearMaps(x.shape, shape, coord, scales!, where);
    return { op: { kind: 'resize', maps: lo, linear: lin }, inputs: [x.id], shape };
  }
  return { op: { kind: 'resize', maps: resizeMaps(x.shape, shape, coord, nearest, scales!, where) }, inputs: [x.id], shape };
}

const attr = (a: Attrs, name: string, dflt: number): number => (a.get(name) as number | undefined) ?? dflt;

/** GlobalAveragePool / GlobalMaxPool: one window over all of H×W (or L); keeps the axes. */
function globalPool(x: { id: number; shape: number[] }, max: boolean, where: string): Converted {
  const sp = x.shape.slice(2);
  if (sp.length !== 1 && sp.length !== 2) throw unsupported(where, `only 1-D and 2-D pooling is supported (input rank ${x.shape.length})`);
  const kh = sp.length === 2 ? sp[0]! : 1;
  const kw = sp[sp.length - 1]!;
  const g: PoolGeometry = { kh, kw, strideH: 1, strideW: 1, padT: 0, padL: 0, padB: 0, padR: 0, dilH: 1, dilW: 1 };
  const op: Op = max ? { kind: 'maxpool', ...g } : { kind: 'avgpool', ...g, countIncludePad: false, global: true };
  return { op, inputs: [x.id], shape: [...x.shape.slice(0, 2), ...sp.map(() => 1)] };
}

/**
 * ReduceMean / ReduceMax over the spatial axes of an [N, C, H, W] or [N, C, L] tensor
 * (x.mean((2, 3)) in PyTorch): a global pooling.
 */
function convertReduce(opType: string, ins: Operand[], a: Attrs, opset: number, where: string): Converted {
  const x = act(ins[0], where);
  const r = x.shape.length;
  // The axes became an input in opset 18.
  const given = listArg(ins, 1, a, 'axes', opset, 18, where);
  if ((!given || given.length === 0) && attr(a, 'noop_with_empty_axes', 0) === 1) return { op: { kind: 'reshape', source: opType }, inputs: [x.id], shape: [...x.shape] };
  const axes = (given && given.length > 0 ? given.map((v) => normAxis(v, r, where)) : x.shape.map((_, i) => i)).sort((p, q) => p - q);
  const spatial = x.shape.map((_, i) => i).slice(2);
  if ((r !== 3 && r !== 4) || axes.length !== spatial.length || axes.some((ax, i) => ax !== spatial[i])) {
    throw unsupported(where, `${opType} over axes [${axes}] of [${x.shape}] is not supported; only over all spatial axes of [N, C, H, W] or [N, C, L] (a global pooling)`);
  }
  const pooled = globalPool(x, opType === 'ReduceMax', where);
  // Without keepdims the pooled [N, C] is read as C × 1 × 1 (spatialOf), so no reshape is needed.
  return attr(a, 'keepdims', 1) === 1 ? pooled : { ...pooled, shape: x.shape.slice(0, 2) };
}

/** An axis-wise gather of x: output coordinate c of axis d reads begin[d] + c·step[d]. */
function gatherOf(x: { id: number; shape: number[] }, begin: number[], step: number[], count: number[], where: string): Converted {
  if (count.some((n) => n === 0)) throw unsupported(where, `the output [${count}] is empty`);
  const maps = count.map((n, d) => Int32Array.from({ length: n }, (_, c) => begin[d]! + c * step[d]!));
  return { op: { kind: 'resize', maps }, inputs: [x.id], shape: count };
}

function convertSlice(ins: Operand[], a: Attrs, opset: number, where: string): Converted {
  const x = act(ins[0], where);
  // Attributes before opset 10, inputs from then on.
  const starts = listArg(ins, 1, a, 'starts', opset, 10, where);
  const ends = listArg(ins, 2, a, 'ends', opset, 10, where);
  if (!starts || !ends) throw bad(where, 'Slice needs starts and ends');
  const axes = listArg(ins, 3, a, 'axes', opset, 10, where);
  const steps = listArg(ins, 4, a, 'steps', opset, 10, where) ?? [];
  const s = sliceAxes(x.shape, starts, ends, axes ?? starts.map((_, i) => i), steps, where);
  return gatherOf(x, s.begin, s.step, s.count, where);
}

/** Split: one gather per output, in order along the axis. */
function convertSplit(ins: Operand[], a: Attrs, opset: number, outputs: number, where: string): Converted {
  const x = act(ins[0], where);
  const axis = normAxis(attr(a, 'axis', 0), x.shape.length, where);
  const dim = x.shape[axis]!;
  let sizes = listArg(ins, 1, a, 'split', opset, 13, where);
  if (sizes && a.has('num_outputs')) throw bad(where, 'Split takes split sizes or num_outputs, not both');
  if (!sizes) {
    const n = opset >= 18 ? attr(a, 'num_outputs', outputs) : outputs;
    if (!(n >= 1)) throw bad(where, 'Split needs split sizes or num_outputs');
    if (opset < 18 && dim % n !== 0) throw bad(where, `axis ${axis} of length ${dim} does not split into ${n} equal parts; give the split sizes`);
    // Equal parts; from opset 18 the last one is smaller when the axis does not divide.
    const part = Math.ceil(dim / n);
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(part, dim - i * part)));
  }
  if (sizes.length !== outputs) throw bad(where, `Split has ${outputs} outputs but ${sizes.length} split sizes [${sizes}]`);
  if (sizes.some((v) => !Number.isInteger(v) || v < 0) || sizes.reduce((p, q) => p + q, 0) !== dim) {
    throw bad(where, `split sizes [${sizes}] must be non-negative integers summing to ${dim}, the length of axis ${axis}`);
  }
  const parts: Converted[] = [];
  let at = 0;
  for (const n of sizes) {
    const begin = x.shape.map(() => 0);
    const count = [...x.shape];
    begin[axis] = at;
    count[axis] = n;
    parts.push(gatherOf(x, begin, x.shape.map(() => 1), count, where));
    at += n;
  }
  return { ...parts[0]!, more: parts.slice(1) };
}

function unaryOp(fn: UnaryKind, a = 0, b = 0): Op {
  return { kind: 'unary', fn, a, b };
}

/** Converts one ONNX node with at least one activation input and `outputs` outputs. */
export function convertNode(opType: string, ins: Operand[], a: Attrs, opset: number, where: string, outputs = 1): Converted {
  const x0 = (): { id: number; shape: number[] } => act(ins[0], where);
  const same = (op: Op): Converted => ({ op, inputs: [x0().id], shape: [...x0().shape] });
  switch (opType) {
    case 'Conv': return convertConv(ins, a, where);
    case 'ConvTranspose': return convertConvTranspose(ins, a, where);
    case 'Gemm': return convertGemm(ins, a, where);
    case 'MatMul': return convertMatMul(ins, where);
    case 'Add': case 'Sub': case 'Mul': case 'Div': return convertArith(opType, ins, where);
    case 'Sum':
      if (ins.length === 1) return same({ kind: 'reshape', source: 'Sum' });
      if (ins.length !== 2) throw unsupported(where, 'Sum of more than two inputs is not supported');
      return convertArith('Add', ins, where);
    case 'Neg': {
      const x = x0();
      const n = numel(x.shape);
      return same({ kind: 'affine', scale: new Float32Array(n).fill(-1), shift: new Float32Array(n), bnGamma: null, source: 'Neg' });
    }
    case 'BatchNormalization': {
      const x = x0();
      const { scale, shift, gamma } = bnScaleShift(ins, a, where);
      const st = affineFromChannels(x.shape, scale, shift, where);
      return same({ kind: 'affine', ...st, bnGamma: gamma, source: 'BatchNormalization' });
    }
    case 'AveragePool': case 'MaxPool': {
      const x = x0();
      if (opType === 'MaxPool' && ((a.get('storage_order') as number | undefined) ?? 0) !== 0) throw unsupported(where, 'storage_order=1 is not supported');
      const { g, oh, ow } = windowGeometry(a, x.shape, where, false);
      const op: Op = opType === 'MaxPool'
        ? { kind: 'maxpool', ...g }
        : { kind: 'avgpool', ...g, countIncludePad: ((a.get('count_include_pad') as number | undefined) ?? 0) === 1, global: false };
      // A window wholly in the padding averages nothing (0 / 0) and a max pool's takes no
      // value; with count_include_pad the padding counts, and such a window is 0.
      const { h, w } = spatialOf(x.shape);
      const counted = op.kind === 'avgpool' && op.countIncludePad;
      for (let y = 0; y < oh && !counted; y++) {
        for (let xx = 0; xx < ow; xx++) {
          if (avgDivisor(g, h, w, y, xx, false) === 0) throw bad(where, `the window of output (${y}, ${xx}) lies wholly in the padding; use pads smaller than the kernel`);
        }
      }
      return { op, inputs: [x.id], shape: outShapeOf(x.shape, x.shape[1]!, oh, ow) };
    }
    case 'GlobalAveragePool': case 'GlobalMaxPool': return globalPool(x0(), opType === 'GlobalMaxPool', where);
    case 'ReduceMean': case 'ReduceMax': return convertReduce(opType, ins, a, opset, where);
    case 'Slice': return convertSlice(ins, a, opset, where);
    case 'Split': return convertSplit(ins, a, opset, outputs, where);
    case 'Concat': {
      const acts = ins.map((o, i) => act(o, where, `input ${i}`));
      const rank = acts[0]!.shape.length;
      if (typeof a.get('axis') !== 'number') throw bad(where, 'Concat needs its axis attribute');
      const axis = normAxis(a.get('axis') as number, rank, where);
      const shape = [...acts[0]!.shape];
      shape[axis] = 0;
      for (const t of acts) {
        if (t.shape.length !== rank || t.shape.some((d, i) => i !== axis && d !== acts[0]!.shape[i])) {
          throw bad(where, `Concat inputs [${acts[0]!.shape}] and [${t.shape}] differ outside axis ${axis}`);
        }
        shape[axis] += t.shape[axis]!;
      }
      return { op: { kind: 'concat', axis }, inputs: acts.map((t) => t.id), shape };
    }
    case 'Flatten': {
      const x = x0();
      const axis = flattenAxis(a, x.shape.length, where);
      return { op: { kind: 'reshape', source: opType }, inputs: [x.id], shape: [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))] };
    }
    case 'Reshape': {
      const x = x0();
      const spec = opset >= 5 ? Array.from(konst(ins[1], where, 'the shape (input 1)').data) : (a.get('shape') as number[]);
      const shape = reshapeTarget(x.shape, spec, ((a.get('allowzero') as number | undefined) ?? 0) === 1, where);
      return { op: { kind: 'reshape', source: opType }, inputs: [x.id], shape };
    }
    case 'Squeeze': case 'Unsqueeze': {
      const x = x0();
      const axesIn = listArg(ins, 1, a, 'axes', opset, 13, where);
      let shape: number[];
      if (opType === 'Squeeze') {
        const axes = axesIn ? axesIn.map((v) => normAxis(v, x.shape.length, where)) : x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
        if (axes.some((ax) => x.shape[ax] !== 1)) throw bad(where, `cannot squeeze a dimension that is not 1 in [${x.shape}]`);
        shape = x.shape.filter((_, i) => !axes.includes(i));
      } else {
        if (!axesIn) throw bad(where, 'Unsqueeze needs axes');
        const r = x.shape.length + axesIn.length;
        shape = [...x.shape];
        for (const ax of axesIn.map((v) => normAxis(v, r, where)).sort((p, q) => p - q)) shape.splice(ax, 0, 1);
      }
      return { op: { kind: 'reshape', source: opType }, inputs: [x.id], shape };
    }
    case 'Transpose': {
      const x = x0();
      const perm = (a.get('perm') as number[] | undefined) ?? x.shape.map((_, i) => x.shape.length - 1 - i);
      checkPerm(perm, x.shape.length, where);
      return { op: { kind: 'transpose', perm }, inputs: [x.id], shape: perm.map((p) => x.shape[p]!) };
    }
    case 'Pad': {
      const x = x0();
      const mode = (a.get('mode') as string | undefined) ?? 'constant';
      if (mode !== 'constant') throw unsupported(where, `Pad mode '${mode}' is not supported; use constant padding`);
      if (opset >= 18 && ins[3] && ins[3].kind !== 'none') throw unsupported(where, 'Pad with an axes input is not supported');
      const pads = opset >= 11 ? Array.from(konst(ins[1], where, 'pads').data) : (a.get('pads') as number[]);
      const value = opset >= 11 ? (optConst(ins[2])?.data[0] ?? 0) : ((a.get('value') as number | undefined) ?? 0);
      const r = x.shape.length;
      if (pads.length !== 2 * r) throw bad(where, `pads has ${pads.length} entries for rank ${r}`);
      if (pads.some((p) => p < 0)) throw unsupported(where, 'negative pads (cropping) are not supported');
      return { op: { kind: 'pad', pads, value }, inputs: [x.id], shape: x.shape.map((d, i) => d + pads[i]! + pads[i + r]!) };
    }
    case 'Resize': case 'Upsample': return convertResize(opType, ins, a, opset, where);
    case 'Relu': return same(unaryOp('relu'));
    case 'LeakyRelu': return same(unaryOp('leakyrelu', (a.get('alpha') as number | undefined) ?? 0.01));
    case 'Sigmoid': return same(unaryOp('sigmoid'));
    case 'Tanh': return same(unaryOp('tanh'));
    case 'HardSigmoid': return same(unaryOp('hardsigmoid', (a.get('alpha') as number | undefined) ?? 0.2, (a.get('beta') as number | undefined) ?? 0.5));
    case 'HardSwish': return same(unaryOp('hardswish', 1 / 6, 0.5));
    case 'Elu': return same(unaryOp('elu', attr(a, 'alpha', 1)));
    // The ONNX defaults are float32 roundings of SELU's constants.
    case 'Selu': return same(unaryOp('selu', attr(a, 'alpha', 1.67326319217681884765625), attr(a, 'gamma', 1.05070102214813232421875)));
    case 'Celu': {
      const alpha = attr(a, 'alpha', 1);
      if (alpha === 0) throw bad(where, 'Celu alpha cannot be 0');
      return same(unaryOp('celu', alpha));
    }
    case 'ThresholdedRelu': return same(unaryOp('thresholdedrelu', attr(a, 'alpha', 1)));
    case 'Softplus': return same(unaryOp('softplus'));
    case 'Softsign': return same(unaryOp('softsign'));
    case 'Mish': return same(unaryOp('mish'));
    case 'Erf': return same(unaryOp('erf'));
    case 'Gelu': {
      const approx = (a.get('approximate') as string | undefined) ?? 'none';
      if (approx !== 'none' && approx !== 'tanh') throw bad(where, `Gelu approximate '${approx}' is not valid; use 'none' or 'tanh'`);
      return same(unaryOp('gelu', approx === 'tanh' ? 1 : 0));
    }
    case 'Abs': return same(unaryOp('abs'));
    case 'Exp': return same(unaryOp('exp'));
    case 'Log': return same(unaryOp('log'));
    case 'Sqrt': return same(unaryOp('sqrt'));
    case 'Reciprocal': return same(unaryOp('reciprocal'));
    case 'Pow': {
      const x = act(ins[0], where, 'the base (input 0)');
      const e = konst(ins[1], where, 'the exponent (input 1)');
      expandTo(e, x.shape, where);
      const p = e.data[0]!;
      // NaN ≠ NaN: a NaN exponent is one exponent (refused as NaN by the import's check).
      if (e.data.length === 0 || e.data.some((v) => v !== p && !(Number.isNaN(v) && Number.isNaN(p)))) throw unsupported(where, 'Pow with a different exponent per element is not supported; use one exponent');
      return same(unaryOp('pow', p));
    }
    case 'QuantizeLinear': {
      // Read by DequantizeLinear only (import checks): the pair is one fake quantization,
      // its output the dequantized value.
      const x = x0();
      if (ins[2]?.kind === 'act') throw unsupported(where, 'the zero point (input 2) must be a constant');
      const q = quantParams(x.shape, konst(ins[1], where, 'the scale (input 1)'), optConst(ins[2]), a, where);
      return same({ kind: 'unary', fn: 'fakequant', a: q.min, b: q.max, quant: { scale: q.scale, zero: q.zero } });
    }
    case 'PRelu': {
      const x = x0();
      const slope = expandTo(konst(ins[1], where, 'the slope (input 1)'), x.shape, where);
      // One slope for all (nn.PReLU() by default) is a LeakyRelu.
      return same(slope.every((v) => v === slope[0]) ? unaryOp('leakyrelu', slope[0]!) : { kind: 'unary', fn: 'prelu', a: 0, b: 0, slope });
    }
    case 'Clip': {
      let lo = -Infinity;
      let hi = Infinity;
      if (opset < 11) {
        lo = (a.get('min') as number | undefined) ?? -Infinity;
        hi = (a.get('max') as number | undefined) ?? Infinity;
      } else {
        if (ins[1] && ins[1].kind !== 'none') lo = konst(ins[1], where, 'min').data[0]!;
        if (ins[2] && ins[2].kind !== 'none') hi = konst(ins[2], where, 'max').data[0]!;
      }
      return same(unaryOp('clip', lo, hi));
    }
    case 'Softmax': case 'LogSoftmax': {
      const x = x0();
      const r = x.shape.length;
      const axis = normAxis((a.get('axis') as number | undefined) ?? (opset >= 13 ? -1 : 1), r, where);
      const outer = numel(x.shape.slice(0, axis));
      // Before opset 13 Softmax coerces the input to 2-D at `axis`.
      const len = opset >= 13 ? x.shape[axis]! : numel(x.shape.slice(axis));
      const inner = opset >= 13 ? numel(x.shape.slice(axis + 1)) : 1;
      return same({ kind: 'softmax', outer, len, inner, ...(opType === 'LogSoftmax' ? { log: true } : {}) });
    }
    default:
      throw unsupported(where, `op '${opType}' is not supported; supported ops: ${SUPPORTED_OPS.join(', ')}`);
  }
}
