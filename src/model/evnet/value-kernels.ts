/**
 * Value-domain (nonlinear) kernels that recompute only the outputs whose inputs
 * changed this frame and report which outputs really changed.
 */
import type { Graph, GraphNode, SoftmaxOp, UnaryOp } from '../ir.js';
import { softmaxRow, unaryFn } from '../dense/ops.js';
import { EvsimError } from '../../errors.js';
import { invertGather } from './delta-kernels.js';
import { NON_FINITE_ADVICE } from './gate.js';
import { MaxPoolKernel } from './max-pool.js';
import { BitsView, IndexList, StampSet, mergeIndexLists, reluBits } from './sparse.js';

export interface ValueKernel {
  /**
   * Recomputes `y` where the inputs changed. With `flush`, every output position is
   * reported changed (the downstream gates re-send everything).
   */
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void;
}

/**
 * Functions that can make a NaN out of a finite value (log −1, √−1, (−8)^0.5). A NaN is
 * never sent by a gate after frame 0, so it is caught here; an infinity (log 0, 1/0)
 * is caught by the gate that would send it.
 */
const MAY_MAKE_NAN: ReadonlySet<string> = new Set(['log', 'sqrt', 'pow']);

class UnaryKernel implements ValueKernel {
  private readonly f: (v: number, i: number) => number;
  private readonly relu: boolean;
  private readonly checked: boolean;
  private readonly xBits = new BitsView();
  private readonly yBits = new BitsView();
  constructor(op: UnaryOp, private readonly name: string) {
    this.f = unaryFn(op);
    this.relu = op.fn === 'relu';
    this.checked = MAY_MAKE_NAN.has(op.fn);
  }
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void {
    const x = xs[0]!;
    const ch = changed[0]!;
    yChanged.n = this.relu
      ? reluLoop(this.xBits.of(x), this.yBits.of(y), ch.idx, ch.n, yChanged.idx, flush ? 1 : 0)
      : unaryLoop(this.f, x, y, ch.idx, ch.n, yChanged.idx, flush);
    if (this.checked) {
      for (let k = 0; k < yChanged.n; k++) {
        const i = yChanged.idx[k]!;
        if (y[i] !== y[i] && x[i] === x[i]) throw new EvsimError('BAD_MODEL', `'${this.name}' gave NaN for ${x[i]} (element ${i}); ${NON_FINITE_ADVICE}`);
      }
    }
  }
}

/**
 * ReLU on the bits, without branches (reluBits). Outputs are never −0 or NaN, so
 * comparing bits is the float comparison `v !== y`. Returns the number of changed
 * outputs (all with `all`).
 */
function reluLoop(xb: Int32Array, yb: Int32Array, list: Int32Array, n: number, out: Int32Array, all: number): number {
  let m = 0;
  for (let k = 0; k < n; k++) {
    const i = list[k]!;
    const b = xb[i]!;
    const v = reluBits(b);
    const old = yb[i]!;
    yb[i] = v;
    out[m] = i;
    m += +(v !== old) | all;
  }
  return m;
}

function unaryLoop(f: (v: number, i: number) => number, x: Float32Array, y: Float32Array, list: Int32Array, n: number, out: Int32Array, flush: boolean): number {
  let m = 0;
  for (let k = 0; k < n; k++) {
    const i = list[k]!;
    const v = Math.fround(f(x[i]!, i));
    if (v !== y[i] || flush) {
      y[i] = v;
      out[m++] = i;
    }
  }
  return m;
}

class MulKernel implements ValueKernel {
  private readonly union: IndexList;
  constructor(size: number) {
    this.union = new IndexList(size);
  }
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void {
    const [a, b] = [xs[0]!, xs[1]!];
    mergeIndexLists(changed[0]!, changed[1]!, this.union);
    const u = this.union;
    yChanged.n = 0;
    for (let k = 0; k < u.n; k++) {
      const i = u.idx[k]!;
      const v = Math.fround(a[i]! * b[i]!);
      if (v !== y[i] || flush) {
        y[i] = v;
        yChanged.push(i);
      }
    }
  }
}

