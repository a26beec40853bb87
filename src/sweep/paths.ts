/**
 * Dotted config paths (`chip.core.neurons`) over a zod schema and plain documents: check
 * a path against the schema, set it in a document, merge documents, and serialise one
 * with sorted keys so equal configurations hash equally.
 */
import { z } from 'zod';
import { isPlainObject } from '../config/merge.js';

/** Peels optional/default/effects wrappers off a zod schema. */
function unwrap(s: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s.removeDefault();
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else return s;
  }
}

function objectOptions(s: z.ZodTypeAny): z.ZodObject<z.ZodRawShape>[] {
  const u = unwrap(s);
  if (u instanceof z.ZodObject) return [u];
  if (u instanceof z.ZodDiscriminatedUnion) return [...u.options.values()] as z.ZodObject<z.ZodRawShape>[];
  if (u instanceof z.ZodUnion) return (u.options as z.ZodTypeAny[]).flatMap(objectOptions);
  return [];
}

/**
 * Names that are never a field or a map key of a point: set through a plain object they
 * would reach Object.prototype (`policy.layers.__proto__.threshold` set `threshold` on
 * every object of the process), and read through one they find inherited members.
 */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** A schema's own field `seg` (not one inherited from Object.prototype, such as toString), or an Error naming what exists there. */
function fieldOf(s: z.ZodTypeAny, seg: string, path: string, here: string): z.ZodTypeAny | Error {
  const opts = objectOptions(s);
  if (opts.length === 0) return new Error(`unknown path '${path}': ${here} is a single value, it has no field '${seg}'`);
  const found = opts.map((o) => (Object.hasOwn(o.shape, seg) ? o.shape[seg] : undefined)).find((x) => x !== undefined);
  if (found) return found;
  const keys = [...new Set(opts.flatMap((o) => Object.keys(o.shape)))];
  return new Error(`unknown path '${path}': ${here} has no field '${seg}' (it has ${keys.join(', ')})`);
}

/**
 * The names along `path` from `root`, or the Error naming where it goes wrong. A key of
 * a map (a gate under policy.layers) may itself hold dots, as ONNX exporters name nodes
 * (`/stem/stem.2/Mul`): it takes the fewest dotted parts after which the rest of the
 * path is a field of the map's values (`policy.layers./stem/stem.2/Mul.threshold`).
 * A whole map value is set under a key without dots only (`policy.layers.relu0`).
 */
function walk(s: z.ZodTypeAny, segs: readonly string[], i: number, path: string, names: string[]): string[] | Error {
  if (i === segs.length) return names;
  const here = segs.slice(0, i).join('.') || 'a point';
  const u = unwrap(s);
  if (u instanceof z.ZodRecord) {
    const errors: Error[] = [];
    // A dotted key needs a field after it (a typo in that field is named, not taken as part of the key).
    const last = i + 1 === segs.length ? segs.length : segs.length - 1;
    for (let j = i + 1; j <= last; j++) {
      const r = walk(u.valueSchema, segs, j, path, [...names, segs.slice(i, j).join('.')]);
      if (!(r instanceof Error)) return r;
      errors.push(r);
    }
    // Where it went wrong: past a one-part key when a field follows it, else at the last part.
    const fieldNext = i + 1 < segs.length && objectOptions(u.valueSchema).some((o) => Object.hasOwn(o.shape, segs[i + 1]!));
    return fieldNext ? errors[0]! : errors[errors.length - 1]!;
  }
  const f = fieldOf(s, segs[i]!, path, here);
  return f instanceof Error ? f : walk(f, segs, i + 1, path, [...names, segs[i]!]);
}

/** The names along `path` in `root` (a map key may hold dots, see walk); throws naming what exists where it goes wrong. */
export function pathNames(root: z.ZodTypeAny, path: string): string[] {
  const segs = path.split('.');
  if (segs.some((s) => s === '')) throw new Error(`'${path}' is not a path (use dots between names, e.g. chip.core.neurons)`);
  const bad = segs.find((s) => FORBIDDEN.has(s));
  if (bad !== undefined) throw new Error(`unknown path '${path}': '${bad}' is not a field or a name a sweep can set (${[...FORBIDDEN].join(', ')} are refused)`);
  const r = walk(root, segs, 0, path, []);
  if (r instanceof Error) throw r;
  return r;
}

/** `chip: loihi` means chip.preset, `policy: rounding` means policy.name. */
export function canonicalPath(path: string, v: unknown): string {
  if (path === 'chip' && typeof v === 'string') return 'chip.preset';
  if (path === 'policy' && typeof v === 'string') return 'policy.name';
  return path;
}


/** Sets `o[k]` as an own data property (a `__proto__` key stays a key, it never sets the prototype). */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}

/**
 * Sets the field at `names` (from pathNames) in a document, making the objects on the way.
 * Reads and writes own properties only, so no name reaches an object's prototype.
 */
export function setPath(doc: Record<string, unknown>, names: readonly string[], v: unknown): void {
  const bad = names.find((n) => FORBIDDEN.has(n));
  if (bad !== undefined) throw new Error(`'${bad}' is not a name a sweep can set`);
  let o = doc;
  for (const seg of names.slice(0, -1)) {
    const next = Object.hasOwn(o, seg) ? o[seg] : undefined;
    if (isPlainObject(next)) o = next;
    else {
      const made: Record<string, unknown> = {};
      setOwn(o, seg, made);
      o = made;
    }
  }
  setOwn(o, names[names.length - 1]!, structuredClone(v));
}

/** JSON with sorted keys, so equal configurations hash equally. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v === undefined ? null : v);
}

