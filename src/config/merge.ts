/** Plain-object helpers for layered configs (a chip file over its preset, a sweep point over its base). */

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
