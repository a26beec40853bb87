/**
 * Sparse Conv on deltas, output-stationary. Every nonzero input delta reaches a few
 * (kernel tap, output position) pairs; those pairs are listed per output position in
 * ascending source order (a counting sort keyed by position), then each touched
 * position sums its list for blocks of output channels held in registers, rounding to
 * float32 after every add. Each output element thus receives exactly the float32 adds
 * of a scatter in ascending source index (DESIGN §3), but is stored once instead of
 * once per contribution, and the weights one pair needs are contiguous.
 */
import { reachTable, spatialOf, type ReachTable } from '../geometry.js';
import type { ConvOp } from '../ir.js';
import { createConvSum, type ConvSumFn, type WasmMemory } from './conv-sums-wasm.js';
import type { DeltaKernel } from './delta-kernels.js';
import { StampSet, type DeltaList } from './sparse.js';

const PAGE_BYTES = 65536;
const align16 = (n: number): number => (n + 15) & ~15;

export interface ConvScatterOptions {
  /** 'wasm' (default where WebAssembly SIMD exists) or the plain JS loop; both give the same bits. */
  kernel?: 'wasm' | 'js';
}

export class ConvScatter implements DeltaKernel {
  macs = 0;
  adds = 0;
  private readonly ry: ReachTable;
  private readonly rx: ReachTable;
  /** Touched input keys g·H·W + position, and the nonzero deltas at each. */
  private readonly inTouched: StampSet;
  private readonly inCount: Int32Array;
  /** Touched output keys g·OH·OW + position, and the pair count per key. */
  private readonly touched: StampSet;
  private readonly count: Int32Array;
  /** Per output key: the byte offset of its next free pair record while the lists fill. */
  private readonly next: Int32Array;
  private readonly groupN: Int32Array;
  private readonly h: number;
  private readonly w: number;
  private readonly ow: number;
  private readonly ohw: number;
  private readonly coutG: number;
  private readonly cinG: number;
  private readonly kh: number;
  private readonly kw: number;
  /** Output rows this kernel computes (all when null): a chip actor's own rows. */
  private readonly rowMask: Uint8Array;

  // One buffer (a wasm memory, or a plain ArrayBuffer for the JS kernel) holding, at
  // fixed byte offsets: weights as [cin][kh][kw][coutG] f32, the pair-list start of
  // every touched key rank, the keys, the output list, then the growable pair records
  // (i32 weight byte offset, f32 delta).
  private readonly memory: WasmMemory | null;
  private readonly sumFn: ConvSumFn | null;
  private buffer: ArrayBuffer;
  private readonly firstAt: number;
  private readonly keysAt: number;
  private readonly outIdxAt: number;
  private readonly outValAt: number;
  private readonly pairsAt: number;
  private wt!: Float32Array;
  private first!: Int32Array;
  private keyList!: Int32Array;
  private outIdx!: Int32Array;
  private outVal!: Float32Array;
  private pairI!: Int32Array;
  private pairF!: Float32Array;

