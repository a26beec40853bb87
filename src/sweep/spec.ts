/**
 * Sweep files: a base point plus `grid:` (cartesian product over config paths) and
 * `points:` (explicit assignments, run after the grid). Every path is checked against
 * the schema before anything runs, and every expanded point is resolved and validated
 * (chip included), so bad input exits 2 naming the path; only run-time failures (a
 * network that does not fit the chip) are recorded as failed points.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { ChipSpec } from '../chip/spec.js';
import { chipFromObject, chipSchema, isChipFile, loadChipRaw } from '../config/chip-config.js';
import { DEFAULT_THRESHOLD, formatIssues } from '../config/run-config.js';
import { readYamlFile } from '../config/yaml-file.js';
import { EvsimError } from '../errors.js';
import { parsePolicy } from '../model/evnet/policy.js';
import type { WorkloadSpec } from '../workloads/workload.js';

const layerOverride = z
  .object({ threshold: z.number().min(0).optional(), policy: z.string().optional(), channel_thresholds: z.array(z.number().min(0)).optional() })
  .strict();

const workloadSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('video'),
      motion: z.enum(['none', 'minor', 'major']).default('minor'),
      frames: z.number().int().positive().default(32),
      seed: z.number().int().default(1),
    })
    .strict(),
  z
    .object({
      kind: z.literal('temporal-mnist'),
      frames: z.number().int().positive().max(10_000).default(1000),
    })
    .strict(),
]);

/** The chip of a point: a preset or file (`preset`) plus any chip fields overriding it. */
const chipOverrides = chipSchema.deepPartial().extend({ preset: z.string().min(1).optional() });

/** One point, as written in `base:` and reached by grid and points paths. */
export const pointSchema = z
  .object({
    model: z.string().min(1),
    frames: z.string().min(1).optional(),
    labels: z.string().min(1).optional(),
    workload: workloadSchema.optional(),
    max_frames: z.number().int().positive().optional(),
    policy: z
      .object({
        name: z.string().min(1).default('threshold'),
        threshold: z.number().min(0).default(DEFAULT_THRESHOLD),
        bn_gamma: z.boolean().default(false),
        layers: z.record(layerOverride).optional(),
      })
      .strict()
      .default({}),
    chip: chipOverrides.default({ preset: 'loihi' }),
    mapping: z
      .object({
        strategy: z.enum(['snake', 'hilbert']).default('snake'),
        mesh: z.string().regex(/^(auto|chip|\d+x\d+)$/, "must be 'auto', 'chip' or WxH, e.g. 8x4").optional(),
      })
      .strict()
      .default({}),
    dense: z.boolean().default(false),
  })
  .strict();

export type PointDoc = z.input<typeof pointSchema>;

const scalar = z.union([z.number(), z.string(), z.boolean()]);
const value = z.union([scalar, z.array(z.unknown()), z.record(z.unknown())]);

export const sweepSchema = z
  .object({
    name: z.string().regex(/^[\w.-]+$/, 'must be letters, digits, _ . or -').optional(),
    description: z.string().optional(),
    base: z.record(z.unknown()),
    grid: z.record(z.array(value).min(1, 'needs at least one value')).optional(),
    points: z.array(z.record(value)).optional(),
    pareto: z.array(z.string()).min(2).optional(),
    trace_level: z.enum(['summary', 'cores']).optional(),
  })
  .strict();

/** A sweep as written in YAML (or built in TypeScript and passed to `sweep()`). */
export type SweepSpec = z.input<typeof sweepSchema>;

/** Everything a worker needs to simulate one point (structured-clone safe). */
export interface ResolvedPoint {
  /** Position in the expansion: grid product first, then points. */
  index: number;
  /** Identifies the point's configuration (resume skips finished keys). */
  key: string;
  /** The assignments that made this point, path → value. */
  params: Record<string, unknown>;
  label: string;
  model: string;
  frames: string | null;
  labels: string | null;
  workload: WorkloadSpec | null;
  maxFrames: number | null;
  policy: string;
  threshold: number;
  bnGamma: boolean;
  layers: Record<string, { threshold?: number; policy?: string; channelThresholds?: number[] }>;
  chip: ChipSpec;
  mesh: 'auto' | { width: number; height: number };
  placement: 'snake' | 'hilbert';
  dense: boolean;
  traceLevel: 'summary' | 'cores';
}

