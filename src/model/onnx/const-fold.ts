/**
 * Evaluation of ONNX nodes whose inputs are all constants: the shape arithmetic that
 * exporters emit (Shape → Gather → Unsqueeze → Concat → Reshape, Resize scales, Cast…)
 * and constant transforms of weights. Folded at import so the simulator never sees it.
 */
import { EvsimError } from '../../errors.js';
import { quantize, transposeMap } from '../dense/ops.js';
import { coordMap, stridesOf } from '../ir.js';
import type { AttrValue, ConstTensor } from './proto.js';

export type Attrs = Map<string, AttrValue>;

const num = (n: number[]): number => n.reduce((a, b) => a * b, 1);

function make(dtype: ConstTensor['dtype'], shape: number[], values: ArrayLike<number>): ConstTensor {
  return { dtype, shape, data: Float64Array.from(values) };
}

/** numpy-style broadcast of two shapes; null when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Index map from every element of `outShape` to the element of `shape` that
 * broadcasting reads.
 */
export function broadcastIndex(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const r = outShape.length;
  const padded = new Array<number>(r).fill(1);
  for (let i = 0; i < shape.length; i++) padded[r - shape.length + i] = shape[i]!;
  const inStrides = stridesOf(padded);
  return coordMap(outShape, (d, c) => (padded[d] === 1 ? 0 : c * inStrides[d]!));
}

function binary(a: ConstTensor, b: ConstTensor, f: (x: number, y: number) => number, where: string, dtype?: ConstTensor['dtype']): ConstTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  if (!shape) throw new EvsimError('BAD_MODEL', `${where}: shapes [${a.shape}] and [${b.shape}] do not broadcast`);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const out = new Float64Array(ia.length);
  for (let i = 0; i < out.length; i++) out[i] = f(a.data[ia[i]!]!, b.data[ib[i]!]!);
  const dt = dtype ?? (a.dtype === 'float' || b.dtype === 'float' ? 'float' : a.dtype);
  return { dtype: dt, shape, data: out };
}

function unary(a: ConstTensor, f: (x: number) => number): ConstTensor {
  return { dtype: a.dtype, shape: [...a.shape], data: a.data.map(f) };
}

export function normAxis(axis: number, rank: number, where: string): number {
  const ax = axis < 0 ? axis + rank : axis;
  if (ax < 0 || ax >= rank) throw new EvsimError('BAD_MODEL', `${where}: axis ${axis} is out of range for rank ${rank}`);
  return ax;
}

/** ONNX Transpose of a constant (the same index map the dense Transpose uses). */
export function transposeConst(t: ConstTensor, perm: number[]): ConstTensor {
  const map = transposeMap({ kind: 'transpose', perm }, t.shape);
  return { dtype: t.dtype, shape: perm.map((p) => t.shape[p]!), data: Float64Array.from(map, (i) => t.data[i]!) };
}

export function reshapeTarget(inShape: readonly number[], spec: readonly number[], allowZero: boolean, where: string): number[] {
  const total = num([...inShape]);
  const out = spec.map((d, i) => (d === 0 && !allowZero ? inShape[i]! : d));
  const neg = out.filter((d) => d === -1).length;
  if (neg > 1) throw new EvsimError('BAD_MODEL', `${where}: Reshape shape has more than one -1`);
  if (neg === 1) {
    const known = num(out.filter((d) => d !== -1));
    out[out.indexOf(-1)] = known === 0 ? 0 : total / known;
  }
  if (num(out) !== total || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new EvsimError('BAD_MODEL', `${where}: cannot reshape [${inShape}] to [${spec}]`);
  }
  return out;
}

/**
 * What a Slice takes of each axis of `shape` (ONNX semantics: negative indices count
 * from the end, out-of-range ones are clamped): its first index, step and length.
 */
