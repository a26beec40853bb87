/**
 * Sparse Conv on deltas, output-stationary. Every nonzero input delta reaches a few
 * (kernel tap, output position) pairs; those pairs are listed per output position in
 * ascending source order (a counting sort keyed by position), then each touched
 * position sums its list for blocks of output channels held in registers, rounding to
 * float32 after every add. Each output element thus receives exactly the float32 adds
 * of a scatter in ascending source index (DESIGN §3), but is stored once instead of
 * once per contribution, and the weights one pair needs are contiguous.
 */
import { EvsimError } from '../../errors.js';
import { convReach, spatialOf, type ReachTable } from '../geometry.js';
import type { ConvOp } from '../ir.js';
import { createConvWasm, type ConvFillFn, type ConvSumFn } from './conv-wasm.js';
import type { WasmMemory } from './wasm-asm.js';
import type { DeltaKernel } from './delta-kernels.js';
import { compactZeros, copyList, countInputs, countOutputs, fillPairs, layoutPairs, sumCounts, sumPositionsJs } from './conv-loops.js';
import { StampSet, type DeltaList } from './sparse.js';

const PAGE_BYTES = 65536;
/** Byte offsets are i32 (in JS views and wasm alike), so the buffer stays below 2 GiB. */
const MAX_BYTES = 0x7fff0000;
const align16 = (n: number): number => (n + 15) & ~15;

