/**
 * ONNX protobuf decoding (via the generated `onnx-proto` module) and conversion of
 * TensorProto / AttributeProto into plain numbers. The only file that knows the
 * protobuf classes.
 */
import onnxProto from 'onnx-proto';
import { EvsimError } from '../../errors.js';

const { onnx } = onnxProto;

export type OnnxModel = onnxProto.onnx.ModelProto;
export type OnnxNode = onnxProto.onnx.INodeProto;
export type OnnxTensor = onnxProto.onnx.ITensorProto;
export type OnnxValueInfo = onnxProto.onnx.IValueInfoProto;

/**
 * A constant tensor. Every element is held as a float64 number: exact for float32
 * weights and for the int64 shape arithmetic that exporters emit.
 */
export interface ConstTensor {
  dtype: 'float' | 'int' | 'bool';
  shape: number[];
  data: Float64Array;
  /** The ONNX element type it was stored as (TensorProto.DataType), when read from a file. */
  onnxType?: number;
}

type LongLike = number | { toNumber(): number } | null | undefined;

export function toNum(v: LongLike): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function decodeModel(bytes: Uint8Array, file: string): OnnxModel {
  let model: OnnxModel;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new EvsimError(
      'BAD_MODEL',
      `${file}: not a valid ONNX model (${(e as Error).message}); export it with torch.onnx.export or check the file is complete`,
    );
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
    throw new EvsimError('BAD_MODEL', `${file}: the ONNX model has no graph nodes; is this an ONNX file?`);
  }
  return model;
}

const DT = onnx.TensorProto.DataType;

function dtypeClass(dt: number, where: string): ConstTensor['dtype'] {
  switch (dt) {
    case DT.FLOAT:
    case DT.DOUBLE:
      return 'float';
    case DT.INT8:
    case DT.INT16:
    case DT.INT32:
    case DT.INT64:
    case DT.UINT8:
    case DT.UINT16:
    case DT.UINT32:
    case DT.UINT64:
      return 'int';
    case DT.BOOL:
      return 'bool';
    default:
      throw new EvsimError(
        'BAD_MODEL',
        `${where}: tensor data type ${onnx.TensorProto.DataType[dt] ?? dt} is not supported; use float32 weights`,
      );
  }
}

/** Element size in bytes of raw_data for a data type. */
function rawSize(dt: number): number {
  switch (dt) {
    case DT.DOUBLE:
    case DT.INT64:
    case DT.UINT64:
      return 8;
    case DT.FLOAT:
    case DT.INT32:
    case DT.UINT32:
      return 4;
    case DT.INT16:
    case DT.UINT16:
      return 2;
    default:
      return 1;
  }
}

/**
 * Little-endian raw tensor data into `data`, one loop per element type: a loop with the
 * type switch inside was compiled mid-loop for one type (the float weights) and
 * deoptimised at the next (an int64 shape), tensor after tensor.
 */
function decodeRaw(dv: DataView, dt: number, n: number, size: number, data: Float64Array): void {
  switch (dt) {
    case DT.FLOAT: for (let i = 0; i < n; i++) data[i] = dv.getFloat32(i * size, true); break;
    case DT.DOUBLE: for (let i = 0; i < n; i++) data[i] = dv.getFloat64(i * size, true); break;
    case DT.INT64: for (let i = 0; i < n; i++) data[i] = Number(dv.getBigInt64(i * size, true)); break;
    case DT.UINT64: for (let i = 0; i < n; i++) data[i] = Number(dv.getBigUint64(i * size, true)); break;
    case DT.INT32: for (let i = 0; i < n; i++) data[i] = dv.getInt32(i * size, true); break;
    case DT.UINT32: for (let i = 0; i < n; i++) data[i] = dv.getUint32(i * size, true); break;
    case DT.INT16: for (let i = 0; i < n; i++) data[i] = dv.getInt16(i * size, true); break;
    case DT.UINT16: for (let i = 0; i < n; i++) data[i] = dv.getUint16(i * size, true); break;
    case DT.INT8: for (let i = 0; i < n; i++) data[i] = dv.getInt8(i * size); break;
    default: for (let i = 0; i < n; i++) data[i] = dv.getUint8(i * size); break;
  }
}