export interface ExpandedSweep {
  name: string;
  points: ResolvedPoint[];
  /** Grid and points paths, in first-seen order (the sweep_points parameter columns). */
  paths: string[];
  pareto: string[] | null;
}

// ---------------------------------------------------------------------------------
// Paths

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

/** Checks that `path` names a field of a point; the message lists what exists there. */
export function checkPath(path: string): void {
  const segs = path.split('.');
  if (segs.some((s) => s === '')) throw new Error(`'${path}' is not a path (use dots between names, e.g. chip.core.neurons)`);
  let s: z.ZodTypeAny = pointSchema;
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
function canonicalPath(path: string, v: unknown): string {
  if (path === 'chip' && typeof v === 'string') return 'chip.preset';
  if (path === 'policy' && typeof v === 'string') return 'policy.name';
  return path;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setPath(doc: Record<string, unknown>, path: string, v: unknown): void {
  const segs = path.split('.');
  let o = doc;
  for (const seg of segs.slice(0, -1)) {
    if (!isPlainObject(o[seg])) o[seg] = {};
    o = o[seg] as Record<string, unknown>;
  }
  o[segs[segs.length - 1]!] = structuredClone(v);
}

/** Objects merge key by key; anything else replaces. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : structuredClone(v);
  return out;
}

/** JSON with sorted keys, so equal configurations hash equally. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v === undefined ? null : v);
}

const fmtValue = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

// ---------------------------------------------------------------------------------
// Loading and expansion

/** Reads a sweep YAML file (relative paths in it resolve against its folder). */
export function loadSweepFile(path: string): { spec: SweepSpec; baseDir: string; name: string } {
  const raw = readYamlFile(path, 'sweep', 'BAD_CONFIG');
  const parsed = sweepSchema.safeParse(raw);
  if (!parsed.success) throw new EvsimError('BAD_CONFIG', formatIssues(path, parsed.error.issues));
  return { spec: parsed.data, baseDir: dirname(resolve(path)), name: parsed.data.name ?? basename(path, extname(path)) };
}

/** The model file's content hash: a point's key changes when the model does. */
function fileHash(path: string, where: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16);
  } catch (e) {
    throw new EvsimError('BAD_CONFIG', `${where}: cannot read model ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Expands a sweep into resolved points. `where` names the sweep in messages (its file);
 * relative paths resolve against `baseDir`.
 */
export function expandSweep(input: SweepSpec, opts: { baseDir: string; name: string; where?: string }): ExpandedSweep {
  const where = opts.where ?? `sweep '${opts.name}'`;
  const parsed = sweepSchema.safeParse(input);
  if (!parsed.success) throw new EvsimError('BAD_CONFIG', formatIssues(where, parsed.error.issues));
  const spec = parsed.data;

  const assignments: Record<string, unknown>[] = [];
  const paths: string[] = [];
  const addPath = (p: string, ctx: string): void => {
    try {
      checkPath(p);
    } catch (e) {
      throw new EvsimError('BAD_CONFIG', `${where}: ${ctx}: ${(e as Error).message}`);
    }
    if (!paths.includes(p)) paths.push(p);
  };
  const grid = Object.entries(spec.grid ?? {});
  for (const [p] of grid) addPath(p, 'grid');
  // Cartesian product, the last grid key varying fastest.
  let combos: Record<string, unknown>[] = [{}];
  for (const [p, values] of grid) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [p]: v })));
  if (grid.length > 0) assignments.push(...combos);
  (spec.points ?? []).forEach((pt, i) => {
    for (const p of Object.keys(pt)) addPath(p, `points[${i}]`);
    assignments.push(pt);
  });
  if (assignments.length === 0) assignments.push({});

  // Normalise shorthands in the base, then check its own paths the same way.
  const base: Record<string, unknown> = structuredClone(spec.base);
  if (typeof base.chip === 'string') base.chip = { preset: base.chip };
  if (typeof base.policy === 'string') base.policy = { name: base.policy };
  const baseSetsMesh = isPlainObject(base.chip) && 'mesh' in base.chip;
  const isMeshPath = (p: string): boolean => p === 'chip.mesh' || p.startsWith('chip.mesh.');

  const modelHashes = new Map<string, string>();
  const points: ResolvedPoint[] = assignments.map((assign, index) => {
    const doc = structuredClone(base);
    const params: Record<string, unknown> = {};
    for (const [p, v] of Object.entries(assign)) {
      setPath(doc, canonicalPath(p, v), v);
      params[p] = v;
    }
    const label = Object.entries(params).map(([p, v]) => `${p}=${fmtValue(v)}`).join(' ') || 'base';
    const ctx = `${where}: point ${index + 1} (${label})`;
    const pd = pointSchema.safeParse(doc);
    if (!pd.success) throw new EvsimError('BAD_CONFIG', formatIssues(ctx, pd.error.issues));
    const d = pd.data;
    if (!d.frames === !d.workload) throw new EvsimError('BAD_CONFIG', `${ctx}: give either frames: F.npy or workload: { kind: video | temporal-mnist }`);
    if (d.labels && !d.frames) throw new EvsimError('BAD_CONFIG', `${ctx}: labels: goes with frames: (a workload brings its own labels)`);
    try {
      parsePolicy(d.policy.name);
    } catch (e) {
      throw new EvsimError('BAD_CONFIG', `${ctx}: policy.name: ${(e as Error).message}`);
    }
    const abs = (p: string): string => (isAbsolute(p) ? p : resolve(opts.baseDir, p));

    // The chip: the preset's (or file's) fields, overridden field by field.
    const { preset, ...over } = d.chip;
    const presetName = preset ?? 'loihi';
    let chipRaw: unknown;
    try {
      chipRaw = deepMerge(loadChipRaw(isChipFile(presetName) ? abs(presetName) : presetName).raw, over);
    } catch (e) {
      throw new EvsimError('BAD_CONFIG', `${ctx}: chip.preset: ${(e as Error).message}`);
    }
    const pc = chipSchema.safeParse(chipRaw);
    if (!pc.success) throw new EvsimError('BAD_CONFIG', formatIssues(ctx, pc.error.issues.map((i) => ({ ...i, path: ['chip', ...i.path] }))));
    const chip: ChipSpec = chipFromObject(chipRaw, 'chip');
    // A point that sets the chip's mesh is placed on it; otherwise the mesh grows to fit.
    const meshSetting = d.mapping.mesh ?? ((baseSetsMesh || Object.keys(params).some(isMeshPath)) && chip.mesh ? 'chip' : 'auto');
    let mesh: ResolvedPoint['mesh'];
    if (meshSetting === 'auto') mesh = 'auto';
    else if (meshSetting === 'chip') {
      if (!chip.mesh) throw new EvsimError('BAD_CONFIG', `${ctx}: mapping.mesh is 'chip' but the chip's mesh is auto; set chip.mesh.width and chip.mesh.height`);
      mesh = chip.mesh;
    } else {
      const [w, h] = meshSetting.split('x').map(Number);
      mesh = { width: w!, height: h! };
    }

    const model = abs(d.model);
    let hash = modelHashes.get(model);
    if (!hash) modelHashes.set(model, (hash = fileHash(model, ctx)));
    const layers: ResolvedPoint['layers'] = {};
    for (const [name, o] of Object.entries(d.policy.layers ?? {})) layers[name] = { threshold: o.threshold, policy: o.policy, channelThresholds: o.channel_thresholds };
    const traceLevel = spec.trace_level ?? 'summary';
    const resolved: Omit<ResolvedPoint, 'index' | 'key' | 'params' | 'label'> = {
      model,
      frames: d.frames ? abs(d.frames) : null,
      labels: d.labels ? abs(d.labels) : null,
      workload: d.workload ?? null,
      maxFrames: d.max_frames ?? null,
      policy: d.policy.name,
      threshold: d.policy.threshold,
      bnGamma: d.policy.bn_gamma,
      layers,
      chip,
      mesh,
      placement: d.mapping.strategy,
      dense: d.dense,
      traceLevel,
    };
    // The key covers what determines the results (chip as its resolved fields, model by content).
    const key = createHash('sha256')
      .update(canonical({ ...resolved, chip: chipRaw, model: hash, traceLevel: undefined }))
      .digest('hex')
      .slice(0, 24);
    return { index, key, params, label, ...resolved };
  });

  const pareto = spec.pareto ?? null;
  return { name: opts.name, points, paths, pareto };
}