/** The arrays in a ConvScatter's buffer, in layout order; the pair records come last (they grow). */
const REGIONS = ['wt', 'first', 'keys', 'next', 'outIdx', 'outVal', 'inIdx', 'inVal', 'yOff', 'yOut', 'yTap', 'xOff', 'xOut', 'xTap', 'rowMask', 'pairs'] as const;
type Region = (typeof REGIONS)[number];

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

  // One buffer (a wasm memory, or a plain ArrayBuffer for the JS loops) holds every
  // array the loops share, at fixed byte offsets (`at`), then the growable pair
  // records (i32 weight byte offset, f32 delta) from `at.pairs` on.
  private readonly memory: WasmMemory | null;
  private readonly wasm: { sum: ConvSumFn; fill: ConvFillFn } | null;
  private buffer: ArrayBuffer;
  private readonly at: Record<Region, number>;
  private readonly regionBytes: Record<Region, number>;
  /** Weights as [cin][kh][kw][coutG]. */
  private wt!: Float32Array;
  /** Per touched key rank: the byte offset of its pair list (n + 1 entries), and the key. */
  private first!: Int32Array;
  private keyList!: Int32Array;
  /** Per output key: the byte offset of its next free pair record while the lists fill. */
  private next!: Int32Array;
  private outIdx!: Int32Array;
  private outVal!: Float32Array;
  private inIdx!: Int32Array;
  private inVal!: Float32Array;
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
    ({ ry: this.ry, rx: this.rx } = convReach(op, inShape, outShape));
    const inKeys = op.group * this.h * this.w;
    const keys = op.group * this.ohw;
    this.inTouched = new StampSet(inKeys);
    this.inCount = new Int32Array(inKeys);
    this.touched = new StampSet(keys);
    this.count = new Int32Array(keys);
    this.groupN = new Int32Array(op.group);

    const { ry, rx } = this;
    this.regionBytes = {
      wt: 4 * op.weight.length, first: 4 * (keys + 1), keys: 4 * keys, next: 4 * keys,
      outIdx: 4 * op.cout * this.ohw, outVal: 4 * op.cout * this.ohw, inIdx: 4 * op.cin * h * w, inVal: 4 * op.cin * h * w,
      yOff: 4 * ry.offsets.length, yOut: 4 * ry.out.length, yTap: 4 * ry.tap.length,
      xOff: 4 * rx.offsets.length, xOut: 4 * rx.out.length, xTap: 4 * rx.tap.length, rowMask: oh, pairs: 0,
    };
    let end = 0;
    const at = {} as Record<Region, number>;
    for (const r of REGIONS) {
      at[r] = end;
      end = align16(end + this.regionBytes[r]);
    }
    this.at = at;
    if (end > MAX_BYTES) throw new EvsimError('RUN_FAILED', `sparse conv: a ${op.cin}→${op.cout} conv on ${h}×${w} needs more than the 2 GiB its buffers can address`);
    const pages = Math.ceil(end / PAGE_BYTES) + 1;
    const wasm = opts.kernel === 'js' ? null : createConvWasm(pages);
    this.memory = wasm?.memory ?? null;
    this.wasm = wasm ? { sum: wasm.sum, fill: wasm.fill } : null;
    this.buffer = wasm?.memory.buffer ?? new ArrayBuffer(pages * PAGE_BYTES);
    this.makeViews();
    const b = this.buffer;
    new Int32Array(b, at.yOff, ry.offsets.length).set(ry.offsets);
    new Int32Array(b, at.yOut, ry.out.length).set(ry.out);
    new Int32Array(b, at.yTap, ry.tap.length).set(ry.tap);
    new Int32Array(b, at.xOff, rx.offsets.length).set(rx.offsets);
    new Int32Array(b, at.xOut, rx.out.length).set(rx.out);
    new Int32Array(b, at.xTap, rx.tap.length).set(rx.tap);
    new Uint8Array(b, at.rowMask, oh).set(this.rowMask);
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
    const { at, regionBytes: bytes } = this;
    this.wt = new Float32Array(b, at.wt, bytes.wt >> 2);
    this.first = new Int32Array(b, at.first, bytes.first >> 2);
    this.keyList = new Int32Array(b, at.keys, bytes.keys >> 2);
    this.next = new Int32Array(b, at.next, bytes.next >> 2);
    this.outIdx = new Int32Array(b, at.outIdx, bytes.outIdx >> 2);
    this.outVal = new Float32Array(b, at.outVal, bytes.outVal >> 2);
    this.inIdx = new Int32Array(b, at.inIdx, bytes.inIdx >> 2);
    this.inVal = new Float32Array(b, at.inVal, bytes.inVal >> 2);
    this.pairI = new Int32Array(b, at.pairs, (b.byteLength - at.pairs) >> 2);
    this.pairF = new Float32Array(b, at.pairs, (b.byteLength - at.pairs) >> 2);
  }

  /** Room for `pairs` pair records (growing by at least half, so growth is rare). */
  private reserve(pairs: number): void {
    const pairsAt = this.at.pairs;
    const need = pairsAt + 8 * pairs;
    const have = this.buffer.byteLength;
    if (need <= have) return;
    if (need > MAX_BYTES) {
      throw new EvsimError('RUN_FAILED', `sparse conv: one frame reaches ${pairs} (input, tap) pairs, beyond the 2 GiB its pair lists can address; use smaller frames or fewer channels`);
    }
    const pages = Math.ceil(Math.min(Math.max(need, have + (have >> 1)), MAX_BYTES) / PAGE_BYTES);
    if (this.memory) {
      this.memory.grow(pages - have / PAGE_BYTES);
      this.buffer = this.memory.buffer;
    } else {
      const b = new ArrayBuffer(pages * PAGE_BYTES);
      new Uint8Array(b, 0, pairsAt).set(new Uint8Array(this.buffer, 0, pairsAt));
      this.buffer = b;
    }
    this.makeViews();
  }

  run(ins: DeltaList[], out: DeltaList): void {
    const inp = ins[0]!;
    const coutG = this.coutG;
    const ohw = this.ohw;
    const hw = this.h * this.w;
    // Touched (group, output position) keys and their pair counts: first the nonzero
    // deltas per input position (one step per delta), then each touched input
    // position adds its count to the outputs it reaches (one step per position·tap).
    const { inTouched, touched } = this;
    const inN = countInputs(inp.idx, inp.n, hw, this.cinG, inTouched.stampArray, inTouched.generation, inTouched.members, this.inCount);
    touched.n = countOutputs(
      inTouched.members, inN, this.inCount, hw, this.w, ohw, this.ow, this.ry, this.rx, this.rowMask,
      touched.stampArray, touched.generation, touched.members, touched.n, this.count,
    );
    inTouched.clear();
    const sorted = touched.sorted();
    const n = sorted.length;
    const pairs = sumCounts(sorted, n, this.count);
    this.reserve(pairs);
    // Pair lists laid out in key order; per group, how many positions it touched.
    const groupN = this.groupN;
    groupN.fill(0);
    layoutPairs(sorted, n, this.count, this.next, this.first, this.keyList, groupN, ohw, this.at.pairs);
    const at = this.at;
    if (this.wasm) {
      this.inIdx.set(inp.idx.subarray(0, inp.n));
      this.inVal.set(inp.val.subarray(0, inp.n));
      this.wasm.fill(
        inp.n, at.inIdx, at.inVal, hw, this.w, this.ow, ohw, this.cinG, coutG << 2, this.kh, this.kw,
        at.yOff, at.yOut, at.yTap, at.xOff, at.xOut, at.xTap, at.rowMask, at.next,
      );
    } else {
      fillPairs(
        inp.idx, inp.val, inp.n, hw, this.w, this.ow, ohw, this.cinG, coutG, this.kh, this.kw,
        this.ry, this.rx, this.rowMask, this.next, at.pairs, this.pairI, this.pairF,
      );
    }
    touched.clear();
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
      if (this.wasm) {
        if (this.wasm.sum(j0, j0 + ng, ng, slot0, coutG, ohw, idxBase, at.first, at.keys, at.outIdx, at.outVal) !== 0) zeros = true;
      } else if (sumPositionsJs(j0, j0 + ng, ng, slot0, coutG, ohw, idxBase, at.pairs, this.first, this.keyList, this.pairI, this.pairF, this.wt, this.outIdx, this.outVal)) {
        zeros = true;
      }
      j0 += ng;
      slot0 += ng * coutG;
    }
    const total = n * coutG;
    out.n = zeros
      ? compactZeros(this.outIdx, this.outVal, total, out.idx, out.val)
      : copyList(this.outIdx, this.outVal, total, out.idx, out.val);
  }
}
