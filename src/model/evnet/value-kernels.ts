/**
 * Value-domain (nonlinear) kernels that recompute only the outputs whose inputs
 * changed this frame and report which outputs really changed.
 */
import { reachTable, spatialOf, type ReachTable } from '../geometry.js';
import type { Graph, GraphNode, MaxPoolOp, SoftmaxOp, UnaryOp } from '../ir.js';
import { maxWindow, softmaxRow, unaryFn } from '../dense/ops.js';
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
  constructor(op: UnaryOp) {
    this.f = unaryFn(op);
  }
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void {
    const x = xs[0]!;
    const ch = changed[0]!;
    const f = this.f;
    yChanged.n = 0;
    for (let k = 0; k < ch.n; k++) {
      const i = ch.idx[k]!;
      const v = Math.fround(f(x[i]!));
      if (v !== y[i] || flush) {
        y[i] = v;
        yChanged.push(i);
      }
    }
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
  private readonly windows: StampSet;
  private readonly h: number;
  private readonly w: number;
  private readonly oh: number;
  private readonly ow: number;
  constructor(private readonly op: MaxPoolOp, inShape: readonly number[], outShape: readonly number[]) {
    const { h, w } = spatialOf(inShape);
    const { c, h: oh, w: ow } = spatialOf(outShape);
    this.h = h;
    this.w = w;
    this.oh = oh;
    this.ow = ow;
    this.ry = reachTable(h, oh, op.kh, op.strideH, op.padT, op.dilH);
    this.rx = reachTable(w, ow, op.kw, op.strideW, op.padL, op.dilW);
    this.windows = new StampSet(c * oh * ow);
  }
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void {
    const x = xs[0]!;
    const ch = changed[0]!;
    const { ry, rx, h, w, oh, ow } = this;
    const hw = h * w;
    const ohw = oh * ow;
    for (let k = 0; k < ch.n; k++) {
      const s = ch.idx[k]!;
      const c = (s / hw) | 0;
      const rem = s - c * hw;
      const iy = (rem / w) | 0;
      const ix = rem - iy * w;
      for (let a = ry.offsets[iy]!; a < ry.offsets[iy + 1]!; a++) {
        for (let b = rx.offsets[ix]!; b < rx.offsets[ix + 1]!; b++) this.windows.add(c * ohw + ry.out[a]! * ow + rx.out[b]!);
      }
    }
    const wins = this.windows.sorted();
    yChanged.n = 0;
    for (let k = 0; k < wins.length; k++) {
      const o = wins[k]!;
      const c = (o / ohw) | 0;
      const p = o - c * ohw;
      const oy = (p / ow) | 0;
      const v = maxWindow(this.op, x, c * hw, h, w, oy, p - oy * ow);
      if (v !== y[o] || flush) {
        y[o] = v;
        yChanged.push(o);
      }
    }
    this.windows.clear();
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
