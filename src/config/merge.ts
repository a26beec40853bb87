/** Plain-object helpers for layered configs (a chip file over its preset, a sweep point over its base). */

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Where `v` holds an own `__proto__` key (YAML and JSON.parse make one a plain key), as
 * a path such as `grid.chip.core[0].__proto__`, or null. Schemas rebuild objects by
 * assignment, which turns that key into the object's prototype: its settings would be
 * dropped without a word, so loaders refuse it instead.
 */
export function protoKeyPath(v: unknown, path = ''): string | null {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = protoKeyPath(v[i], `${path}[${i}]`);
      if (p !== null) return p;
    }
  } else if (isPlainObject(v)) {
    for (const k of Object.keys(v)) {
      const here = path ? `${path}.${k}` : k;
      if (k === '__proto__') return here;
      const p = protoKeyPath(v[k], here);
      if (p !== null) return p;
    }
  }
  return null;
}

/**
 * Objects merge key by key (own keys only); anything else replaces. Keys are defined,
 * not assigned, so a `__proto__` key from YAML or JSON stays a plain key for the schema
 * to refuse, instead of changing the merged object's prototype.
 */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const value = Object.hasOwn(base, k) ? deepMerge(base[k], v) : structuredClone(v);
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
