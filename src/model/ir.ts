/**
 * Graph IR: a conventional network after ONNX import and constant folding.
 *
 * Every tensor keeps its full ONNX shape with the batch dimension fixed to 1 and is
 * stored flat in C (NCHW) order; a flat index is the canonical "source index" of
 * DESIGN §3. Operators are normalised: BatchNorm after a Conv/Gemm is already folded,
 * constant arithmetic is an `affine` node, Identity/Dropout are gone.
 */

export type Shape = readonly number[];

export interface ConvOp {
  kind: 'conv';
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padT: number;
  padL: number;
  padB: number;
  padR: number;
  dilH: number;
  dilW: number;
  group: number;
  /** OIHW, as in ONNX: [cout][cin/group][kh][kw]. */
  weight: Float32Array;
  /** [cout] or null. Carries folded BN shift and folded constant Adds. */
  bias: Float32Array | null;
  /** γ of a BatchNorm folded into this node, for the `bn_gamma` threshold option. */
  bnGamma: Float32Array | null;
  /**
   * ConvTranspose: input (iy, ix) reaches output (iy·stride − pad + tap·dil, …), so each
   * input scatters a kernel-sized patch; `weight` is still [cout][cin/group][kh][kw].
   */
  transposed?: boolean;
}

/**
 * y[m, n] = Σ_k x[m, k] · W[k, n] (+ bias[m, n]); Gemm and MatMul with a constant
 * right operand. With `transA` the activation is stored [K, M].
 */
export interface DenseOp {
  kind: 'dense';
  m: number;
  k: number;
  n: number;
  transA: boolean;
  /** [K][N] row-major (alpha already applied). */
  weight: Float32Array;
  /** Full [M][N] bias (beta already applied), or null. */
  bias: Float32Array | null;
  bnGamma: Float32Array | null;
}

/** Sum (or difference, sign −1) of two activations of the same shape. */
export interface AddOp {
  kind: 'add';
  sign: 1 | -1;
}

/**
 * y = x · scale + shift with the constants expanded to the output size. Covers
 * Mul/Div/Add/Sub by a constant, Neg, and a BatchNorm that could not be folded.
 * On deltas only the scale acts; the shift is an offset applied at the flush.
 */
export interface AffineOp {
  kind: 'affine';
  scale: Float32Array;
  shift: Float32Array;
  bnGamma: Float32Array | null;
  /** What the node was in ONNX, for display. */
  source: string;
}

export interface PoolGeometry {
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padT: number;
  padL: number;
  padB: number;
  padR: number;
  dilH: number;
  dilW: number;
}

export interface AvgPoolOp extends PoolGeometry {
  kind: 'avgpool';
  countIncludePad: boolean;
  global: boolean;
}

export interface MaxPoolOp extends PoolGeometry {
  kind: 'maxpool';
}

export interface ConcatOp {
  kind: 'concat';
  axis: number;
}

/** Flatten, Reshape, Squeeze, Unsqueeze: the flat index is unchanged. */
export interface ReshapeOp {
  kind: 'reshape';
  source: string;
}

export interface TransposeOp {
  kind: 'transpose';
  perm: number[];
}

/** Constant-mode Pad; `pads` is ONNX order [x1_begin, x2_begin, ..., x1_end, ...]. */
export interface PadOp {
  kind: 'pad';
  pads: number[];
  value: number;
}

/**
 * An axis-wise gather: for each output axis, the input coordinate each output
 * coordinate copies (a nearest-neighbour Resize, or a Slice / one output of a Split),
 * or, for a linear Resize, the two it interpolates between.
 */
export interface ResizeOp {
  kind: 'resize';
  /** Per axis, Int32Array of length outShape[axis] → input coordinate. */
  maps: Int32Array[];
  /**
   * A linear (bilinear) Resize: per axis and output coordinate, the two input
   * coordinates it lies between and the weight of the upper one (the lower has 1 − w);
   * `maps` then holds the lower coordinates.
   */
  linear?: { hi: Int32Array; w: Float32Array }[];
}

export type UnaryKind =
  | 'relu' | 'leakyrelu' | 'prelu' | 'clip' | 'sigmoid' | 'tanh' | 'hardsigmoid' | 'hardswish'
  | 'elu' | 'selu' | 'celu' | 'thresholdedrelu' | 'softplus' | 'softsign' | 'mish' | 'erf' | 'gelu'
  | 'abs' | 'exp' | 'log' | 'sqrt' | 'reciprocal' | 'pow' | 'fakequant';

/** An elementwise function of one activation. */
export interface UnaryOp {
  kind: 'unary';
  fn: UnaryKind;
  /**
   * LeakyRelu slope / HardSigmoid, Elu, Selu, Celu, ThresholdedRelu alpha / Clip min /
   * Pow exponent / Gelu: 1 for the tanh approximation, 0 for the exact form.
   */
  a: number;
  /** HardSigmoid beta / Clip max / Selu gamma. */
  b: number;
  /** PRelu: the slope of every element (the ONNX slope broadcast to the shape). */
  slope?: Float32Array;
  /**
   * A QuantizeLinear → DequantizeLinear pair (fake quantization): the scale and zero
   * point of every element (broadcast like `slope`); `a`, `b` are the integer range.
   */
  quant?: { scale: Float32Array; zero: Float32Array };
}

export interface SoftmaxOp {
  kind: 'softmax';
  /** The tensor is viewed as [outer, len, inner]; softmax runs along len. */
  outer: number;
  len: number;
  inner: number;
  /** LogSoftmax: the natural log of the softmax. */
  log?: boolean;
}

