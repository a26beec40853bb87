/**
 * Dense (conventional) kernels for every IR op: the reference the EvNet is compared
 * with, the baseline it is timed against, and the evaluator of constant offsets.
 * Tensors are flat NCHW Float32Arrays.
 */
import { avgDivisor, spatialOf } from '../geometry.js';
import { coordMap, numel, stridesOf, type AvgPoolOp, type ConvOp, type DenseOp, type MaxPoolOp, type Op, type PadOp, type ResizeOp, type SoftmaxOp, type TransposeOp, type UnaryOp } from '../ir.js';
import { sgemm } from './gemm.js';

let colBuf: Float32Array = new Float32Array(0);

/** Conv as im2col + packed GEMM per group (a ConvTranspose scatters). `out` is overwritten. */
export function convDense(op: ConvOp, inShape: readonly number[], x: Float32Array, outShape: readonly number[], out: Float32Array): void {
  if (op.transposed) {
    convTransposeDense(op, inShape, x, outShape, out);
    return;
  }
  const { h, w } = spatialOf(inShape);
  const { h: oh, w: ow } = spatialOf(outShape);
  const cinG = op.cin / op.group;
  const coutG = op.cout / op.group;
  const kArea = op.kh * op.kw;
  const K = cinG * kArea;
  const P = oh * ow;
  for (let co = 0; co < op.cout; co++) out.fill(op.bias ? op.bias[co]! : 0, co * P, (co + 1) * P);
  const pointwise = op.kh === 1 && op.kw === 1 && op.strideH === 1 && op.strideW === 1 && op.padT === 0 && op.padL === 0 && op.padB === 0 && op.padR === 0;
  for (let g = 0; g < op.group; g++) {
    let col: Float32Array;
    let colOff = 0;
    if (pointwise) {
      col = x;
      colOff = g * cinG * h * w;
    } else {
      if (colBuf.length < K * P) colBuf = new Float32Array(K * P);
      col = colBuf;
      for (let ci = 0; ci < cinG; ci++) {
        const xBase = (g * cinG + ci) * h * w;
        for (let ky = 0; ky < op.kh; ky++) {
          for (let kx = 0; kx < op.kw; kx++) {
            const row = ((ci * op.kh + ky) * op.kw + kx) * P;
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy * op.strideH - op.padT + ky * op.dilH;
              const rowOut = row + oy * ow;
              if (iy < 0 || iy >= h) {
                col.fill(0, rowOut, rowOut + ow);
                continue;
              }
              const xRow = xBase + iy * w;
              for (let ox = 0; ox < ow; ox++) {
                const ix = ox * op.strideW - op.padL + kx * op.dilW;
                col[rowOut + ox] = ix >= 0 && ix < w ? x[xRow + ix]! : 0;
              }
            }
          }
        }
      }
    }
    sgemm(coutG, P, K, op.weight, g * coutG * K, col, colOff, out, g * coutG * P);
  }
}

/**
 * ConvTranspose by its definition: every input element adds itself times each tap to
 * output (iy·s − pad + ky·d, ix·s − pad + kx·d) of every output channel of its group,
 * summed in float64 and stored as float32.
 */
function convTransposeDense(op: ConvOp, inShape: readonly number[], x: Float32Array, outShape: readonly number[], out: Float32Array): void {
  const { h, w } = spatialOf(inShape);
  const { h: oh, w: ow } = spatialOf(outShape);
  const cinG = op.cin / op.group;
  const coutG = op.cout / op.group;
  const acc = new Float64Array(op.cout * oh * ow);
  for (let co = 0; co < op.cout; co++) acc.fill(op.bias ? op.bias[co]! : 0, co * oh * ow, (co + 1) * oh * ow);
  for (let ci = 0; ci < op.cin; ci++) {
    const g = Math.floor(ci / cinG);
    for (let iy = 0; iy < h; iy++) {
      for (let ix = 0; ix < w; ix++) {
        const v = x[(ci * h + iy) * w + ix]!;
        if (v === 0) continue;
        for (let co = g * coutG; co < (g + 1) * coutG; co++) {
          const wBase = (co * cinG + (ci - g * cinG)) * op.kh * op.kw;
          for (let ky = 0; ky < op.kh; ky++) {
            const oy = iy * op.strideH - op.padT + ky * op.dilH;
            if (oy < 0 || oy >= oh) continue;
            for (let kx = 0; kx < op.kw; kx++) {
              const ox = ix * op.strideW - op.padL + kx * op.dilW;
              if (ox >= 0 && ox < ow) acc[(co * oh + oy) * ow + ox] += v * op.weight[wBase + ky * op.kw + kx]!;
            }
          }
        }
      }
    }
  }
  out.set(acc);
}

