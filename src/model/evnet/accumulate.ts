/**
 * Accumulator loops (DESIGN §3: a += W·p, contributions in list order, float32 after
 * every add), alone or fused with the ReLU that alone reads the accumulator.
 */
import { reluBits } from './sparse.js';

/** a[idx] += val in list order (the flush). */
export function addLoop(idx: Int32Array, val: Float32Array, n: number, a: Float32Array): void {
  for (let e = 0; e < n; e++) a[idx[e]!] += val[e]!;
}

/** a[idx] += val in list order; lists the positions whose value changed and returns their count. */
export function accumulateLoop(idx: Int32Array, val: Float32Array, n: number, a: Float32Array, changed: Int32Array): number {
  let m = 0;
  for (let e = 0; e < n; e++) {
    const i = idx[e]!;
    const old = a[i]!;
    const now = Math.fround(old + val[e]!);
    a[i] = now;
    changed[m] = i;
    m += +(now !== old);
  }
  return m;
}

/**
 * An accumulator and the ReLU reading it, in one pass: a += Δ in list order, then y =
 * relu(a) as in reluLoop. Positions whose a did not change keep y = relu(a) and are
 * not listed, exactly as if the ReLU had only visited the changed a. Returns the number
 * of changed outputs.
 */
export function accumulateRelu(
  idx: Int32Array, val: Float32Array, n: number, a: Float32Array, aBits: Int32Array, yBits: Int32Array, out: Int32Array,
): number {
  let m = 0;
  for (let e = 0; e < n; e++) {
    const i = idx[e]!;
    a[i] = a[i]! + val[e]!;
    const b = aBits[i]!;
    const v = reluBits(b);
    const old = yBits[i]!;
    yBits[i] = v;
    out[m] = i;
    m += +(v !== old);
  }
  return m;
}
