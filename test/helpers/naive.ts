/**
 * Naive reference kernels written straight from the ONNX operator definitions (and
 * PyTorch's pooling divisor rule), in float64 with direct loops. They share no code
 * with src/ and are the independent check of the dense kernels.
 */
import type { AvgPoolOp, ConvOp, DenseOp, MaxPoolOp } from '../../src/model/ir.js';

/** ONNX output length: floor((L + pb + pe − dil·(k−1) − 1) / s) + 1, or ceil with ceil_mode. */
export function naiveOutLen(L: number, k: number, s: number, pb: number, pe: number, dil = 1, ceil = false): number {
  const num = L + pb + pe - dil * (k - 1) - 1;
  let out = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
  // PyTorch: in ceil mode the last window must start inside the input or the left pad.
  if (ceil && (out - 1) * s >= L + pb) out -= 1;
  return out;
}

/** Conv, NCHW, batch 1: the six-deep loop of the ONNX definition. */
export function naiveConv(op: ConvOp, inShape: readonly number[], x: ArrayLike<number>): { shape: number[]; y: Float64Array } {
  const [, C, H, W] = inShape as [number, number, number, number];
  if (C !== op.cin) throw new Error('channel mismatch');
  const OH = naiveOutLen(H, op.kh, op.strideH, op.padT, op.padB, op.dilH);
  const OW = naiveOutLen(W, op.kw, op.strideW, op.padL, op.padR, op.dilW);
  const cinG = op.cin / op.group;
  const coutG = op.cout / op.group;
  const y = new Float64Array(op.cout * OH * OW);
  for (let co = 0; co < op.cout; co++) {
    const g = Math.floor(co / coutG);
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let s = op.bias ? op.bias[co]! : 0;
        for (let cl = 0; cl < cinG; cl++) {
          const ci = g * cinG + cl;
          for (let ky = 0; ky < op.kh; ky++) {
            for (let kx = 0; kx < op.kw; kx++) {
              const iy = oy * op.strideH - op.padT + ky * op.dilH;
              const ix = ox * op.strideW - op.padL + kx * op.dilW;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              s += op.weight[((co * cinG + cl) * op.kh + ky) * op.kw + kx]! * x[(ci * H + iy) * W + ix]!;
            }
          }
        }
        y[(co * OH + oy) * OW + ox] = s;
      }
    }
  }
  return { shape: [1, op.cout, OH, OW], y };
}

/**
 * ConvTranspose computed as what it is equivalent to: a stride-1 conv, with the kernel
 * flipped, over the input with stride − 1 zeros inserted between elements and
 * d·(k − 1) − pad zeros around it (plus output_padding at the end). `op.weight` is in
 * the IR's [cout][cin/group][kh][kw] layout.
 */
export function naiveConvTranspose(op: ConvOp, inShape: readonly number[], x: ArrayLike<number>, outPad: [number, number] = [0, 0]): { shape: number[]; y: Float64Array } {
  const [, C, H, W] = inShape as [number, number, number, number];
  if (C !== op.cin) throw new Error('channel mismatch');
  const OH = (H - 1) * op.strideH + outPad[0] + (op.kh - 1) * op.dilH + 1 - op.padT - op.padB;
  const OW = (W - 1) * op.strideW + outPad[1] + (op.kw - 1) * op.dilW + 1 - op.padL - op.padR;
  const cinG = op.cin / op.group;
  const coutG = op.cout / op.group;
  // Zero-stuffed input: U[u] = x[u / s] where s divides u, else 0; shifted by the conv's pad.
  const stuffed = (u: number, s: number, n: number): number => (u >= 0 && u % s === 0 && u / s < n ? u / s : -1);
  const y = new Float64Array(op.cout * OH * OW);
  for (let co = 0; co < op.cout; co++) {
    const g = Math.floor(co / coutG);
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let s = op.bias ? op.bias[co]! : 0;
        for (let cl = 0; cl < cinG; cl++) {
          const ci = g * cinG + cl;
          for (let ky = 0; ky < op.kh; ky++) {
            const iy = stuffed(oy + ky * op.dilH - (op.dilH * (op.kh - 1) - op.padT), op.strideH, H);
            if (iy < 0) continue;
            for (let kx = 0; kx < op.kw; kx++) {
              const ix = stuffed(ox + kx * op.dilW - (op.dilW * (op.kw - 1) - op.padL), op.strideW, W);
              if (ix < 0) continue;
              const flipped = ((co * cinG + cl) * op.kh + (op.kh - 1 - ky)) * op.kw + (op.kw - 1 - kx);
              s += op.weight[flipped]! * x[(ci * H + iy) * W + ix]!;
            }
          }
        }
        y[(co * OH + oy) * OW + ox] = s;
      }
    }
  }
  return { shape: [1, op.cout, OH, OW], y };
}

/** Gemm: y[m][n] = Σ_k A[m][k]·W[k][n] + bias[m][n], A read transposed with transA. */
export function naiveDense(op: DenseOp, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(op.m * op.n);
  for (let i = 0; i < op.m; i++) {
    for (let j = 0; j < op.n; j++) {
      let s = op.bias ? op.bias[i * op.n + j]! : 0;
      for (let kk = 0; kk < op.k; kk++) s += (op.transA ? x[kk * op.m + i]! : x[i * op.k + kk]!) * op.weight[kk * op.n + j]!;
      y[i * op.n + j] = s;
    }
  }
  return y;
}

