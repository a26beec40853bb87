/**
 * The JS loops of the sparse Conv (conv-scatter.ts): counting the (source, tap) pairs
 * per output position, laying out and filling the pair lists, and the JS twins of the
 * wasm loops (conv-wasm.ts) for where WebAssembly SIMD is unavailable.
 *
 * They are plain functions over typed arrays that end with their loop, so V8 optimizes
 * each whole (a loop compiled on the fly inside a bigger method leaves the code after
 * it without type feedback, and that code then deopts on every call). Where the
 * outcome of a test varies from element to element they select with arithmetic
 * instead of branching: `+(a !== b)` is 0 or 1 without a jump in V8's code, whereas
 * `a !== b ? 1 : 0` compiles to a branch that random data mispredicts.
 */
import type { ReachTable } from '../geometry.js';

/** Counts the nonzero deltas per (group, input position) key; returns the number of keys. */
export function countInputs(idx: Int32Array, n: number, hw: number, cinG: number, stamp: Uint32Array, gen: number, members: Int32Array, inCount: Int32Array): number {
  let m = 0;
  // The list is ascending: the channel is decoded once per channel.
  let chanStart = 0;
  let chanEnd = -1;
  let keyBase = 0;
  for (let e = 0; e < n; e++) {
    const s = idx[e]!;
    if (s >= chanEnd) {
      const ci = (s / hw) | 0;
      chanStart = ci * hw;
      chanEnd = chanStart + hw;
      keyBase = ((ci / cinG) | 0) * hw;
    }
    const k = keyBase + (s - chanStart);
    const fresh = +(stamp[k] !== gen);
    stamp[k] = gen;
    members[m] = k;
    m += fresh;
    inCount[k] = (inCount[k]! & (fresh - 1)) + 1;
  }
  return m;
}

/** Adds each touched input key's count to the output keys it reaches; returns the new number of output keys. */
export function countOutputs(
  inKeys: Int32Array, inN: number, inCount: Int32Array, hw: number, w: number, ohw: number, ow: number,
  ry: ReachTable, rx: ReachTable, rowMask: Uint8Array, stamp: Uint32Array, gen: number, members: Int32Array, size: number, count: Int32Array,
): number {
  const yOff = ry.offsets;
  const yOut = ry.out;
  const xOff = rx.offsets;
  const xOut = rx.out;
  let m = size;
  for (let t = 0; t < inN; t++) {
    const k = inKeys[t]!;
    const g = (k / hw) | 0;
    const rem = k - g * hw;
    const iy = (rem / w) | 0;
    const ix = rem - iy * w;
    const x0 = xOff[ix]!;
    const x1 = xOff[ix + 1]!;
    const c = inCount[k]!;
    const keyBase = g * ohw;
    const y1 = yOff[iy + 1]!;
    for (let a = yOff[iy]!; a < y1; a++) {
      const oy = yOut[a]!;
      if (rowMask[oy] === 0) continue;
      const row = keyBase + oy * ow;
      for (let b = x0; b < x1; b++) {
        const ok = row + xOut[b]!;
        const fresh = +(stamp[ok] !== gen);
        stamp[ok] = gen;
        members[m] = ok;
        m += fresh;
        count[ok] = (count[ok]! & (fresh - 1)) + c;
      }
    }
  }
  return m;
}

/** Appends every pair to its key's list (byte offsets in `next`), sources in ascending order. */
export function fillPairs(
  idx: Int32Array, val: Float32Array, n: number, hw: number, w: number, ow: number, ohw: number, cinG: number, coutG: number,
  kh: number, kw: number, ry: ReachTable, rx: ReachTable, rowMask: Uint8Array, next: Int32Array, pairsAt: number,
  pairI: Int32Array, pairF: Float32Array,
): void {
  const yOff = ry.offsets;
  const yOut = ry.out;
  const yTap = ry.tap;
  const xOff = rx.offsets;
  const xOut = rx.out;
  const xTap = rx.tap;
  const wStride = coutG << 2;
  for (let e = 0; e < n; e++) {
    const s = idx[e]!;
    const ci = (s / hw) | 0;
    const rem = s - ci * hw;
    const iy = (rem / w) | 0;
    const ix = rem - iy * w;
    const x0 = xOff[ix]!;
    const x1 = xOff[ix + 1]!;
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
        const q = (next[k]! - pairsAt) >> 2;
        next[k] += 8;
        pairI[q] = (wRow + xTap[b]!) * wStride;
        pairF[q + 1] = v;
      }
    }
  }
}

export function sumCounts(keys: Int32Array, n: number, count: Int32Array): number {
  let pairs = 0;
  for (let j = 0; j < n; j++) pairs += count[keys[j]!]!;
  return pairs;
}

/** Gives every key (ascending) its pair list's byte offset and counts the keys per group. */
export function layoutPairs(
  keys: Int32Array, n: number, count: Int32Array, next: Int32Array, first: Int32Array, keyList: Int32Array,
  groupN: Int32Array, ohw: number, pairsAt: number,
): void {
  let at = pairsAt;
  for (let j = 0; j < n; j++) {
    const k = keys[j]!;
    keyList[j] = k;
    first[j] = at;
    next[k] = at;
    at += count[k]! << 3;
    groupN[(k / ohw) | 0]++;
  }
  first[n] = at;
}

export function copyList(idx: Int32Array, val: Float32Array, n: number, outIdx: Int32Array, outVal: Float32Array): number {
  outIdx.set(idx.subarray(0, n));
  outVal.set(val.subarray(0, n));
  return n;
}

/**
 * The JS twin of the wasm `sum` (conv-wasm.ts), same arguments and layout: for
 * ranks [j0, j1) of one group, sums each key's pair list per output channel and
 * writes index and value to the key's slots. Returns true when a sum was exactly 0.
 */
export function sumPositionsJs(
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
export function compactZeros(idx: Int32Array, val: Float32Array, n: number, outIdx: Int32Array, outVal: Float32Array): number {
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
