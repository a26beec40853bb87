/**
 * Single-precision GEMM for the dense reference path: C[M×N] += A[M×K] · B[K×N],
 * all row-major. Packs 4-row panels of A and 4-column panels of B so the inner loop
 * keeps a 4×4 tile of C in registers (16 multiply-adds per 8 loads), and walks N in
 * chunks whose B panels stay in L2. Accumulates in float64, stores float32.
 */

const NC = 256; // columns per chunk: K × 256 × 4 bytes of packed B stays cache-resident

let packA: Float32Array = new Float32Array(0);
let packB: Float32Array = new Float32Array(0);

function ensure(buf: Float32Array, n: number): Float32Array {
  return buf.length >= n ? buf : new Float32Array(Math.max(n, buf.length * 2));
}

export function sgemm(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number,
  b: Float32Array, bOff: number,
  c: Float32Array, cOff: number,
): void {
  const mp = Math.ceil(m / 4);
  packA = ensure(packA, mp * 4 * k);
  const pa = packA;
  // Pack A: panel p holds rows 4p..4p+3 interleaved by k.
  for (let p = 0; p < mp; p++) {
    const base = p * 4 * k;
    for (let t = 0; t < 4; t++) {
      const row = p * 4 + t;
      if (row < m) {
        const src = aOff + row * k;
        for (let kk = 0; kk < k; kk++) pa[base + kk * 4 + t] = a[src + kk]!;
      } else {
        for (let kk = 0; kk < k; kk++) pa[base + kk * 4 + t] = 0;
      }
    }
  }
  packB = ensure(packB, Math.ceil(NC / 4) * 4 * k);
  const pb = packB;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    const np = Math.ceil(nc / 4);
    for (let q = 0; q < np; q++) {
      const base = q * 4 * k;
      for (let t = 0; t < 4; t++) {
        const col = j0 + q * 4 + t;
        if (col < n) {
          for (let kk = 0; kk < k; kk++) pb[base + kk * 4 + t] = b[bOff + kk * n + col]!;
        } else {
          for (let kk = 0; kk < k; kk++) pb[base + kk * 4 + t] = 0;
        }
      }
    }
    for (let p = 0; p < mp; p++) {
      const aBase = p * 4 * k;
      for (let q = 0; q < np; q++) {
        const bBase = q * 4 * k;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let kk = 0; kk < k; kk++) {
          const ai = aBase + kk * 4;
          const bi = bBase + kk * 4;
          const a0 = pa[ai]!, a1 = pa[ai + 1]!, a2 = pa[ai + 2]!, a3 = pa[ai + 3]!;
          const b0 = pb[bi]!, b1 = pb[bi + 1]!, b2 = pb[bi + 2]!, b3 = pb[bi + 3]!;
          c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
          c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
          c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
          c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }
        const row0 = p * 4;
        const col0 = j0 + q * 4;
        const rows = Math.min(4, m - row0);
        const cols = Math.min(4, n - col0);
        if (rows === 4 && cols === 4) {
          let o = cOff + row0 * n + col0;
          c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03; o += n;
          c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13; o += n;
          c[o] += c20; c[o + 1] += c21; c[o + 2] += c22; c[o + 3] += c23; o += n;
          c[o] += c30; c[o + 1] += c31; c[o + 2] += c32; c[o + 3] += c33;
        } else {
          const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
          for (let r = 0; r < rows; r++) for (let s = 0; s < cols; s++) c[cOff + (row0 + r) * n + col0 + s] += tile[r * 4 + s]!;
        }
      }
    }
  }
}

/** y[N] += x[K] · W[K×N] (one row; the MLP case). */
export function gemvRow(k: number, n: number, x: Float32Array, xOff: number, w: Float32Array, y: Float64Array): void {
  for (let kk = 0; kk < k; kk++) {
    const v = x[xOff + kk]!;
    const base = kk * n;
    for (let j = 0; j < n; j++) y[j] += v * w[base + j]!;
  }
}