export function tensorFromProto(t: OnnxTensor, where: string): ConstTensor {
  const dt = t.dataType ?? DT.UNDEFINED;
  const dtype = dtypeClass(dt, where);
  const shape = (t.dims ?? []).map(toNum);
  const n = shape.reduce((a, b) => a * b, 1);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new EvsimError(
      'BAD_MODEL',
      `${where}: weights stored as external data are not supported; re-export with the weights inside the .onnx file`,
    );
  }
  // Checked before any allocation: a corrupt header may declare dims of 2^31 or below 0.
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || !(n <= 2 ** 31 - 1)) {
    throw new EvsimError('BAD_MODEL', `${where}: declared shape [${shape.join(', ')}] is not a tensor evsim can hold; the file is corrupt`);
  }
  const data = new Float64Array(n);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const size = rawSize(dt);
    if (raw.length !== n * size) {
      throw new EvsimError(
        'BAD_MODEL',
        `${where}: raw data holds ${raw.length} bytes but shape [${shape.join(', ')}] needs ${n * size}; the file is corrupt`,
      );
    }
    decodeRaw(new DataView(raw.buffer, raw.byteOffset, raw.byteLength), dt, n, size, data);
    return { dtype, shape, data, onnxType: dt };
  }
  let src: ArrayLike<LongLike> | undefined;
  if (dt === DT.FLOAT) src = t.floatData ?? undefined;
  else if (dt === DT.DOUBLE) src = t.doubleData ?? undefined;
  else if (dt === DT.INT64) src = t.int64Data ?? undefined;
  else if (dt === DT.UINT32 || dt === DT.UINT64) src = t.uint64Data ?? undefined;
  else src = t.int32Data ?? undefined;
  const len = src ? src.length : 0;
  if (len !== n) {
    throw new EvsimError(
      'BAD_MODEL',
      `${where}: tensor holds ${len} values but shape [${shape.join(', ')}] needs ${n}; the file is corrupt`,
    );
  }
  for (let i = 0; i < n; i++) data[i] = toNum(src![i]);
  return { dtype, shape, data, onnxType: dt };
}

export type AttrValue = number | number[] | string | ConstTensor;

/** Attributes of a node as plain values, keyed by name. */
const ATT = onnx.AttributeProto.AttributeType;

/**
 * The ONNX type of attributes whose name means one type in every op evsim reads (a
 * string alpha would be read as NaN, an INT axes list as no list). Names whose type
 * differs between ops or opsets (Pad's `value`, Constant's) are not here.
 */
const ATTRIBUTE_TYPES: Readonly<Record<string, number>> = {
  ...Object.fromEntries(['alpha', 'beta', 'gamma', 'epsilon', 'momentum', 'lambd', 'min', 'max', 'cubic_coeff_a', 'extrapolation_value', 'ratio'].map((k) => [k, ATT.FLOAT])),
  ...Object.fromEntries(['axis', 'keepdims', 'group', 'transA', 'transB', 'count_include_pad', 'ceil_mode', 'storage_order', 'to', 'training_mode',
    'select_last_index', 'exclude_outside', 'noop_with_empty_axes', 'allowzero', 'saturate', 'blocksize', 'spatial'].map((k) => [k, ATT.INT])),
  ...Object.fromEntries(['axes', 'pads', 'strides', 'dilations', 'kernel_shape', 'perm', 'output_padding', 'output_shape', 'split', 'starts', 'ends'].map((k) => [k, ATT.INTS])),
  ...Object.fromEntries(['mode', 'auto_pad', 'coordinate_transformation_mode', 'nearest_mode', 'approximate', 'keep_aspect_ratio_policy'].map((k) => [k, ATT.STRING])),
  scales: ATT.FLOATS,
};

function typeName(t: number): string {
  return ({ [ATT.FLOAT]: 'a float', [ATT.INT]: 'an int', [ATT.STRING]: 'a string', [ATT.TENSOR]: 'a tensor', [ATT.FLOATS]: 'a list of floats', [ATT.INTS]: 'a list of ints' } as Record<number, string>)[t] ?? `attribute type ${t}`;
}

export function attributesOf(node: OnnxNode, where: string): Map<string, AttrValue> {
  const out = new Map<string, AttrValue>();
  const AT = onnx.AttributeProto.AttributeType;
  for (const a of node.attribute ?? []) {
    const name = a.name ?? '';
    const want = ATTRIBUTE_TYPES[name];
    // A float attribute written as an integer is read as the number it is.
    if (want !== undefined && a.type !== want && !(want === AT.FLOAT && a.type === AT.INT)) {
      throw new EvsimError('BAD_MODEL', `${where}: attribute '${name}' must be ${typeName(want)} (ONNX), got ${typeName(a.type ?? 0)}; the file is corrupt`);
    }
    switch (a.type) {
      case AT.FLOAT: out.set(name, a.f ?? 0); break;
      case AT.INT: out.set(name, toNum(a.i)); break;
      case AT.STRING: out.set(name, new TextDecoder().decode(a.s ?? new Uint8Array())); break;
      case AT.FLOATS: out.set(name, Array.from(a.floats ?? [])); break;
      case AT.INTS: out.set(name, (a.ints ?? []).map(toNum)); break;
      case AT.TENSOR: out.set(name, tensorFromProto(a.t ?? {}, `${where} attribute '${name}'`)); break;
      default:
        // Graph, sparse and string-list attributes belong to ops we do not support;
        // the op check reports those nodes by name.
        break;
    }
  }
  return out;
}

/** Static shape of a graph input/output; symbolic dims come back as -1. */
export function valueInfoShape(v: OnnxValueInfo): number[] | null {
  const dims = v.type?.tensorType?.shape?.dim;
  if (!dims) return null;
  return dims.map((d) => {
    const val = toNum(d.dimValue as LongLike);
    return d.dimParam || val <= 0 ? -1 : val;
  });
}