/** y = x·W (+ bias) with x viewed [M, K] (or [K, M] with transA). */
export function denseDense(op: DenseOp, x: Float32Array, out: Float32Array): void {
  const { m, k, n } = op;
  if (op.bias) out.set(op.bias);
  else out.fill(0);
  let xs = x;
  if (op.transA) {
    xs = new Float32Array(m * k);
    for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) xs[i * k + j] = x[j * m + i]!;
  }
  // One row: a GEMV (the GEMM packing would only add copies).
  if (m === 1) gemvRow(k, n, xs, op.weight, new Float64Array(n), out);
  else sgemm(m, n, k, xs, 0, op.weight, 0, out, 0);
}

/**
 * out += x·W for one row x of length k, summed in float64 per output. A function of its
 * own so V8 optimises it whole (an on-stack compile inside denseDense's loop deoptimised
 * at the loop's exit on every call).
 */
function gemvRow(k: number, n: number, x: Float32Array, w: Float32Array, acc: Float64Array, out: Float32Array): void {
  gemvAcc(k, n, x, w, acc);
  addInto(out, acc, n);
}

/** acc[j] += Σ_kk x[kk]·w[kk·n + j]: the loops apart from the call after them, which code compiled mid-loop had no feedback for (a deoptimisation on every call). */
function gemvAcc(k: number, n: number, x: Float32Array, w: Float32Array, acc: Float64Array): void {
  for (let kk = 0; kk < k; kk++) {
    const v = x[kk]!;
    const base = kk * n;
    for (let j = 0; j < n; j++) acc[j] += v * w[base + j]!;
  }
}

/** out[j] += acc[j] (its own function for the same reason as gemvRow). */
function addInto(out: Float32Array, acc: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) out[j] = out[j]! + acc[j]!;
}

export function avgPoolDense(op: AvgPoolOp, inShape: readonly number[], x: Float32Array, outShape: readonly number[], out: Float32Array): void {
  const { c, h, w } = spatialOf(inShape);
  const { h: oh, w: ow } = spatialOf(outShape);
  for (let ch = 0; ch < c; ch++) {
    const xb = ch * h * w;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let s = 0;
        const y0 = oy * op.strideH - op.padT;
        const x0 = ox * op.strideW - op.padL;
        for (let ky = 0; ky < op.kh; ky++) {
          const iy = y0 + ky * op.dilH;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < op.kw; kx++) {
            const ix = x0 + kx * op.dilW;
            if (ix >= 0 && ix < w) s += x[xb + iy * w + ix]!;
          }
        }
        out[(ch * oh + oy) * ow + ox] = s / avgDivisor(op, h, w, oy, ox, op.countIncludePad);
      }
    }
  }
}

/** Max over one output window; shared with the incremental EvNet kernel. */
export function maxWindow(op: MaxPoolOp, x: Float32Array, xb: number, h: number, w: number, oy: number, ox: number): number {
  let m = -Infinity;
  const y0 = oy * op.strideH - op.padT;
  const x0 = ox * op.strideW - op.padL;
  for (let ky = 0; ky < op.kh; ky++) {
    const iy = y0 + ky * op.dilH;
    if (iy < 0 || iy >= h) continue;
    for (let kx = 0; kx < op.kw; kx++) {
      const ix = x0 + kx * op.dilW;
      if (ix >= 0 && ix < w) {
        const v = x[xb + iy * w + ix]!;
        if (v > m) m = v;
      }
    }
  }
  return m;
}

export function maxPoolDense(op: MaxPoolOp, inShape: readonly number[], x: Float32Array, outShape: readonly number[], out: Float32Array): void {
  const { c, h, w } = spatialOf(inShape);
  const { h: oh, w: ow } = spatialOf(outShape);
  for (let ch = 0; ch < c; ch++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) out[(ch * oh + oy) * ow + ox] = maxWindow(op, x, ch * h * w, h, w, oy, ox);
    }
  }
}

/**
 * The scalar function of a unary op, in float64 (the store rounds to float32); its
 * second argument is the element's flat index (PRelu's slope is per element).
 */
