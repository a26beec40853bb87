/**
 * Incremental MaxPool (a value-domain kernel, DESIGN §3): only the windows holding a
 * changed input are recomputed, with maxWindow's semantics bit for bit.
 */
import { reachTable, spatialOf, windowTable, type ReachTable } from '../geometry.js';
import type { MaxPoolOp } from '../ir.js';
import { BitsView, StampSet, floatKey, type IndexList } from './sparse.js';
import type { ValueKernel } from './value-kernels.js';

const NEG_INF_BITS = 0xff800000 | 0;
const NEG_INF_KEY = floatKey(NEG_INF_BITS);

export class MaxPoolKernel implements ValueKernel {
  private readonly ry: ReachTable;
  private readonly rx: ReachTable;
  /** Per output row / column: the input rows / columns of its window, in tap order. */
  private readonly gy: ReachTable;
  private readonly gx: ReachTable;
  private readonly windows: StampSet;
  private readonly dirty: Uint8Array;
  /** Disjoint windows (each input in at most one): the window row / column of every input row / column, −1 for none. */
  private readonly disjoint: { rowWin: Int32Array; colWin: Int32Array } | null;
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
    this.dirty = new Uint8Array(c * oh * ow);
    const rowWin = disjointMap(this.ry);
    const colWin = disjointMap(this.rx);
    this.disjoint = rowWin && colWin ? { rowWin, colWin } : null;
  }
  run(xs: Float32Array[], changed: IndexList[], y: Float32Array, yChanged: IndexList, flush: boolean): void {
    const ch = changed[0]!;
    const { windows, dirty } = this;
    const hw = this.h * this.w;
    const ohw = this.oh * this.ow;
    let wins: Int32Array;
    if (ch.n * 8 >= dirty.length) {
      // Changes on the scale of the output: mark windows in a byte map (writes only, so
      // no load waits on the store before it) and list them by one ascending scan.
      const dj = this.disjoint;
      if (dj) markDirtyDisjoint(ch.idx, ch.n, dj.rowWin, dj.colWin, hw, this.w, ohw, this.ow, dirty);
      else markDirty(ch.idx, ch.n, this.ry, this.rx, hw, this.w, ohw, this.ow, dirty);
      wins = windows.members.subarray(0, collectDirty(dirty, windows.members));
    } else {
      windows.n = markWindows(ch.idx, ch.n, this.ry, this.rx, hw, this.w, ohw, this.ow, windows.stampArray, windows.generation, windows.members, windows.n);
      wins = windows.sorted();
    }
    yChanged.n = maxWindows(wins, wins.length, this.gy, this.gx, hw, this.w, ohw, this.ow, this.xBits.of(xs[0]!), this.yBits.of(y), yChanged.idx, flush ? 1 : 0);
    windows.clear();
  }
}

/** For a reach table where every input reaches at most one output: that output per input (−1 for none); else null. */
function disjointMap(r: ReachTable): Int32Array | null {
  const n = r.offsets.length - 1;
  const map = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const k = r.offsets[i + 1]! - r.offsets[i]!;
    if (k > 1) return null;
    if (k === 1) map[i] = r.out[r.offsets[i]!]!;
  }
  return map;
}

/**
 * markDirty for disjoint windows, flat: (channel, row) decoded once per input row (the
 * list is ascending), then one table lookup and one store per input.
 */
function markDirtyDisjoint(list: Int32Array, n: number, rowWin: Int32Array, colWin: Int32Array, hw: number, w: number, ohw: number, ow: number, dirty: Uint8Array): void {
  let rowStart = 0;
  let rowEnd = -1;
  let base = -1;
  for (let k = 0; k < n; k++) {
    const s = list[k]!;
    if (s >= rowEnd) {
      const c = (s / hw) | 0;
      const iy = ((s - c * hw) / w) | 0;
      rowStart = c * hw + iy * w;
      rowEnd = rowStart + w;
      const r = rowWin[iy]!;
      base = r < 0 ? -1 : c * ohw + r * ow;
    }
    const col = colWin[s - rowStart]!;
    if (base >= 0 && col >= 0) dirty[base + col] = 1;
  }
}

function markDirty(list: Int32Array, n: number, ry: ReachTable, rx: ReachTable, hw: number, w: number, ohw: number, ow: number, dirty: Uint8Array): void {
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
      for (let b = x0; b < x1; b++) dirty[row + rx.out[b]!] = 1;
    }
  }
}

/** Lists the marked windows ascending into `out` (one spare slot) and clears the marks; returns how many. */
function collectDirty(dirty: Uint8Array, out: Int32Array): number {
  let k = 0;
  for (let o = 0; o < dirty.length; o++) {
    out[k] = o;
    k += dirty[o]!;
    dirty[o] = 0;
  }
  return k;
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
        nw += +(stamp[o] !== gen);
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
  const yOff = gy.offsets;
  const yIn = gy.out;
  const xOff = gx.offsets;
  const xIn = gx.out;
  let m = 0;
  // The list is ascending: (channel, window row) is decoded once per row.
  let rowStart = 0;
  let rowEnd = -1;
  let base = 0;
  let a0 = 0;
  let a1 = 0;
  for (let k = 0; k < n; k++) {
    const o = wins[k]!;
    if (o >= rowEnd) {
      const c = (o / ohw) | 0;
      const oy = ((o - c * ohw) / ow) | 0;
      rowStart = c * ohw + oy * ow;
      rowEnd = rowStart + ow;
      base = c * hw;
      a0 = yOff[oy]!;
      a1 = yOff[oy + 1]!;
    }
    const ox = o - rowStart;
    let best = NEG_INF_BITS;
    let bestKey = NEG_INF_KEY;
    const b0 = xOff[ox]!;
    const b1 = xOff[ox + 1]!;
    for (let a = a0; a < a1; a++) {
      const r = base + yIn[a]! * w;
      for (let b = b0; b < b1; b++) {
        const bits = xb[r + xIn[b]!]!;
        if ((bits & 0x7fffffff) > 0x7f800000) continue; // NaN: rare, so a predictable branch
        const key = floatKey(bits);
        const take = 0 - +(key > bestKey);
        best ^= (best ^ bits) & take;
        bestKey ^= (bestKey ^ key) & take;
      }
    }
    // `v !== y[o]` on bits: different bits, unless both are zeros of either sign (y never holds NaN).
    const old = yb[o]!;
    const write = (+(best !== old) & +(((best | old) & 0x7fffffff) !== 0)) | all;
    yb[o] = old ^ ((old ^ best) & (0 - write));
    out[m] = o;
    m += write;
  }
  return m;
}
