/**
 * The two hot loops of the sparse Conv (conv-scatter.ts) as WebAssembly, assembled
 * with wasm-asm.ts. Both work on one memory whose layout the caller chooses and passes
 * as byte offsets.
 *
 * `sum` — per touched output position, the chain of float32 adds `a = f32(a + w·v)` over
 * its pair list, for blocks of output channels. Why wasm: in JS each MAC of the chain is
 * a scalar load, convert, multiply, add, round and widen plus bounds and map checks; in
 * wasm two channels share one f64x2 lane pair: the weight widened to f64, multiplied by
 * v (exact, 24 × 24 bits fit in 53), added in f64 and rounded to f32
 * (`f32x4.demote_f64x2_zero`) — the very rounding sequence of `Math.fround(a + w * v)`,
 * so the results are bit-identical to the JS twin and to the scatter of DESIGN §3.
 *
 * `fill` — appends every (source, tap) pair to the pair list of the output position it
 * reaches, sources in ascending order: an i32 weight byte offset and the delta's bits.
 */
import { F64, Fn, I32, Op, Simd, V128, assemble, compile, instantiate, type WasmMemory, type WasmModule } from './wasm-asm.js';

/** `sum(j0, j1, np, slot0, coutG, ohw, idxBase, first, keys, outIdx, outVal) → zeros`. */
export type ConvSumFn = (
  j0: number, j1: number, np: number, slot0: number, coutG: number, ohw: number, idxBase: number,
  firstAt: number, keysAt: number, outIdxAt: number, outValAt: number,
) => number;

/** `fill(n, idx, val, hw, w, ow, ohw, cinG, wStride, kh, kw, yOff, yOut, yTap, xOff, xOut, xTap, rowMask, next)`. */
export type ConvFillFn = (
  n: number, idxAt: number, valAt: number, hw: number, w: number, ow: number, ohw: number, cinG: number, wStrideBytes: number,
  kh: number, kw: number, yOffAt: number, yOutAt: number, yTapAt: number, xOffAt: number, xOutAt: number, xTapAt: number,
  rowMaskAt: number, nextAt: number,
) => void;

/**
 * Ranks [j0, j1) of one group: `first[j]..first[j+1]` are the byte offsets of key j's
 * pair records; channel cl of rank j goes to slot (slot0 + j − j0 + cl·np), index
 * idxBase + keys[j] + cl·ohw. Returns 1 when a sum came out exactly 0.
 */
function sumFn(): Fn {
  const f = new Fn('sum', 11, I32);
  const [j0, j1, np, slot0, coutG, ohw, idxBase, first, keys, outIdx, outVal] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [j, q, q0, q1, slot, idx, cb, w, zf, npBytes, cEnd] = Array.from({ length: 11 }, () => f.local(I32));
  const s = f.local(F64); // the odd last channel's sum
  const vv = f.local(V128); // the delta in both f64 lanes
  const acc = Array.from({ length: 8 }, () => f.local(V128)); // up to sixteen channel sums
  const addr = (base: number, i: number): Fn => f.get(base).get(i).i32(2).op(Op.i32Shl, Op.i32Add);

  f.get(np).i32(2).op(Op.i32Shl).set(npBytes);
  f.get(coutG).i32(2).op(Op.i32Shl).set(cEnd);
  f.get(j0).set(j);
  f.loop(() => f.get(j).get(j1).op(Op.i32GeS), () => {
    addr(first, j).mem(Op.i32Load, 2, 0).set(q0);
    addr(first, j).mem(Op.i32Load, 2, 4).set(q1);
    f.get(slot0).get(j).op(Op.i32Add).get(j0).op(Op.i32Sub).i32(2).op(Op.i32Shl).set(slot);
    f.get(idxBase);
    addr(keys, j).mem(Op.i32Load, 2, 0).op(Op.i32Add).set(idx);
    f.i32(0).set(cb);
    /** Channels in blocks of 2·nAcc while a whole block fits (cb is a byte offset into the weight row). */
    const blocks = (nAcc: number): void => {
      const bytes = 8 * nAcc;
      f.loop(() => f.get(cb).i32(bytes).op(Op.i32Add).get(cEnd).op(Op.i32GtS), () => {
        for (let a = 0; a < nAcc; a++) f.v128Zero().set(acc[a]!);
        f.get(q0).set(q);
        f.loop(() => f.get(q).get(q1).op(Op.i32GeS), () => {
          f.get(q).mem(Op.i32Load, 2, 0).get(cb).op(Op.i32Add).set(w);
          f.get(q).mem(Op.f32Load, 2, 4).op(Op.f64PromoteF32).simd(Simd.f64x2Splat).set(vv);
          for (let a = 0; a < nAcc; a++) {
            // acc = f32(acc + f64(w) · v), two channels per lane pair.
            f.get(acc[a]!).get(w).simd(Simd.load64Zero, 3, 8 * a).simd(Simd.f64x2PromoteLowF32x4).get(vv);
            f.simd(Simd.f64x2Mul).simd(Simd.f64x2Add).simd(Simd.f32x4DemoteF64x2Zero).simd(Simd.f64x2PromoteLowF32x4).set(acc[a]!);
          }
          f.addTo(q, 8);
        });
        for (let a = 0; a < nAcc; a++) {
          f.get(zf).get(acc[a]!).v128Zero().simd(Simd.f64x2Eq).simd(Simd.anyTrue).op(Op.i32Or).set(zf);
          for (let lane = 0; lane < 2; lane++) {
            f.get(outVal).get(slot).op(Op.i32Add).get(acc[a]!).simd(Simd.f32x4DemoteF64x2Zero).simd(Simd.f32x4ExtractLane, lane).mem(Op.f32Store, 2);
            f.get(outIdx).get(slot).op(Op.i32Add).get(idx).mem(Op.i32Store, 2);
            f.get(slot).get(npBytes).op(Op.i32Add).set(slot);
            f.get(idx).get(ohw).op(Op.i32Add).set(idx);
          }
        }
        f.addTo(cb, bytes);
      });
    };
    blocks(8);
    blocks(4);
    blocks(1);
    // An odd last channel, in scalar f64 with the same rounding.
    f.unless(() => f.get(cb).get(cEnd).op(Op.i32GeS), () => {
      f.f64Zero().set(s);
      f.get(q0).set(q);
      f.loop(() => f.get(q).get(q1).op(Op.i32GeS), () => {
        f.get(s);
        f.get(q).mem(Op.i32Load, 2, 0).get(cb).op(Op.i32Add).mem(Op.f32Load, 2, 0).op(Op.f64PromoteF32);
        f.get(q).mem(Op.f32Load, 2, 4).op(Op.f64PromoteF32, Op.f64Mul, Op.f64Add, Op.f32DemoteF64, Op.f64PromoteF32).set(s);
        f.addTo(q, 8);
      });
      f.get(zf).get(s).f64Zero().op(Op.f64Eq, Op.i32Or).set(zf);
      f.get(outVal).get(slot).op(Op.i32Add).get(s).op(Op.f32DemoteF64).mem(Op.f32Store, 2);
      f.get(outIdx).get(slot).op(Op.i32Add).get(idx).mem(Op.i32Store, 2);
    });
    f.addTo(j, 1);
  });
  f.get(zf);
  return f;
}