export function unaryFn(op: UnaryOp): (v: number, i: number) => number {
  const { a, b } = op;
  switch (op.fn) {
    case 'relu': return (v) => (v > 0 ? v : 0);
    case 'leakyrelu': return (v) => (v >= 0 ? v : a * v);
    case 'prelu': {
      const slope = op.slope!;
      return (v, i) => (v >= 0 ? v : slope[i]! * v);
    }
    // min(max(v, lo), hi), as ONNX defines it: with lo > hi every value is hi.
    case 'clip': return (v) => {
      const c = v < a ? a : v;
      return c > b ? b : c;
    };
    case 'sigmoid': return (v) => 1 / (1 + Math.exp(-v));
    case 'tanh': return Math.tanh;
    case 'hardsigmoid': return (v) => Math.max(0, Math.min(1, a * v + b));
    case 'hardswish': return (v) => v * Math.max(0, Math.min(1, a * v + b));
    case 'elu': return (v) => (v > 0 ? v : a * Math.expm1(v));
    case 'selu': return (v) => (v > 0 ? b * v : b * a * Math.expm1(v));
    case 'celu': return (v) => Math.max(0, v) + Math.min(0, a * Math.expm1(v / a));
    case 'thresholdedrelu': return (v) => (v > a ? v : 0);
    case 'softplus': return softplus;
    case 'softsign': return (v) => v / (1 + Math.abs(v));
    case 'mish': return (v) => v * Math.tanh(softplus(v));
    case 'erf': return erf;
    case 'gelu':
      return a === 1
        ? (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))
        : (v) => 0.5 * v * (1 + erf(v * Math.SQRT1_2));
    case 'abs': return Math.abs;
    case 'exp': return Math.exp;
    case 'log': return Math.log;
    case 'sqrt': return Math.sqrt;
    case 'reciprocal': return (v) => 1 / v;
    case 'pow': return (v) => Math.pow(v, a);
    case 'fakequant': {
      // ONNX QuantizeLinear then DequantizeLinear, in float32 as the spec computes them:
      // q = saturate(round_half_even(x / scale) + zero), y = (q − zero) · scale.
      const { scale, zero } = op.quant!;
      return (v, i) => {
        const s = scale[i]!;
        const z = zero[i]!;
        return (quantize(v, s, z, a, b) - z) * s;
      };
    }
  }
}

/** ONNX QuantizeLinear in float32: saturate(round_half_even(x / scale) + zero). */
export function quantize(v: number, s: number, z: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, roundHalfEven(Math.fround(v / s)) + z));
}

/** Round half to even (banker's rounding), as ONNX QuantizeLinear and the Sigma-Delta policy require. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  // Math.round sends x.5 up; step back to the even neighbour on an exact tie.
  if (r - v === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** ln(1 + eˣ) without overflow for large x. */
function softplus(v: number): number {
  return v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * The error function in float64 (JavaScript has none), within a few ulp: its Maclaurin
 * series below |x| = 2, 1 − erfc(x) from erfc's continued fraction up to 6, and ±1
 * beyond (erfc(6) ≈ 2e−17 is below half an ulp of 1).
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2) {
    // erf x = 2/√π Σ (−1)ⁿ x²ⁿ⁺¹ / (n! (2n + 1))
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (!(ax < 6)) return Number.isNaN(x) ? x : Math.sign(x);
  // erfc x = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from the tail.
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  return Math.sign(x) * (1 - erfc);
}

/** Softmax (or LogSoftmax) of one row (outer o, inner i) of a [outer, len, inner] view. */
export function softmaxRow(op: SoftmaxOp, x: Float32Array, out: Float32Array, o: number, i: number): void {
  const base = o * op.len * op.inner + i;
  let mx = -Infinity;
  for (let j = 0; j < op.len; j++) mx = Math.max(mx, x[base + j * op.inner]!);
  let s = 0;
  for (let j = 0; j < op.len; j++) s += Math.exp(x[base + j * op.inner]! - mx);
  if (op.log) {
    const ls = Math.log(s);
    for (let j = 0; j < op.len; j++) out[base + j * op.inner] = x[base + j * op.inner]! - mx - ls;
  } else {
    for (let j = 0; j < op.len; j++) out[base + j * op.inner] = Math.exp(x[base + j * op.inner]! - mx) / s;
  }
}

