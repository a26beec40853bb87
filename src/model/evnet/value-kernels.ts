/**
 * Value-domain (nonlinear) kernels that recompute only the outputs whose inputs
 * changed this frame and report which outputs really changed.
 */
import { reachTable, spatialOf, windowTable, type ReachTable } from '../geometry.js';
import type { Graph, GraphNode, MaxPoolOp, SoftmaxOp, UnaryOp } from '../ir.js';
import { softmaxRow, unaryFn } from '../dense/ops.js';
import { IndexList, StampSet, mergeIndexLists } from './sparse.js';

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
  constructor(op: UnaryOp) {
    this.f = unaryFn(op);
    this.relu = op.fn === 'relu';
  }
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void {
    const x = xs[0]!;
    const ch = changed[0]!;
    const list = ch.idx;
    const out = yChanged.idx;
    let m = 0;
    if (this.relu) {
      // The most common activation, without the call through unaryFn (same expression).
      for (let k = 0; k < ch.n; k++) {
        const i = list[k]!;
        const xi = x[i]!;
        const v = xi > 0 ? xi : 0;
        if (v !== y[i] || flush) {
          y[i] = v;
          out[m++] = i;
        }
      }
    } else {
      const f = this.f;
      for (let k = 0; k < ch.n; k++) {
        const i = list[k]!;
        const v = Math.fround(f(x[i]!));
        if (v !== y[i] || flush) {
          y[i] = v;
          out[m++] = i;
        }
      }
    }
    yChanged.n = m;
  }
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
    const x = xs[0]!;
    const ch = changed[0]!;
    const { ry, rx, gy, gx, h, w, oh, ow, windows } = this;
    const hw = (h * w) | 0;
    const ohw = (oh * ow) | 0;
    const list = ch.idx;
    const stamp = windows.stampArray;
    const gen = windows.generation;
    const members = windows.members;
    let nw = windows.n;
    for (let k = 0; k < ch.n; k++) {
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
          if (stamp[o] !== gen) {
            stamp[o] = gen;
            members[nw++] = o;
          }
        }
      }
    }
    windows.n = nw;
    const wins = windows.sorted();
    const out = yChanged.idx;
    let m = 0;
    for (let k = 0; k < wins.length; k++) {
      const o = wins[k]!;
      const c = (o / ohw) | 0;
      const p = o - c * ohw;
      const oy = (p / ow) | 0;
      const ox = p - oy * ow;
      const xb = c * hw;
      // maxWindow's scan: taps in ascending order, v > m (so NaN never wins and the first of ±0 stays).
      let v = -Infinity;
      const b0 = gx.offsets[ox]!;
      const b1 = gx.offsets[ox + 1]!;
      for (let a = gy.offsets[oy]!; a < gy.offsets[oy + 1]!; a++) {
        const r = xb + gy.out[a]! * w;
        for (let b = b0; b < b1; b++) {
          const xi = x[r + gx.out[b]!]!;
          if (xi > v) v = xi;
        }
      }
      if (v !== y[o] || flush) {
        y[o] = v;
        out[m++] = o;
      }
    }
    yChanged.n = m;
    windows.clear();
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
    case 'unary': return new UnaryKernel(op);
    case 'mul': return new MulKernel(g.tensors[node.output]!.size);
    case 'maxpool': return new MaxPoolKernel(op, g.tensors[node.inputs[0]!]!.shape, g.tensors[node.output]!.shape);
    case 'softmax': return new SoftmaxKernel(op);
    default:
      throw new Error(`internal: ${op.kind} is not a value-domain op`);
  }
}