  constructor(op: ConvOp, inShape: readonly number[], outShape: readonly number[], rows: Uint8Array | null = null, opts: ConvScatterOptions = {}) {
    const { h, w } = spatialOf(inShape);
    const { h: oh, w: ow } = spatialOf(outShape);
    this.rowMask = rows ?? new Uint8Array(oh).fill(1);
    this.h = h | 0;
    this.w = w | 0;
    this.ow = ow | 0;
    this.ohw = (oh * ow) | 0;
    this.kh = op.kh | 0;
    this.kw = op.kw | 0;
    this.coutG = (op.cout / op.group) | 0;
    this.cinG = (op.cin / op.group) | 0;
    this.ry = reachTable(h, oh, op.kh, op.strideH, op.padT, op.dilH);
    this.rx = reachTable(w, ow, op.kw, op.strideW, op.padL, op.dilW);
    const inKeys = op.group * this.h * this.w;
    const keys = op.group * this.ohw;
    this.inTouched = new StampSet(inKeys);
    this.inCount = new Int32Array(inKeys);
    this.touched = new StampSet(keys);
    this.count = new Int32Array(keys);
    this.next = new Int32Array(keys);
    this.groupN = new Int32Array(op.group);

    this.firstAt = align16(4 * op.weight.length);
    this.keysAt = align16(this.firstAt + 4 * (keys + 1));
    this.outIdxAt = align16(this.keysAt + 4 * keys);
    this.outValAt = align16(this.outIdxAt + 4 * op.cout * this.ohw);
    this.pairsAt = align16(this.outValAt + 4 * op.cout * this.ohw);
    const pages = Math.ceil(this.pairsAt / PAGE_BYTES) + 1;
    const wasm = opts.kernel === 'js' ? null : createConvSum(pages);
    if (wasm) {
      this.memory = wasm.memory;
      this.sumFn = wasm.sum;
      this.buffer = wasm.memory.buffer;
    } else {
      this.memory = null;
      this.sumFn = null;
      this.buffer = new ArrayBuffer(pages * PAGE_BYTES);
    }
    this.makeViews();
    const { kh, kw } = op;
    const coutG = this.coutG;
    const cinG = this.cinG;
    for (let co = 0; co < op.cout; co++) {
      const g = Math.floor(co / coutG);
      for (let cl = 0; cl < cinG; cl++) {
        const ci = g * cinG + cl;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            this.wt[((ci * kh + ky) * kw + kx) * coutG + (co - g * coutG)] = op.weight[((co * cinG + cl) * kh + ky) * kw + kx]!;
          }
        }
      }
    }
  }

  private makeViews(): void {
    const b = this.buffer;
    this.wt = new Float32Array(b, 0, this.firstAt >> 2);
    this.first = new Int32Array(b, this.firstAt, (this.keysAt - this.firstAt) >> 2);
    this.keyList = new Int32Array(b, this.keysAt, (this.outIdxAt - this.keysAt) >> 2);
    this.outIdx = new Int32Array(b, this.outIdxAt, (this.outValAt - this.outIdxAt) >> 2);
    this.outVal = new Float32Array(b, this.outValAt, (this.pairsAt - this.outValAt) >> 2);
    this.pairI = new Int32Array(b, this.pairsAt, (b.byteLength - this.pairsAt) >> 2);
    this.pairF = new Float32Array(b, this.pairsAt, (b.byteLength - this.pairsAt) >> 2);
  }

  /** Room for `pairs` pair records (growing by at least half, so growth is rare). */
  private reserve(pairs: number): void {
    const need = this.pairsAt + 8 * pairs;
    const have = this.buffer.byteLength;
    if (need <= have) return;
    const pages = Math.ceil(Math.max(need, have + (have >> 1)) / PAGE_BYTES);
    if (this.memory) {
      this.memory.grow(pages - have / PAGE_BYTES);
      this.buffer = this.memory.buffer;
    } else {
      const b = new ArrayBuffer(pages * PAGE_BYTES);
      new Uint8Array(b, 0, this.firstAt).set(new Uint8Array(this.buffer, 0, this.firstAt));
      this.buffer = b;
    }
    this.makeViews();
  }

  run(ins: DeltaList[], out: DeltaList): void {
    const inp = ins[0]!;
    const coutG = this.coutG;
    const pairs = this.countPairs(inp);
    this.reserve(pairs);
    const sorted = this.touched.sorted();
    const n = sorted.length;
    // Pair lists laid out in key order; per group, how many positions it touched.
    const { count, next, first, keyList, groupN, ohw } = this;
    groupN.fill(0);
    let at = this.pairsAt;
    for (let j = 0; j < n; j++) {
      const k = sorted[j]!;
      keyList[j] = k;
      first[j] = at;
      next[k] = at;
      at += count[k]! << 3;
      groupN[(k / ohw) | 0]++;
    }
    first[n] = at;
    this.fillPairs(inp);
    this.touched.clear();
    this.macs = pairs * coutG;
    // Sums, group by group: group g's slot for channel cl of its k-th touched
    // position is (positions of earlier groups)·coutG + cl·n_g + k, i.e. the
    // ascending NCHW order of the output list.
    let zeros = false;
    let j0 = 0;
    let slot0 = 0;
    for (let g = 0; g < groupN.length; g++) {
      const ng = groupN[g]!;
      if (ng === 0) continue;
      const idxBase = (g * coutG - g) * ohw;
      if (this.sumFn) {
        if (this.sumFn(j0, j0 + ng, ng, slot0, coutG, ohw, idxBase, this.firstAt, this.keysAt, this.outIdxAt, this.outValAt) !== 0) zeros = true;
      } else if (sumPositionsJs(j0, j0 + ng, ng, slot0, coutG, ohw, idxBase, this.pairsAt, first, keyList, this.pairI, this.pairF, this.wt, this.outIdx, this.outVal)) {
        zeros = true;
      }
      j0 += ng;
      slot0 += ng * coutG;
    }
    const total = n * coutG;
    if (zeros) {
      out.n = compactZeros(this.outIdx, this.outVal, total, out.idx, out.val);
    } else {
      out.idx.set(this.outIdx.subarray(0, total));
      out.val.set(this.outVal.subarray(0, total));
      out.n = total;
    }
  }

  /**
   * Marks every touched (group, output position) key and counts its pairs: first the
   * nonzero deltas per input position (one step per delta), then each touched input
   * position adds its count to the outputs it reaches. Returns the pair total.
   */
  private countPairs(inp: DeltaList): number {
    const { ry, rx, rowMask, count, touched, inTouched, inCount, cinG, ohw } = this;
    const yOff = ry.offsets;
    const yOut = ry.out;
    const xOff = rx.offsets;
    const xOut = rx.out;
    const w = this.w;
    const ow = this.ow;
    const hw = (this.h * w) | 0;
    const idx = inp.idx;
    let stamp = inTouched.stampArray;
    let gen = inTouched.generation;
    const members = inTouched.members;
    let m = 0;
    for (let e = 0; e < inp.n; e++) {
      const s = idx[e]!;
      const ci = (s / hw) | 0;
      const k = ((ci / cinG) | 0) * hw + (s - ci * hw);
      if (stamp[k] !== gen) {
        stamp[k] = gen;
        members[m++] = k;
        inCount[k] = 1;
      } else {
        inCount[k]++;
      }
    }
    const inN = m;
    stamp = touched.stampArray;
    gen = touched.generation;
    const outMembers = touched.members;
    m = touched.n;
    let pairs = 0;
    for (let t = 0; t < inN; t++) {
      const k = members[t]!;
      const g = (k / hw) | 0;
      const rem = k - g * hw;
      const iy = (rem / w) | 0;
      const ix = rem - iy * w;
      const x0 = xOff[ix]!;
      const x1 = xOff[ix + 1]!;
      if (x0 === x1) continue;
      const c = inCount[k]!;
      const keyBase = g * ohw;
      const y1 = yOff[iy + 1]!;
      for (let a = yOff[iy]!; a < y1; a++) {
        const oy = yOut[a]!;
        if (rowMask[oy] === 0) continue;
        const row = keyBase + oy * ow;
        for (let b = x0; b < x1; b++) {
          const ok = row + xOut[b]!;
          if (stamp[ok] !== gen) {
            stamp[ok] = gen;
            outMembers[m++] = ok;
            count[ok] = c;
          } else {
            count[ok] += c;
          }
        }
        pairs += c * (x1 - x0);
      }
    }
    touched.n = m;
    inTouched.clear();
    return pairs;
  }

  /** Appends every pair to its key's list, sources in ascending order. */
  private fillPairs(inp: DeltaList): void {
    const { ry, rx, rowMask, next, cinG, ohw, coutG, kh, kw, pairI, pairF } = this;
    const yOff = ry.offsets;
    const yOut = ry.out;
    const yTap = ry.tap;
    const xOff = rx.offsets;
    const xOut = rx.out;
    const xTap = rx.tap;
    const w = this.w;
    const ow = this.ow;
    const hw = (this.h * w) | 0;
    const base = this.pairsAt;
    const wStride = coutG << 2;
    const idx = inp.idx;
    const val = inp.val;
    for (let e = 0; e < inp.n; e++) {
      const s = idx[e]!;
      const ci = (s / hw) | 0;
      const rem = s - ci * hw;
      const iy = (rem / w) | 0;
      const ix = rem - iy * w;
      const x0 = xOff[ix]!;
      const x1 = xOff[ix + 1]!;
      if (x0 === x1) continue;
      const v = val[e]!;
      const keyBase = ((ci / cinG) | 0) * ohw;
      const y1 = yOff[iy + 1]!;
      for (let a = yOff[iy]!; a < y1; a++) {
        const oy = yOut[a]!;
        if (rowMask[oy] === 0) continue;
        const row = keyBase + oy * ow;
        const wRow = (ci * kh + yTap[a]!) * kw;
        for (let b = x0; b < x1; b++) {
          const k = row + xOut[b]!;
          const q = (next[k]! - base) >> 2;
          next[k] += 8;
          pairI[q] = (wRow + xTap[b]!) * wStride;
          pairF[q + 1] = v;
        }
      }
    }
  }
}