/** For every output element of a Transpose, the input element it reads. */
export function transposeMap(op: TransposeOp, inShape: readonly number[]): Int32Array {
  const inStrides = stridesOf(inShape);
  return coordMap(op.perm.map((p) => inShape[p]!), (d, c) => c * inStrides[op.perm[d]!]!);
}

/** For every input element of a Pad, the output element it lands on. */
export function padMap(op: PadOp, inShape: readonly number[]): Int32Array {
  const r = inShape.length;
  const outStrides = stridesOf(inShape.map((d, i) => d + op.pads[i]! + op.pads[i + r]!));
  return coordMap(inShape, (d, c) => (c + op.pads[d]!) * outStrides[d]!);
}

/** For every output element of a nearest Resize, the input element it copies. */
export function resizeMap(op: ResizeOp, inShape: readonly number[]): Int32Array {
  const inStrides = stridesOf(inShape);
  return coordMap(op.maps.map((m) => m.length), (d, c) => op.maps[d]![c]! * inStrides[d]!);
}

/**
 * For every output element of a linear Resize, the input elements it interpolates and
 * their weights (products of the per-axis weights; zero weights left out), as CSR in
 * ascending input order.
 */
export function linearResizeTable(op: ResizeOp, inShape: readonly number[]): { offsets: Int32Array; src: Int32Array; wt: Float32Array } {
  const lin = op.linear!;
  const outShape = op.maps.map((m) => m.length);
  const inStrides = stridesOf(inShape);
  const outSize = numel(outShape);
  const offsets = new Int32Array(outSize + 1);
  const src: number[] = [];
  const wt: number[] = [];
  const r = outShape.length;
  const coord = new Array<number>(r).fill(0);
  for (let o = 0; o < outSize; o++) {
    offsets[o] = src.length;
    // Corners: per axis the lower coordinate (weight 1 − w) and, when w > 0, the upper one.
    let corners: [number, number][] = [[0, 1]];
    for (let d = 0; d < r; d++) {
      const c = coord[d]!;
      const lo = op.maps[d]![c]! * inStrides[d]!;
      const hi = lin[d]!.hi[c]! * inStrides[d]!;
      const w = lin[d]!.w[c]!;
      const next: [number, number][] = [];
      for (const [at, f] of corners) {
        if (w < 1) next.push([at + lo, f * (1 - w)]);
        if (w > 0) next.push([at + hi, f * w]);
      }
      corners = next;
    }
    corners.sort((a, b) => a[0] - b[0]);
    for (const [at, f] of corners) {
      src.push(at);
      wt.push(f);
    }
    for (let d = r - 1; d >= 0; d--) {
      if (++coord[d]! < outShape[d]!) break;
      coord[d] = 0;
    }
  }
  offsets[outSize] = src.length;
  return { offsets, src: Int32Array.from(src), wt: Float32Array.from(wt) };
}

/** For every element of Concat input `which`, its output index. */
export function concatMap(axis: number, shapes: readonly (readonly number[])[], which: number): Int32Array {
  const s = shapes[which]!;
  const outer = numel(s.slice(0, axis));
  const block = numel(s.slice(axis));
  const total = shapes.reduce((a, t) => a + numel(t.slice(axis)), 0);
  let before = 0;
  for (let i = 0; i < which; i++) before += numel(shapes[i]!.slice(axis));
  const map = new Int32Array(outer * block);
  for (let o = 0; o < outer; o++) for (let b = 0; b < block; b++) map[o * block + b] = o * total + before + b;
  return map;
}

/** Index maps an op needs, built once per node. */
export type NodeMaps = { gather?: Int32Array; scatter?: Int32Array[]; weighted?: { offsets: Int32Array; src: Int32Array; wt: Float32Array } };

export function buildMaps(op: Op, inShapes: readonly (readonly number[])[]): NodeMaps {
  switch (op.kind) {
    case 'transpose': return { gather: transposeMap(op, inShapes[0]!) };
    case 'resize': return op.linear ? { weighted: linearResizeTable(op, inShapes[0]!) } : { gather: resizeMap(op, inShapes[0]!) };
    case 'pad': return { scatter: [padMap(op, inShapes[0]!)] };
    case 'concat': return { scatter: inShapes.map((_, i) => concatMap(op.axis, inShapes, i)) };
    default: return {};
  }
}