export function sliceAxes(shape: readonly number[], starts: number[], ends: number[], axes: number[], steps: number[], where: string): { begin: number[]; step: number[]; count: number[] } {
  const r = shape.length;
  const begin = new Array<number>(r).fill(0);
  const step = new Array<number>(r).fill(1);
  const count = [...shape];
  if (ends.length !== starts.length || axes.length !== starts.length || (steps.length > 0 && steps.length !== starts.length)) {
    throw new EvsimError('BAD_MODEL', `${where}: starts, ends, axes and steps must have one entry per sliced axis`);
  }
  axes.forEach((axRaw, i) => {
    const ax = normAxis(axRaw, r, where);
    const dim = shape[ax]!;
    const st = steps[i] ?? 1;
    if (st === 0) throw new EvsimError('BAD_MODEL', `${where}: a Slice step cannot be 0`);
    let s = starts[i]!;
    let e = ends[i]!;
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (st > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
      count[ax] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = Math.min(Math.max(s, 0), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
      count[ax] = Math.max(0, Math.ceil((s - e) / -st));
    }
    begin[ax] = s;
    step[ax] = st;
  });
  return { begin, step, count };
}

function sliceConst(t: ConstTensor, starts: number[], ends: number[], axes: number[], steps: number[], where: string): ConstTensor {
  const { begin, step, count } = sliceAxes(t.shape, starts, ends, axes, steps, where);
  const inStrides = stridesOf(t.shape);
  const src = coordMap(count, (d, c) => (begin[d]! + c * step[d]!) * inStrides[d]!);
  const out = Float64Array.from(src, (i) => t.data[i]!);
  return { dtype: t.dtype, shape: count, data: out };
}

function ints(v: AttrValue | undefined): number[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

const ONNX_TO: Record<number, ConstTensor['dtype']> = { 1: 'float', 10: 'float', 11: 'float', 16: 'float', 9: 'bool' };

/**
 * Evaluates one node on constant inputs. Returns null when the op is not a
 * constant-foldable op (the importer then treats the node as part of the network).
 * `inputs[i]` is null for an omitted optional input.
 */
/** Integer range of the ONNX element types QuantizeLinear writes (TensorProto.DataType). */
const QUANT_RANGE: Record<number, [number, number]> = { 2: [0, 255], 3: [-128, 127], 4: [0, 65535], 5: [-32768, 32767] };

/** Per element of a tensor of `shape`: the scale and zero point of a Quantize/DequantizeLinear, and the integer range. */
export interface QuantParams {
  scale: Float32Array;
  zero: Float32Array;
  min: number;
  max: number;
}

/**
 * The scale (input 1) and zero point (input 2, default uint8 0) of a QuantizeLinear or
 * DequantizeLinear on a tensor of `shape`: one pair for the tensor (scalars) or one per
 * index along `axis` (1-D); the integer range QuantizeLinear saturates to comes from the
 * zero point's type (a DequantizeLinear, `quantizing` false, reads any integers: ±∞).
 */
export function quantParams(shape: readonly number[], scale: ConstTensor, zero: ConstTensor | null, attrs: Attrs, where: string, quantizing = true): QuantParams {
  if (((attrs.get('block_size') as number | undefined) ?? 0) !== 0) {
    throw new EvsimError('UNSUPPORTED_OP', `${where}: blocked quantization (block_size) is not supported; quantize per tensor or per axis`);
  }
  if (zero && (zero.shape.length !== scale.shape.length || zero.shape.some((d, i) => d !== scale.shape[i]))) {
    throw new EvsimError('BAD_MODEL', `${where}: the zero point's shape [${zero.shape}] differs from the scale's [${scale.shape}]`);
  }
  const type = (attrs.get('output_dtype') as number | undefined) || (zero?.onnxType ?? 2);
  const range = quantizing ? QUANT_RANGE[type] : [-Infinity, Infinity];
  if (!range) throw new EvsimError('UNSUPPORTED_OP', `${where}: quantization to ONNX type ${type} is not supported; use uint8, int8, uint16 or int16`);
  const n = num(shape as number[]);
  const out = { scale: new Float32Array(n), zero: new Float32Array(n), min: range[0], max: range[1] };
  for (let i = 0; i < scale.data.length; i++) {
    if (!(scale.data[i]! > 0) || !Number.isFinite(scale.data[i]!)) throw new EvsimError('BAD_MODEL', `${where}: scale ${scale.data[i]} must be a positive finite number`);
  }
  if (scale.data.length === 1) {
    out.scale.fill(scale.data[0]!);
    out.zero.fill(zero ? zero.data[0]! : 0);
    return out;
  }
  if (scale.shape.length !== 1) throw new EvsimError('BAD_MODEL', `${where}: the scale must be a scalar or 1-D (per axis), got shape [${scale.shape}]`);
  const axis = normAxis((attrs.get('axis') as number | undefined) ?? 1, shape.length, where);
  if (shape[axis] !== scale.data.length) {
    throw new EvsimError('BAD_MODEL', `${where}: ${scale.data.length} scales for axis ${axis} of size ${shape[axis]}`);
  }
  const inner = num(shape.slice(axis + 1) as number[]);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / inner) % scale.data.length;
    out.scale[i] = scale.data[c]!;
    out.zero[i] = zero ? zero.data[c]! : 0;
  }
  return out;
}

