/**
 * Typed arrays in shared memory, so worker threads read one copy instead of receiving
 * one each (chip setups' weights and routes, a sweep's frames and reference outputs).
 */
type Typed = Int32Array | Float32Array | Float64Array | Uint8Array | Uint32Array;

/** The same values in a typed array of the same kind over a SharedArrayBuffer (`a` itself if it already is). */
export function toShared<T extends Typed>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const ctor = a.constructor as unknown as { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };
  const shared = new ctor(new SharedArrayBuffer(a.length * ctor.BYTES_PER_ELEMENT));
  shared.set(a as never);
  return shared;
}

/** Copies typed arrays larger than `min` elements into SharedArrayBuffers (in place in the object graph). */
export function shareLargeArrays<T>(root: T, min = 4096): T {
  const seen = new Set<unknown>();
  // An array referenced from several places (a setup's tensors share owner arrays) is copied once.
  const copies = new Map<Typed, Typed>();
  const visit = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (ArrayBuffer.isView(v)) {
      const t = v as Typed;
      if (t.length < min) return t;
      let c = copies.get(t);
      if (!c) copies.set(t, (c = toShared(t)));
      return c;
    }
    if (seen.has(v)) return v;
    seen.add(v);
    if (v instanceof Map) {
      for (const [k, x] of v) v.set(k, visit(x));
      return v;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = visit(v[i]);
      return v;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = visit(o[k]);
    return v;
  };
  return visit(root) as T;
}