/** Elementwise product of two activations (x · sigmoid(x), a squeeze-and-excitation scale). */
export interface MulOp {
  kind: 'mul';
  /**
   * With broadcasting (a [1, C, H, W] map times a [1, C, 1, 1] scale), per input: for
   * every output element, the input element it reads; null for an input of the output's
   * shape. Absent: both inputs have the output's shape.
   */
  bcast?: (Int32Array | null)[];
}

export type Op =
  | ConvOp
  | DenseOp
  | AddOp
  | AffineOp
  | AvgPoolOp
  | MaxPoolOp
  | ConcatOp
  | ReshapeOp
  | TransposeOp
  | PadOp
  | ResizeOp
  | UnaryOp
  | SoftmaxOp
  | MulOp;

export interface TensorInfo {
  name: string;
  shape: number[];
  size: number;
}

export interface GraphNode {
  id: number;
  /** ONNX node name (or op_index when the exporter left it empty). */
  name: string;
  /** The ONNX op type it came from. */
  onnxOp: string;
  op: Op;
  /** Input tensor ids (activations only; constants are inside `op`). */
  inputs: number[];
  output: number;
}

export interface Graph {
  name: string;
  tensors: TensorInfo[];
  /** Topologically ordered. */
  nodes: GraphNode[];
  input: number;
  output: number;
  opset: number;
}

/** DESIGN §3: synaptic nodes carry weights; they and the linear nodes run on deltas. */
export type OpClass = 'synaptic' | 'linear' | 'nonlinear';

export function opClass(op: Op): OpClass {
  switch (op.kind) {
    case 'conv':
    case 'dense':
      return 'synaptic';
    case 'add':
    case 'affine':
    case 'avgpool':
    case 'concat':
    case 'reshape':
    case 'transpose':
    case 'pad':
    case 'resize':
      return 'linear';
    case 'maxpool':
    case 'unary':
    case 'softmax':
    case 'mul':
      return 'nonlinear';
  }
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/**
 * For every flat index of `shape` (C order), Σ over axes of `offset(axis, coordinate)`:
 * the index maps of Transpose, Pad, Resize, broadcasting and Slice are all of this form.
 */
export function coordMap(shape: Shape, offset: (axis: number, coord: number) => number): Int32Array {
  const strides = stridesOf(shape);
  const n = numel(shape);
  const map = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let at = 0;
    for (let d = 0; d < shape.length; d++) {
      const c = Math.floor(rem / strides[d]!);
      rem -= c * strides[d]!;
      at += offset(d, c);
    }
    map[i] = at;
  }
  return map;
}

/** Taps of a transposed kernel axis landing on one output at most: one in every s/gcd(s, d). */
function transposedTaps(k: number, stride: number, dil: number): number {
  let a = stride;
  let b = dil;
  while (b !== 0) [a, b] = [b, a % b];
  return Math.ceil(k / (stride / a));
}

/** The most weights applied to one output of a synaptic node (its "fan_in"). */
export function fanIn(op: ConvOp | DenseOp): number {
  if (op.kind === 'dense') return op.k;
  const cinG = op.cin / op.group;
  if (op.transposed) return cinG * transposedTaps(op.kh, op.strideH, op.dilH) * transposedTaps(op.kw, op.strideW, op.dilW);
  return cinG * op.kh * op.kw;
}

/**
 * Conventional MACs per frame of a node: outputs × fan_in (DESIGN §4); for a
 * ConvTranspose, inputs × the kernel each input scatters (cout/group · kh · kw), what a
 * dense GEMM + col2im implementation computes.
 */
export function denseMacsOf(node: GraphNode, g: Graph): number {
  const op = node.op;
  if (op.kind === 'conv' && op.transposed) return g.tensors[node.inputs[0]!]!.size * (op.cout / op.group) * op.kh * op.kw;
  if (op.kind !== 'conv' && op.kind !== 'dense') return 0;
  return g.tensors[node.output]!.size * fanIn(op);
}

/** Bytes of constant parameters (float32) held by a node. */
export function weightBytesOf(op: Op): number {
  switch (op.kind) {
    case 'conv':
    case 'dense':
      return 4 * (op.weight.length + (op.bias ? op.bias.length : 0));
    default:
      return 0;
  }
}

const INT_FIELDS = [
  'cin', 'cout', 'kh', 'kw', 'strideH', 'strideW', 'padT', 'padL', 'padB', 'padR', 'dilH', 'dilW', 'group',
  'm', 'k', 'n', 'axis', 'outer', 'len', 'inner',
] as const;

/**
 * Stores every integer field of an op as a small integer. Values decoded from protobuf
 * int64s or Float64Arrays are heap doubles in V8; index arithmetic on them in the
 * sparse kernels compiles to float math and ran 2.5× slower (measured on the conv scatter).
 */
export function normalizeInts<T extends Op>(op: T): T {
  // A fresh object: V8 keeps a field's double representation once it has held a double.
  const ints = new Set<string>(INT_FIELDS);
  const out = Object.fromEntries(
    Object.entries(op).map(([key, v]) => [key, ints.has(key) && typeof v === 'number' ? v | 0 : v]),
  ) as T;
  if (out.kind === 'transpose') out.perm = out.perm.map((v) => v | 0);
  if (out.kind === 'pad') out.pads = out.pads.map((v) => v | 0);
  return out;
}