export function foldConstant(op: string, inputs: (ConstTensor | null)[], attrs: Attrs, opset: number, where: string): ConstTensor | null {
  const req = (i: number): ConstTensor => {
    const t = inputs[i];
    if (!t) throw new EvsimError('BAD_MODEL', `${where}: input ${i} is required`);
    return t;
  };
  switch (op) {
    case 'Constant': {
      const v = attrs.get('value');
      if (v && typeof v === 'object' && !Array.isArray(v)) return v;
      if (attrs.has('value_float')) return make('float', [], [attrs.get('value_float') as number]);
      if (attrs.has('value_floats')) { const a = attrs.get('value_floats') as number[]; return make('float', [a.length], a); }
      if (attrs.has('value_int')) return make('int', [], [attrs.get('value_int') as number]);
      if (attrs.has('value_ints')) { const a = attrs.get('value_ints') as number[]; return make('int', [a.length], a); }
      throw new EvsimError('UNSUPPORTED_OP', `${where}: Constant without a numeric value is not supported`);
    }
    case 'Identity':
    case 'Dropout':
      return req(0);
    case 'QuantizeLinear': {
      const x = req(0);
      const q = quantParams(x.shape, req(1), inputs[2] ?? null, attrs, where);
      return { dtype: 'int', shape: [...x.shape], data: x.data.map((v, i) => quantize(v, q.scale[i]!, q.zero[i]!, q.min, q.max)), onnxType: inputs[2]?.onnxType ?? 2 };
    }
    case 'DequantizeLinear': {
      const x = req(0);
      const q = quantParams(x.shape, req(1), inputs[2] ?? null, attrs, where, false);
      return { dtype: 'float', shape: [...x.shape], data: x.data.map((v, i) => Math.fround((v - q.zero[i]!) * q.scale[i]!)) };
    }
    case 'Cast': {
      const to = ONNX_TO[attrs.get('to') as number] ?? 'int';
      const t = req(0);
      const data = to === 'int' ? t.data.map(Math.trunc) : to === 'bool' ? t.data.map((v) => (v !== 0 ? 1 : 0)) : Float64Array.from(t.data, Math.fround);
      return { dtype: to, shape: [...t.shape], data };
    }
    case 'Shape': {
      const t = req(0);
      const r = t.shape.length;
      let s = (attrs.get('start') as number | undefined) ?? 0;
      let e = (attrs.get('end') as number | undefined) ?? r;
      if (s < 0) s += r;
      if (e < 0) e += r;
      const dims = t.shape.slice(Math.max(0, s), Math.min(r, e));
      return make('int', [dims.length], dims);
    }
    case 'Size':
      return make('int', [], [num(req(0).shape)]);
    case 'Gather': {
      const t = req(0);
      const idx = req(1);
      const ax = normAxis((attrs.get('axis') as number | undefined) ?? 0, t.shape.length, where);
      const outer = num(t.shape.slice(0, ax));
      const inner = num(t.shape.slice(ax + 1));
      const dim = t.shape[ax]!;
      const shape = [...t.shape.slice(0, ax), ...idx.shape, ...t.shape.slice(ax + 1)];
      const out = new Float64Array(num(shape));
      let o = 0;
      for (let a = 0; a < outer; a++) {
        for (let j = 0; j < idx.data.length; j++) {
          let k = idx.data[j]!;
          if (k < 0) k += dim;
          if (k < 0 || k >= dim) throw new EvsimError('BAD_MODEL', `${where}: Gather index ${idx.data[j]} is out of range`);
          for (let b = 0; b < inner; b++) out[o++] = t.data[(a * dim + k) * inner + b]!;
        }
      }
      return { dtype: t.dtype, shape, data: out };
    }
    case 'Unsqueeze': {
      const t = req(0);
      const axes = opset >= 13 ? Array.from(req(1).data) : ints(attrs.get('axes')) ?? [];
      const r = t.shape.length + axes.length;
      const norm = axes.map((a) => normAxis(a, r, where)).sort((a, b) => a - b);
      const shape = [...t.shape];
      for (const a of norm) shape.splice(a, 0, 1);
      return { dtype: t.dtype, shape, data: t.data };
    }
    case 'Squeeze': {
      const t = req(0);
      const axesIn = opset >= 13 ? (inputs[1] ? Array.from(inputs[1].data) : null) : ints(attrs.get('axes')) ?? null;
      const axes = axesIn ? axesIn.map((a) => normAxis(a, t.shape.length, where)) : t.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
      return { dtype: t.dtype, shape: t.shape.filter((_, i) => !axes.includes(i)), data: t.data };
    }
    case 'Concat': {
      const ts = inputs.filter((t): t is ConstTensor => t !== null);
      const r = ts[0]!.shape.length;
      if (typeof attrs.get('axis') !== 'number') throw new EvsimError('BAD_MODEL', `${where}: Concat needs its axis attribute`);
      const ax = normAxis(attrs.get('axis') as number, r, where);
      const outer = num(ts[0]!.shape.slice(0, ax));
      const shape = [...ts[0]!.shape];
      shape[ax] = ts.reduce((s, t) => s + t.shape[ax]!, 0);
      const out = new Float64Array(num(shape));
      let o = 0;
      for (let a = 0; a < outer; a++) {
        for (const t of ts) {
          const block = num(t.shape.slice(ax));
          for (let b = 0; b < block; b++) out[o++] = t.data[a * block + b]!;
        }
      }
      const dtype = ts.some((t) => t.dtype === 'float') ? 'float' : ts[0]!.dtype;
      return { dtype, shape, data: out };
    }
    case 'Slice': {
      const t = req(0);
      if (opset < 10) {
        const starts = ints(attrs.get('starts')) ?? [];
        const axes = ints(attrs.get('axes')) ?? starts.map((_, i) => i);
        return sliceConst(t, starts, ints(attrs.get('ends')) ?? [], axes, [], where);
      }
      const starts = Array.from(req(1).data);
      const ends = Array.from(req(2).data);
      const axes = inputs[3] ? Array.from(inputs[3].data) : starts.map((_, i) => i);
      const steps = inputs[4] ? Array.from(inputs[4].data) : [];
      return sliceConst(t, starts, ends, axes, steps, where);
    }
    case 'Reshape': {
      const t = req(0);
      const spec = opset >= 5 ? Array.from(req(1).data) : ints(attrs.get('shape')) ?? [];
      return { dtype: t.dtype, shape: reshapeTarget(t.shape, spec, (attrs.get('allowzero') as number | undefined) === 1, where), data: t.data };
    }
    case 'Flatten': {
      const t = req(0);
      const a = flattenAxis(attrs, t.shape.length, where);
      return { dtype: t.dtype, shape: [num(t.shape.slice(0, a)), num(t.shape.slice(a))], data: t.data };
    }
    case 'Transpose': {
      const t = req(0);
      const perm = ints(attrs.get('perm')) ?? t.shape.map((_, i) => t.shape.length - 1 - i);
      checkPerm(perm, t.shape.length, where);
      return transposeConst(t, perm);
    }
    case 'Expand': {
      const t = req(0);
      const target = Array.from(req(1).data);
      const shape = broadcastShapes(t.shape, target);
      if (!shape) throw new EvsimError('BAD_MODEL', `${where}: cannot expand [${t.shape}] to [${target}]`);
      const idx = broadcastIndex(t.shape, shape);
      return { dtype: t.dtype, shape, data: Float64Array.from(idx, (i) => t.data[i]!) };
    }
    case 'ConstantOfShape': {
      const shape = Array.from(req(0).data);
      const v = attrs.get('value');
      const fill = v && typeof v === 'object' && !Array.isArray(v) ? v.data[0]! : 0;
      const dtype = v && typeof v === 'object' && !Array.isArray(v) ? v.dtype : 'float';
      return { dtype, shape, data: new Float64Array(num(shape)).fill(fill) };
    }
    case 'Range': {
      const [s, l, d] = [req(0).data[0]!, req(1).data[0]!, req(2).data[0]!];
      const n = Math.max(Math.ceil((l - s) / d), 0);
      return make(req(0).dtype, [n], Array.from({ length: n }, (_, i) => s + i * d));
    }
    case 'Add': return binary(req(0), req(1), (a, b) => a + b, where);
    case 'Sub': return binary(req(0), req(1), (a, b) => a - b, where);
    case 'Mul': return binary(req(0), req(1), (a, b) => a * b, where);
    case 'Div': {
      const a = req(0);
      const b = req(1);
      const intDiv = a.dtype === 'int' && b.dtype === 'int';
      return binary(a, b, intDiv ? (p, q) => Math.trunc(p / q) : (p, q) => p / q, where);
    }
    case 'Pow': return binary(req(0), req(1), Math.pow, where);
    case 'Min': return inputs.filter((t): t is ConstTensor => !!t).reduce((p, q) => binary(p, q, Math.min, where));
    case 'Max': return inputs.filter((t): t is ConstTensor => !!t).reduce((p, q) => binary(p, q, Math.max, where));
    case 'Equal': return binary(req(0), req(1), (a, b) => (a === b ? 1 : 0), where, 'bool');
    case 'Less': return binary(req(0), req(1), (a, b) => (a < b ? 1 : 0), where, 'bool');
    case 'Greater': return binary(req(0), req(1), (a, b) => (a > b ? 1 : 0), where, 'bool');
    case 'Where': {
      const c = req(0);
      const ab = binary(req(1), req(2), (a) => a, where);
      const shape = broadcastShapes(c.shape, ab.shape)!;
      const ic = broadcastIndex(c.shape, shape);
      const ia = broadcastIndex(req(1).shape, shape);
      const ib = broadcastIndex(req(2).shape, shape);
      const out = new Float64Array(ic.length);
      for (let i = 0; i < out.length; i++) out[i] = c.data[ic[i]!] ? req(1).data[ia[i]!]! : req(2).data[ib[i]!]!;
      return { dtype: ab.dtype, shape, data: out };
    }
    case 'Not': return unary(req(0), (v) => (v ? 0 : 1));
    case 'Neg': return unary(req(0), (v) => -v);
    case 'Abs': return unary(req(0), Math.abs);
    case 'Floor': return unary(req(0), Math.floor);
    case 'Ceil': return unary(req(0), Math.ceil);
    case 'Sqrt': return unary(req(0), Math.sqrt);
    case 'Reciprocal': return unary(req(0), (v) => 1 / v);
    case 'ReduceProd': {
      const t = req(0);
      if (attrs.has('axes') || inputs[1]) return null;
      return make(t.dtype, (attrs.get('keepdims') ?? 1) ? t.shape.map(() => 1) : [], [t.data.reduce((a, b) => a * b, 1)]);
    }
    default:
      return null;
  }
}


/** Flatten's axis in [−rank, rank] (rank itself flattens to [N, 1]), as a non-negative index. */
export function flattenAxis(attrs: Attrs, rank: number, where: string): number {
  const ax = (attrs.get('axis') as number | undefined) ?? 1;
  if (!Number.isInteger(ax) || ax < -rank || ax > rank) throw new EvsimError('BAD_MODEL', `${where}: axis ${ax} is outside −${rank}…${rank} for a rank-${rank} input`);
  return ax < 0 ? ax + rank : ax;
}

/** Transpose's perm: each of the `rank` axes once. */
export function checkPerm(perm: readonly number[], rank: number, where: string): void {
  if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
    throw new EvsimError('BAD_MODEL', `${where}: perm [${perm}] is not a permutation of the ${rank} axes`);
  }
}