/**
 * The JS twin of the wasm `sum` (conv-sums-wasm.ts), same arguments and layout: for
 * ranks [j0, j1) of one group, sums each key's pair list per output channel and
 * writes index and value to the key's slots. Returns true when a sum was exactly 0.
 */
function sumPositionsJs(
  j0: number, j1: number, np: number, slot0: number, coutG: number, ohw: number, idxBase: number, pairsAt: number,
  first: Int32Array, keys: Int32Array, pairI: Int32Array, pairF: Float32Array, wt: Float32Array, outIdx: Int32Array, outVal: Float32Array,
): boolean {
  let zeros = false;
  const c8 = coutG & ~7;
  for (let j = j0; j < j1; j++) {
    const q0 = (first[j]! - pairsAt) >> 2;
    const q1 = (first[j + 1]! - pairsAt) >> 2;
    let slot = slot0 + (j - j0);
    let oi = idxBase + keys[j]!;
    let cb = 0;
    for (; cb < c8; cb += 8) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
      for (let q = q0; q < q1; q += 2) {
        const wi = (pairI[q]! >> 2) + cb;
        const v = pairF[q + 1]!;
        a0 = Math.fround(a0 + wt[wi]! * v);
        a1 = Math.fround(a1 + wt[wi + 1]! * v);
        a2 = Math.fround(a2 + wt[wi + 2]! * v);
        a3 = Math.fround(a3 + wt[wi + 3]! * v);
        a4 = Math.fround(a4 + wt[wi + 4]! * v);
        a5 = Math.fround(a5 + wt[wi + 5]! * v);
        a6 = Math.fround(a6 + wt[wi + 6]! * v);
        a7 = Math.fround(a7 + wt[wi + 7]! * v);
      }
      if (a0 === 0 || a1 === 0 || a2 === 0 || a3 === 0 || a4 === 0 || a5 === 0 || a6 === 0 || a7 === 0) zeros = true;
      outIdx[slot] = oi; outVal[slot] = a0; slot += np; oi += ohw;
      outIdx[slot] = oi; outVal[slot] = a1; slot += np; oi += ohw;
      outIdx[slot] = oi; outVal[slot] = a2; slot += np; oi += ohw;
      outIdx[slot] = oi; outVal[slot] = a3; slot += np; oi += ohw;
      outIdx[slot] = oi; outVal[slot] = a4; slot += np; oi += ohw;
      outIdx[slot] = oi; outVal[slot] = a5; slot += np; oi += ohw;
      outIdx[slot] = oi; outVal[slot] = a6; slot += np; oi += ohw;
      outIdx[slot] = oi; outVal[slot] = a7; slot += np; oi += ohw;
    }
    for (; cb < coutG; cb++) {
      let a0 = 0;
      for (let q = q0; q < q1; q += 2) a0 = Math.fround(a0 + wt[(pairI[q]! >> 2) + cb]! * pairF[q + 1]!);
      if (a0 === 0) zeros = true;
      outIdx[slot] = oi;
      outVal[slot] = a0;
      slot += np;
      oi += ohw;
    }
  }
  return zeros;
}

/** Copies the first n entries without exact zeros (contributions that cancelled); returns the count kept. */
function compactZeros(idx: Int32Array, val: Float32Array, n: number, outIdx: Int32Array, outVal: Float32Array): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = val[i]!;
    if (v !== 0) {
      outIdx[m] = idx[i]!;
      outVal[m++] = v;
    }
  }
  return m;
}