/**
 * A product with broadcasting: a changed element of a broadcast input (a channel's
 * scale) recomputes every output that reads it, found through the inverted map.
 */
class BroadcastMulKernel implements ValueKernel {
  private readonly touched: StampSet;
  private readonly inverse: ({ offsets: Int32Array; targets: Int32Array } | null)[];
  constructor(private readonly maps: (Int32Array | null)[], inSizes: number[], outSize: number) {
    this.touched = new StampSet(outSize);
    this.inverse = maps.map((m, k) => (m ? invertGather(m, inSizes[k]!) : null));
  }
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void {
    const [a, b] = [xs[0]!, xs[1]!];
    const [ma, mb] = this.maps;
    for (let k = 0; k < 2; k++) {
      const ch = changed[k]!;
      const inv = this.inverse[k];
      for (let j = 0; j < ch.n; j++) {
        const e = ch.idx[j]!;
        if (!inv) this.touched.add(e);
        else for (let t = inv.offsets[e]!; t < inv.offsets[e + 1]!; t++) this.touched.add(inv.targets[t]!);
      }
    }
    const out = this.touched.sorted();
    yChanged.n = 0;
    for (let k = 0; k < out.length; k++) {
      const i = out[k]!;
      const v = Math.fround(a[ma ? ma[i]! : i]! * b[mb ? mb[i]! : i]!);
      if (v !== y[i] || flush) {
        y[i] = v;
        yChanged.push(i);
      }
    }
    this.touched.clear();
  }
}

class SoftmaxKernel implements ValueKernel {
  private readonly rows: StampSet;
  private readonly outChanged: StampSet;
  private readonly before: Float32Array;
  constructor(private readonly op: SoftmaxOp) {
    this.rows = new StampSet(op.outer * op.inner);
    this.outChanged = new StampSet(op.outer * op.len * op.inner);
    this.before = new Float32Array(op.len);
  }
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void {
    const x = xs[0]!;
    const ch = changed[0]!;
    const { len, inner } = this.op;
    for (let k = 0; k < ch.n; k++) {
      const s = ch.idx[k]!;
      const o = (s / (len * inner)) | 0;
      const i = s % inner;
      this.rows.add(o * inner + i);
    }
    const rows = this.rows.sorted();
    for (let r = 0; r < rows.length; r++) {
      const o = (rows[r]! / inner) | 0;
      const i = rows[r]! - o * inner;
      const base = o * len * inner + i;
      for (let j = 0; j < len; j++) this.before[j] = y[base + j * inner]!;
      softmaxRow(this.op, x, y, o, i);
      for (let j = 0; j < len; j++) if (flush || y[base + j * inner] !== this.before[j]) this.outChanged.add(base + j * inner);
    }
    this.rows.clear();
    const out = this.outChanged.sorted();
    yChanged.n = 0;
    for (let k = 0; k < out.length; k++) yChanged.push(out[k]!);
    this.outChanged.clear();
  }
}

export function makeValueKernel(g: Graph, node: GraphNode): ValueKernel {
  const op = node.op;
  switch (op.kind) {
    case 'unary': return new UnaryKernel(op, node.name);
    case 'mul':
      return op.bcast
        ? new BroadcastMulKernel(op.bcast, node.inputs.map((t) => g.tensors[t]!.size), g.tensors[node.output]!.size)
        : new MulKernel(g.tensors[node.output]!.size);
    case 'maxpool': return new MaxPoolKernel(op, g.tensors[node.inputs[0]!]!.shape, g.tensors[node.output]!.shape);
    case 'softmax': return new SoftmaxKernel(op);
    default:
      throw new Error(`internal: ${op.kind} is not a value-domain op`);
  }
}
