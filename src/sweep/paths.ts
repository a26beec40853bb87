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

/** Checks that `path` names a field of `root`; the message lists what exists there. */
export function checkPathIn(root: z.ZodTypeAny, path: string): void {
  const segs = path.split('.');
  if (segs.some((s) => s === '')) throw new Error(`'${path}' is not a path (use dots between names, e.g. chip.core.neurons)`);
  let s: z.ZodTypeAny = root;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const here = segs.slice(0, i).join('.') || 'a point';
    const u = unwrap(s);
    if (u instanceof z.ZodRecord) {
      s = u.valueSchema;
      continue;
    }
    const opts = objectOptions(s);
    if (opts.length === 0) throw new Error(`unknown path '${path}': ${here} is a single value, it has no field '${seg}'`);
    const found = opts.map((o) => o.shape[seg]).find((x) => x !== undefined);
    if (!found) {
      const keys = [...new Set(opts.flatMap((o) => Object.keys(o.shape)))];
      throw new Error(`unknown path '${path}': ${here} has no field '${seg}' (it has ${keys.join(', ')})`);
    }
    s = found;
  }
}

/** `chip: loihi` means chip.preset, `policy: rounding` means policy.name. */
export function canonicalPath(path: string, v: unknown): string {
  if (path === 'chip' && typeof v === 'string') return 'chip.preset';
  if (path === 'policy' && typeof v === 'string') return 'policy.name';
  return path;
}


export function setPath(doc: Record<string, unknown>, path: string, v: unknown): void {
  const segs = path.split('.');
  let o = doc;
  for (const seg of segs.slice(0, -1)) {
    if (!isPlainObject(o[seg])) o[seg] = {};
    o = o[seg] as Record<string, unknown>;
  }
  o[segs[segs.length - 1]!] = structuredClone(v);
}

/** JSON with sorted keys, so equal configurations hash equally. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v === undefined ? null : v);
}