/** The pair-list fill; `next` holds, per output key, the byte offset of its next free record. */
function fillFn(): Fn {
  const f = new Fn('fill', 19, null);
  const [n, idxAt, valAt, hw, w, ow, ohw, cinG, wStride, kh, kw, yOff, yOut, yTap, xOff, xOut, xTap, rowMask, next] =
    Array.from({ length: 19 }, (_, i) => i);
  const [e, s, ci, rem, iy, ix, x0, x1, vb, keyBase, ciKh, a, a1, oy, row, wRow, b, kAt, q, rowStart, rowEnd, a0] =
    Array.from({ length: 22 }, () => f.local(I32));
  const word = (base: number, i: number, offset = 0): Fn => f.get(base).get(i).i32(2).op(Op.i32Shl, Op.i32Add).mem(Op.i32Load, 2, offset);
  f.i32(0).set(e);
  f.i32(-1).set(rowEnd);
  f.loop(() => f.get(e).get(n).op(Op.i32GeS), () => {
    word(idxAt, e).set(s);
    // The list is ascending: channel and row are decoded (three divisions) once per input row.
    f.unless(() => f.get(s).get(rowEnd).op(Op.i32LtS), () => {
      f.get(s).get(hw).op(Op.i32DivU).set(ci);
      f.get(s).get(ci).get(hw).op(Op.i32Mul, Op.i32Sub).set(rem);
      f.get(rem).get(w).op(Op.i32DivU).set(iy);
      f.get(s).get(rem).op(Op.i32Sub).get(iy).get(w).op(Op.i32Mul, Op.i32Add).set(rowStart);
      f.get(rowStart).get(w).op(Op.i32Add).set(rowEnd);
      f.get(ci).get(cinG).op(Op.i32DivU).get(ohw).op(Op.i32Mul).set(keyBase);
      f.get(ci).get(kh).op(Op.i32Mul).set(ciKh);
      word(yOff, iy).set(a0);
      word(yOff, iy, 4).set(a1);
    });
    f.get(s).get(rowStart).op(Op.i32Sub).set(ix);
    word(xOff, ix).set(x0);
    word(xOff, ix, 4).set(x1);
    word(valAt, e).set(vb);
    f.get(a0).set(a);
    f.loop(() => f.get(a).get(a1).op(Op.i32GeS), () => {
      word(yOut, a).set(oy);
      f.unless(() => f.get(rowMask).get(oy).op(Op.i32Add).mem(Op.i32Load8U, 0).op(Op.i32Eqz), () => {
        f.get(keyBase).get(oy).get(ow).op(Op.i32Mul, Op.i32Add).set(row);
        f.get(ciKh);
        word(yTap, a).op(Op.i32Add).get(kw).op(Op.i32Mul).set(wRow);
        f.get(x0).set(b);
        f.loop(() => f.get(b).get(x1).op(Op.i32GeS), () => {
          f.get(next).get(row);
          word(xOut, b).op(Op.i32Add).i32(2).op(Op.i32Shl, Op.i32Add).set(kAt);
          f.get(kAt).mem(Op.i32Load, 2).set(q);
          f.get(kAt).get(q).i32(8).op(Op.i32Add).mem(Op.i32Store, 2);
          f.get(q).get(wRow);
          word(xTap, b).op(Op.i32Add).get(wStride).op(Op.i32Mul).mem(Op.i32Store, 2, 0);
          f.get(q).get(vb).mem(Op.i32Store, 2, 4);
          f.addTo(b, 1);
        });
      });
      f.addTo(a, 1);
    });
    f.addTo(e, 1);
  });
  return f;
}

let compiled: WasmModule | null | undefined;

/** Both functions over a fresh memory of `pages` pages, or null without WebAssembly SIMD (callers then use JS). */
export function createConvWasm(pages: number): { memory: WasmMemory; sum: ConvSumFn; fill: ConvFillFn } | null {
  if (compiled === undefined) compiled = compile(assemble([sumFn(), fillFn()]));
  if (!compiled) return null;
  const { memory, exports } = instantiate(compiled, pages);
  return { memory, sum: exports.sum as ConvSumFn, fill: exports.fill as ConvFillFn };
}
