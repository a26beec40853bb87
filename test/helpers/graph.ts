/**
 * Hand-built graph IR for model tests: a tiny builder and op factories with seeded
 * random weights. Shapes are written by the test (or computed by the naive helpers),
 * never asked of the code under test.
 */
import type { AffineOp, AvgPoolOp, ConvOp, DenseOp, Graph, GraphNode, MaxPoolOp, Op, SoftmaxOp, TensorInfo, UnaryKind, UnaryOp } from '../../src/model/ir.js';
import { randArray, type Rng } from './rng.js';

export const numelOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Builds a Graph node by node; tensor 0 is the network input. */
export class GraphBuilder {
  private readonly tensors: TensorInfo[] = [];
  private readonly nodes: GraphNode[] = [];

  constructor(inShape: number[], readonly name = 'test') {
    this.tensors.push({ name: 'input', shape: [...inShape], size: numelOf(inShape) });
  }

  /** Adds a node reading `inputs` (tensor ids); returns its output tensor id. */
  add(op: Op, inputs: number[], outShape: number[], name?: string): number {
    const id = this.nodes.length;
    const out = this.tensors.length;
    const n = name ?? `${op.kind}_${id}`;
    this.tensors.push({ name: `${n}.out`, shape: [...outShape], size: numelOf(outShape) });
    this.nodes.push({ id, name: n, onnxOp: op.kind, op, inputs, output: out });
    return out;
  }

  shape(t: number): number[] {
    return [...this.tensors[t]!.shape];
  }

  /** The graph with `output` (default: the last tensor) as the network output. */
  build(output = this.tensors.length - 1): Graph {
    return { name: this.name, tensors: this.tensors, nodes: this.nodes, input: 0, output, opset: 13 };
  }
}

export interface ConvSpec {
  cin: number;
  cout: number;
  kh: number;
  kw?: number;
  stride?: [number, number];
  /** [top, left, bottom, right]. */
  pads?: [number, number, number, number];
  dil?: [number, number];
  group?: number;
  bias?: boolean;
}

export function convOp(rng: Rng, s: ConvSpec, weightRange = 0.5): ConvOp {
  const kw = s.kw ?? s.kh;
  const group = s.group ?? 1;
  const [padT, padL, padB, padR] = s.pads ?? [0, 0, 0, 0];
  const [strideH, strideW] = s.stride ?? [1, 1];
  const [dilH, dilW] = s.dil ?? [1, 1];
  return {
    kind: 'conv', cin: s.cin, cout: s.cout, kh: s.kh, kw, strideH, strideW, padT, padL, padB, padR, dilH, dilW, group,
    weight: randArray(rng, (s.cout * (s.cin / group) * s.kh * kw), -weightRange, weightRange),
    bias: s.bias === false ? null : randArray(rng, s.cout, -weightRange, weightRange),
    bnGamma: null,
  };
}

export function denseOp(rng: Rng, m: number, k: number, n: number, transA = false, bias = true): DenseOp {
  return {
    kind: 'dense', m, k, n, transA,
    weight: randArray(rng, k * n, -0.5, 0.5),
    bias: bias ? randArray(rng, m * n, -0.5, 0.5) : null,
    bnGamma: null,
  };
}

export function affineOp(rng: Rng, size: number): AffineOp {
  return { kind: 'affine', scale: randArray(rng, size, -1.5, 1.5), shift: randArray(rng, size, -0.5, 0.5), bnGamma: null, source: 'test' };
}

export function unary(fn: UnaryKind, a = 0, b = 0): UnaryOp {
  return { kind: 'unary', fn, a, b };
}

export const relu = (): UnaryOp => unary('relu');

export interface PoolSpec {
  k: [number, number];
  stride?: [number, number];
  pads?: [number, number, number, number];
  dil?: [number, number];
}

function poolGeo(p: PoolSpec) {
  const [padT, padL, padB, padR] = p.pads ?? [0, 0, 0, 0];
  const [strideH, strideW] = p.stride ?? [1, 1];
  const [dilH, dilW] = p.dil ?? [1, 1];
  return { kh: p.k[0], kw: p.k[1], strideH, strideW, padT, padL, padB, padR, dilH, dilW };
}

export function avgPoolOp(p: PoolSpec, countIncludePad: boolean, global = false): AvgPoolOp {
  return { kind: 'avgpool', ...poolGeo(p), countIncludePad, global };
}

export function maxPoolOp(p: PoolSpec): MaxPoolOp {
  return { kind: 'maxpool', ...poolGeo(p) };
}

export function softmaxOp(shape: number[], axis: number): SoftmaxOp {
  return { kind: 'softmax', outer: numelOf(shape.slice(0, axis)), len: shape[axis]!, inner: numelOf(shape.slice(axis + 1)) };
}