/**
 * AveragePool with PyTorch's divisor (aten avg_pool2d): the window is clipped to the
 * padded input, its size is the count_include_pad divisor; clipped again to the input
 * for the count_include_pad = false divisor. `OH`/`OW` decide floor or ceil mode.
 */
export function naiveAvgPool(op: AvgPoolOp, inShape: readonly number[], x: ArrayLike<number>, OH: number, OW: number): Float64Array {
  const [, C, H, W] = inShape as [number, number, number, number];
  const y = new Float64Array(C * OH * OW);
  for (let c = 0; c < C; c++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let hstart = oy * op.strideH - op.padT;
        let wstart = ox * op.strideW - op.padL;
        let hend = Math.min(hstart + op.kh, H + op.padB);
        let wend = Math.min(wstart + op.kw, W + op.padR);
        const poolSize = (hend - hstart) * (wend - wstart);
        hstart = Math.max(hstart, 0);
        wstart = Math.max(wstart, 0);
        hend = Math.min(hend, H);
        wend = Math.min(wend, W);
        let s = 0;
        for (let iy = hstart; iy < hend; iy++) for (let ix = wstart; ix < wend; ix++) s += x[(c * H + iy) * W + ix]!;
        y[(c * OH + oy) * OW + ox] = s / (op.countIncludePad ? poolSize : (hend - hstart) * (wend - wstart));
      }
    }
  }
  return y;
}

/** MaxPool: max over the window's in-input elements (padding never wins). */
export function naiveMaxPool(op: MaxPoolOp, inShape: readonly number[], x: ArrayLike<number>, OH: number, OW: number): Float64Array {
  const [, C, H, W] = inShape as [number, number, number, number];
  const y = new Float64Array(C * OH * OW);
  for (let c = 0; c < C; c++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < op.kh; ky++) {
          for (let kx = 0; kx < op.kw; kx++) {
            const iy = oy * op.strideH - op.padT + ky * op.dilH;
            const ix = ox * op.strideW - op.padL + kx * op.dilW;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) m = Math.max(m, x[(c * H + iy) * W + ix]!);
          }
        }
        y[(c * OH + oy) * OW + ox] = m;
      }
    }
  }
  return y;
}

/** Multi-index of flat index i in a row-major shape. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

/** Flat index of a multi-index in a row-major shape. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d]! + idx[d]!;
  return f;
}

export function naiveTranspose(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float64Array {
  const outShape = perm.map((p) => shape[p]!);
  const y = new Float64Array(x.length);
  for (let o = 0; o < y.length; o++) {
    const oi = unravel(o, outShape);
    const ii = new Array<number>(shape.length);
    perm.forEach((p, d) => (ii[p] = oi[d]!));
    y[o] = x[ravel(ii, shape)]!;
  }
  return y;
}

/** Constant Pad with ONNX pads order [x1_begin, x2_begin, …, x1_end, …]. */
export function naivePad(x: ArrayLike<number>, shape: readonly number[], pads: readonly number[], value: number): { shape: number[]; y: Float64Array } {
  const r = shape.length;
  const outShape = shape.map((d, i) => d + pads[i]! + pads[i + r]!);
  const y = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  for (let o = 0; o < y.length; o++) {
    const oi = unravel(o, outShape);
    const ii = oi.map((c, d) => c - pads[d]!);
    y[o] = ii.every((c, d) => c >= 0 && c < shape[d]!) ? x[ravel(ii, shape)]! : value;
  }
  return { shape: outShape, y };
}

/** Nearest Resize given per-axis output→input coordinate maps. */
export function naiveResize(x: ArrayLike<number>, shape: readonly number[], maps: readonly Int32Array[]): Float64Array {
  const outShape = maps.map((m) => m.length);
  const y = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  for (let o = 0; o < y.length; o++) y[o] = x[ravel(unravel(o, outShape).map((c, d) => maps[d]![c]!), shape)]!;
  return y;
}

export function naiveConcat(xs: ArrayLike<number>[], shapes: readonly (readonly number[])[], axis: number): Float64Array {
  const outShape = [...shapes[0]!];
  outShape[axis] = shapes.reduce((a, s) => a + s[axis]!, 0);
  const y = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  for (let o = 0; o < y.length; o++) {
    const oi = unravel(o, outShape);
    let c = oi[axis]!;
    let k = 0;
    while (c >= shapes[k]![axis]!) c -= shapes[k++]![axis]!;
    const ii = [...oi];
    ii[axis] = c;
    y[o] = xs[k]![ravel(ii, shapes[k]!)]!;
  }
  return y;
}

/** Softmax along `axis` of a tensor of `shape`. */
export function naiveSoftmax(x: ArrayLike<number>, shape: readonly number[], axis: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o++) {
    const oi = unravel(o, shape);
    let s = 0;
    for (let j = 0; j < shape[axis]!; j++) {
      const ii = [...oi];
      ii[axis] = j;
      s += Math.exp(x[ravel(ii, shape)]!);
    }
    y[o] = Math.exp(x[o]!) / s;
  }
  return y;
}

/** Largest |a − b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
