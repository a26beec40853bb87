/**
 * Value-domain (nonlinear) kernels that recompute only the outputs whose inputs
 * changed this frame and report which outputs really changed.
 */
import { reachTable, spatialOf, windowTable, type ReachTable } from '../geometry.js';
import type { Graph, GraphNode, MaxPoolOp, SoftmaxOp, UnaryOp } from '../ir.js';
import { softmaxRow, unaryFn } from '../dense/ops.js';
import { BitsView, IndexList, StampSet, floatKey, mergeIndexLists } from './sparse.js';

const NEG_INF_BITS = 0xff800000 | 0;
const NEG_INF_KEY = floatKey(NEG_INF_BITS);

export interface ValueKernel {
  /**
   * Recomputes `y` where the inputs changed. With `flush`, every output position is
   * reported changed (the downstream gates re-send everything).
   */
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void;
}

class UnaryKernel implements ValueKernel {
  private readonly f: (v: number) => number;
  private readonly relu: boolean;
  private readonly xBits = new BitsView();
  private readonly yBits = new BitsView();
  constructor(op: UnaryOp) {
    this.f = unaryFn(op);
    this.relu = op.fn === 'relu';
  }
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void {
    const x = xs[0]!;
    const ch = changed[0]!;
    yChanged.n = this.relu
      ? reluLoop(this.xBits.of(x), this.yBits.of(y), ch.idx, ch.n, yChanged.idx, flush ? 1 : 0)
      : unaryLoop(this.f, x, y, ch.idx, ch.n, yChanged.idx, flush);
  }
}

/**
 * ReLU on the bits, without branches: x > 0 ⟺ 0 < bits ≤ bits(+Inf), so NaN and −0
 * give +0 as `x > 0 ? x : 0` does. Outputs are never −0 or NaN, so comparing bits is
 * the float comparison `v !== y`. Returns the number of changed outputs (all with `all`).
 */
function reluLoop(xb: Int32Array, yb: Int32Array, list: Int32Array, n: number, out: Int32Array, all: number): number {
  let m = 0;
  for (let k = 0; k < n; k++) {
    const i = list[k]!;
    const b = xb[i]!;
    const v = b & (0 - ((b > 0 ? 1 : 0) & (b <= 0x7f800000 ? 1 : 0)));
    const old = yb[i]!;
    yb[i] = v;
    out[m] = i;
    m += (v !== old ? 1 : 0) | all;
  }
  return m;
}

