/**
 * Window geometry shared by Conv, MaxPool and AveragePool (output sizes, ONNX
 * auto_pad, ceil_mode) and the per-axis "which outputs does input i reach" tables the
 * sparse kernels and the MAC counter use.
 */
import type { ConvOp, PoolGeometry } from './ir.js';

/** Output length along one axis (ONNX/PyTorch rule, including the ceil_mode correction). */
export function outLength(inLen: number, k: number, stride: number, padBegin: number, padEnd: number, dil: number, ceil: boolean): number {
  const span = (k - 1) * dil + 1;
  const num = inLen + padBegin + padEnd - span;
  let out = (ceil ? Math.ceil(num / stride) : Math.floor(num / stride)) + 1;
  // PyTorch/ONNX: the last window must start inside the input or the left padding.
  if (ceil && (out - 1) * stride >= inLen + padBegin) out--;
  return out;
}

/** Begin/end padding for ONNX auto_pad SAME_UPPER / SAME_LOWER. */
export function samePads(inLen: number, k: number, stride: number, dil: number, upper: boolean): [number, number] {
  const out = Math.ceil(inLen / stride);
  const total = Math.max((out - 1) * stride + (k - 1) * dil + 1 - inLen, 0);
  const small = Math.floor(total / 2);
  return upper ? [small, total - small] : [total - small, small];
}

/**
 * For input coordinate i along one axis: the (kernel tap, output coordinate) pairs
 * it reaches, as a CSR table. Taps are listed in ascending order.
 */
export interface ReachTable {
  /** offsets[i]..offsets[i+1] index into tap/out. */
  offsets: Int32Array;
  tap: Int32Array;
  out: Int32Array;
}

export function reachTable(inLen: number, outLen: number, k: number, stride: number, padBegin: number, dil: number, transposed = false): ReachTable {
  const offsets = new Int32Array(inLen + 1);
  const taps: number[] = [];
  const outs: number[] = [];
  for (let i = 0; i < inLen; i++) {
    offsets[i] = taps.length;
    for (let t = 0; t < k; t++) {
      let o: number;
      if (transposed) {
        o = i * stride - padBegin + t * dil;
        if (o < 0) continue;
      } else {
        const num = i + padBegin - t * dil;
        if (num < 0 || num % stride !== 0) continue;
        o = num / stride;
      }
      if (o >= outLen) continue;
      taps.push(t);
      outs.push(o);
    }
  }
  offsets[inLen] = taps.length;
  return { offsets, tap: Int32Array.from(taps), out: Int32Array.from(outs) };
}

/**
 * The inverse of `reachTable`: for output coordinate o along one axis, the (tap,
 * input coordinate) pairs of its window that fall inside the input, taps ascending.
 */
export function windowTable(inLen: number, outLen: number, k: number, stride: number, padBegin: number, dil: number, transposed = false): ReachTable {
  const offsets = new Int32Array(outLen + 1);
  const taps: number[] = [];
  const ins: number[] = [];
  for (let o = 0; o < outLen; o++) {
    offsets[o] = taps.length;
    for (let t = 0; t < k; t++) {
      let i: number;
      if (transposed) {
        const num = o + padBegin - t * dil;
        if (num < 0 || num % stride !== 0) continue;
        i = num / stride;
      } else {
        i = o * stride - padBegin + t * dil;
      }
      if (i < 0 || i >= inLen) continue;
      taps.push(t);
      ins.push(i);
    }
  }
  offsets[outLen] = taps.length;
  return { offsets, tap: Int32Array.from(taps), out: Int32Array.from(ins) };
}

/** Spatial sizes of a rank-4 (NCHW), rank-3 (NCL, H = 1) or rank-2 (NC, 1 × 1) tensor. */
export function spatialOf(shape: readonly number[]): { c: number; h: number; w: number } {
  if (shape.length === 4) return { c: shape[1]!, h: shape[2]!, w: shape[3]! };
  // Rank 3 (NCL) is H = 1; rank 2 ([N, C], a global pooling without keepdims) is 1 × 1.
  return { c: shape[1]!, h: 1, w: shape[2] ?? 1 };
}

/** How many of the k taps start, start + dil, … lie in [lo, hi). */
function tapsIn(start: number, k: number, dil: number, lo: number, hi: number): number {
  let n = 0;
  for (let t = 0; t < k; t++) {
    const y = start + t * dil;
    if (y >= lo && y < hi) n++;
  }
  return n;
}

/**
 * PyTorch/ONNX average-pool divisor for the window of output (oh, ow): its taps inside
 * the padded input (count_include_pad) or inside the input itself; a dilated window's
 * taps are every dil-th position, not the span between its first and last.
 */
export function avgDivisor(g: PoolGeometry, h: number, w: number, oh: number, ow: number, countIncludePad: boolean): number {
  const hs = oh * g.strideH - g.padT;
  const ws = ow * g.strideW - g.padL;
  if (countIncludePad) return tapsIn(hs, g.kh, g.dilH, -g.padT, h + g.padB) * tapsIn(ws, g.kw, g.dilW, -g.padL, w + g.padR);
  return tapsIn(hs, g.kh, g.dilH, 0, h) * tapsIn(ws, g.kw, g.dilW, 0, w);
}

/** A conv's reach tables along H and W (input coordinate → taps and outputs it reaches). */
export function convReach(op: ConvOp, inShape: readonly number[], outShape: readonly number[]): { ry: ReachTable; rx: ReachTable } {
  const { h, w } = spatialOf(inShape);
  const { h: oh, w: ow } = spatialOf(outShape);
  const t = op.transposed === true;
  return {
    ry: reachTable(h, oh, op.kh, op.strideH, op.padT, op.dilH, t),
    rx: reachTable(w, ow, op.kw, op.strideW, op.padL, op.dilW, t),
  };
}
