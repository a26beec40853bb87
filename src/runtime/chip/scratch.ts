/**
 * Grow-only typed buffers reused frame after frame, handed out as views of the length
 * asked for. A frame used to allocate dozens of short-lived typed arrays per segment;
 * their backing stores (off-heap, zeroed, counted as external memory) cost more than
 * the work on them and forced frequent garbage collections. A key names one use: two
 * views in use at once need two keys.
 */
export class Scratch {
  private readonly i32 = new Map<string, Int32Array>();
  private readonly f64 = new Map<string, Float64Array>();
  ints(key: string, n: number, zero = false): Int32Array {
    let b = this.i32.get(key);
    if (!b || b.length < n) this.i32.set(key, (b = new Int32Array(Math.max(n, 2 * (b?.length ?? 8)))));
    const v = b.subarray(0, n);
    if (zero) v.fill(0);
    return v;
  }
  floats(key: string, n: number, zero = false): Float64Array {
    let b = this.f64.get(key);
    if (!b || b.length < n) this.f64.set(key, (b = new Float64Array(Math.max(n, 2 * (b?.length ?? 8)))));
    const v = b.subarray(0, n);
    if (zero) v.fill(0);
    return v;
  }
}