function unaryLoop(f: (v: number) => number, x: Float32Array, y: Float32Array, list: Int32Array, n: number, out: Int32Array, flush: boolean): number {
  let m = 0;
  for (let k = 0; k < n; k++) {
    const i = list[k]!;
    const v = Math.fround(f(x[i]!));
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

class MaxPoolKernel implements ValueKernel {
  private readonly ry: ReachTable;
  private readonly rx: ReachTable;
  /** Per output row / column: the input rows / columns of its window, in tap order. */
  private readonly gy: ReachTable;
  private readonly gx: ReachTable;
  private readonly windows: StampSet;
  private readonly xBits = new BitsView();
  private readonly yBits = new BitsView();
  private readonly h: number;
  private readonly w: number;
  private readonly oh: number;
  private readonly ow: number;
  constructor(op: MaxPoolOp, inShape: readonly number[], outShape: readonly number[]) {
    const { h, w } = spatialOf(inShape);
    const { c, h: oh, w: ow } = spatialOf(outShape);
    this.h = h | 0;
    this.w = w | 0;
    this.oh = oh | 0;
    this.ow = ow | 0;
    this.ry = reachTable(h, oh, op.kh, op.strideH, op.padT, op.dilH);
    this.rx = reachTable(w, ow, op.kw, op.strideW, op.padL, op.dilW);
    this.gy = windowTable(h, oh, op.kh, op.strideH, op.padT, op.dilH);
    this.gx = windowTable(w, ow, op.kw, op.strideW, op.padL, op.dilW);
    this.windows = new StampSet(c * oh * ow);
  }
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void {
    const ch = changed[0]!;
    const { windows } = this;
    windows.n = markWindows(ch.idx, ch.n, this.ry, this.rx, this.h * this.w, this.w, this.oh * this.ow, this.ow, windows.stampArray, windows.generation, windows.members, windows.n);
    const wins = windows.sorted();
    yChanged.n = maxWindows(wins, wins.length, this.gy, this.gx, this.h * this.w, this.w, this.oh * this.ow, this.ow, this.xBits.of(xs[0]!), this.yBits.of(y), yChanged.idx, flush ? 1 : 0);
    windows.clear();
  }
}

/** Adds the windows every changed input lies in to the stamp set (without a branch per window); returns its new size. */
function markWindows(
  list: Int32Array, n: number, ry: ReachTable, rx: ReachTable, hw: number, w: number, ohw: number, ow: number,
  stamp: Uint32Array, gen: number, members: Int32Array, size: number,
): number {
  let nw = size;
  for (let k = 0; k < n; k++) {
    const s = list[k]!;
    const c = (s / hw) | 0;
    const rem = s - c * hw;
    const iy = (rem / w) | 0;
    const ix = rem - iy * w;
    const x0 = rx.offsets[ix]!;
    const x1 = rx.offsets[ix + 1]!;
    for (let a = ry.offsets[iy]!; a < ry.offsets[iy + 1]!; a++) {
      const row = c * ohw + ry.out[a]! * ow;
      for (let b = x0; b < x1; b++) {
        const o = row + rx.out[b]!;
        members[nw] = o;
        nw += stamp[o] !== gen ? 1 : 0;
        stamp[o] = gen;
      }
    }
  }
  return nw;
}

/**
 * Recomputes the listed windows; returns how many outputs changed. The scan is
 * maxWindow's `if (x > m) m = x` from m = −Inf with taps ascending, done on order-
 * preserving keys and without branches: NaN never wins and the first of ±0 stays.
 */
function maxWindows(
  wins: Int32Array, n: number, gy: ReachTable, gx: ReachTable, hw: number, w: number, ohw: number, ow: number,
  xb: Int32Array, yb: Int32Array, out: Int32Array, all: number,
): number {
  let m = 0;
  for (let k = 0; k < n; k++) {
    const o = wins[k]!;
    const c = (o / ohw) | 0;
    const p = o - c * ohw;
    const oy = (p / ow) | 0;
    const ox = p - oy * ow;
    const base = c * hw;
    let best = NEG_INF_BITS;
    let bestKey = NEG_INF_KEY;
    const b0 = gx.offsets[ox]!;
    const b1 = gx.offsets[ox + 1]!;
    for (let a = gy.offsets[oy]!; a < gy.offsets[oy + 1]!; a++) {
      const r = base + gy.out[a]! * w;
      for (let b = b0; b < b1; b++) {
        const bits = xb[r + gx.out[b]!]!;
        if ((bits & 0x7fffffff) > 0x7f800000) continue; // NaN: rare, so a predictable branch
        const key = floatKey(bits);
        const take = 0 - (key > bestKey ? 1 : 0);
        best ^= (best ^ bits) & take;
        bestKey ^= (bestKey ^ key) & take;
      }
    }
    // `v !== y[o]` on bits: different bits, unless both are zeros of either sign (y never holds NaN).
    const old = yb[o]!;
    const write = ((best !== old ? 1 : 0) & (((best | old) & 0x7fffffff) !== 0 ? 1 : 0)) | all;
    yb[o] = old ^ ((old ^ best) & (0 - write));
    out[m] = o;
    m += write;
  }
  return m;
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
    case 'unary': return new UnaryKernel(op);
    case 'mul': return new MulKernel(g.tensors[node.output]!.size);
    case 'maxpool': return new MaxPoolKernel(op, g.tensors[node.inputs[0]!]!.shape, g.tensors[node.output]!.shape);
    case 'softmax': return new SoftmaxKernel(op);
    default:
      throw new Error(`internal: ${op.kind} is not a value-domain op`);
  }
}
