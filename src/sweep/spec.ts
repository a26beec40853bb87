/**
 * Sweep files: a base point plus `grid:` (cartesian product over config paths) and
 * `points:` (explicit assignments, run after the grid). Every path is checked against
 * the schema before anything runs, and every expanded point is resolved and validated
 * (chip, model, frames, labels and per-layer settings included: check.ts), so bad input
 * exits 2 naming the path; only run-time failures (a network that does not fit the chip)
 * are recorded as failed points. Points that resolve to the same configuration run once.
 */
import { createHash } from 'node:crypto';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseMeshSize } from '../chip/mapper.js';
import { isFree, type ChipSpec } from '../chip/spec.js';
import { chipFromObject, chipSchema, isChipFile, loadChipRaw } from '../config/chip-config.js';
import { DEFAULT_THRESHOLD, formatIssues, oneOf } from '../config/run-config.js';
import { readYamlFile } from '../config/yaml-file.js';
import { EvsimError, shownValue } from '../errors.js';
import { formatPolicy, parsePolicy } from '../model/evnet/policy.js';
import type { WorkloadSpec } from '../workloads/workload.js';
import { MAX_SEED } from '../workloads/video.js';
import { deepMerge, isPlainObject, protoKeyPath } from '../config/merge.js';
import { SweepInputs } from './check.js';
import { modelId, modelKey } from './models.js';
import type { ObjectiveName } from './pareto.js';
import { canonical, canonicalPath, pathNames, setPath } from './paths.js';

const layerOverride = z
  .object({ threshold: z.number().min(0).finite().optional(), policy: z.string().optional(), channel_thresholds: z.array(z.number().min(0).finite()).optional() })
  .strict();

const workloadSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('video'),
      motion: z.enum(['none', 'minor', 'major']).default('minor'),
      frames: z.number().int().positive().default(32),
      seed: z.number().int().min(0).max(MAX_SEED).default(1),
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
// deepPartial does not reach into the mesh union: chip.mesh.width alone overrides the preset's width.
const chipOverrides = chipSchema.deepPartial().extend({
  preset: z.string().min(1).optional(),
  mesh: z.union([z.literal('auto'), z.object({ width: z.number().int().positive().optional(), height: z.number().int().positive().optional() }).strict()]).optional(),
});

/** One point, as written in `base:` and reached by grid and points paths. */
export const pointSchema = z
  .object({
    model: z.string().min(1),
    model_output: z.string().min(1).optional(),
    frames: z.string().min(1).optional(),
    labels: z.string().min(1).optional(),
    workload: workloadSchema.optional(),
    max_frames: z.number().int().positive().optional(),
    policy: z
      .object({
        name: z.string().min(1).default('threshold'),
        threshold: z.number().min(0).finite().default(DEFAULT_THRESHOLD),
        bn_gamma: z.boolean().default(false),
        layers: z.record(layerOverride).optional(),
      })
      .strict()
      .default({}),
    chip: chipOverrides.default({ preset: 'loihi' }),
    mapping: z
      .object({
        strategy: z.enum(['snake', 'hilbert']).default('snake'),
        mesh: z.string().regex(/^(auto|chip|[1-9]\d*x[1-9]\d*)$/, "must be 'auto', 'chip' or WxH of positive integers, e.g. '8x4' (quoted: YAML reads 0x4 as a number)").optional(),
      })
      .strict()
      .default({}),
    dense: z.boolean().default(false),
  })
  .strict();

export type PointDoc = z.input<typeof pointSchema>;

const scalar = z.union([z.number(), z.string(), z.boolean(), z.null()]);
const value = z.union([scalar, z.array(z.unknown()), z.record(z.unknown())]);

/** A sweep's name, which also names its default file traces/sweep-<name>.sqlite. */
export const SWEEP_NAME = /^[\w.-]+$/;

/** A sweep as written in YAML (or built in TypeScript and passed to `sweep()`). */
export const sweepSchema = z
  .object({
    name: z.string().regex(SWEEP_NAME, 'must be letters, digits, _ . or -').optional(),
    description: z.string().optional(),
    base: z.record(z.unknown()),
    grid: z.record(z.array(value).min(1, 'needs at least one value')).optional(),
    points: z.array(z.record(value)).optional(),
    pareto: z.array(z.string()).min(2, 'needs at least two objectives to rank on, e.g. [energy_pj, latency_ns]').optional(),
    // No 'events': a sweep stores per-point summaries (and per-core rows at 'cores');
    // one run's messages are traced by evsim run --trace-level events.
    trace_level: oneOf(['summary', 'cores'], (given) => (given === 'events'
      ? " (a sweep does not record per-message events; trace one point's events with evsim run --trace-level events)" : '')).optional(),
  })
  .strict();

/**
 * A sweep's base point: a point as written, with the `chip: NAME` and `policy: NAME`
 * shorthands, and without `model` when the grid or the points set it (each point is
 * checked whole at expansion, so one left without a model is refused there).
 */
export type SweepBase = Omit<PointDoc, 'chip' | 'policy' | 'model'> & { model?: string; chip?: PointDoc['chip'] | string; policy?: PointDoc['policy'] | string };

/** A sweep as a file holds it, typed for TypeScript callers (the file is checked the same way at run time). */
export type SweepSpec = Omit<z.input<typeof sweepSchema>, 'base' | 'pareto'> & { base: SweepBase; pareto?: readonly ObjectiveName[] };

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
  /** The output simulated, by name (a model with several); null: its only one. */
  modelOutput: string | null;
  /** Content hash of the model file (recorded with the point's run). */
  modelHash: string;
  frames: string | null;
  /** Content hash of the frames file (null: a workload): inputs are cached by content, not path. */
  framesHash: string | null;
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
  /** The chip files the points read (not presets). */
  chipFiles: string[];
  /** Grid and points paths, in first-seen order (the sweep_points parameter columns). */
  paths: string[];
  pareto: string[] | null;
  /**
   * Points dropped because an earlier point has the same configuration (same key): their
   * position in the expansion (the number they leave free), label, where they came from
   * ('grid' or 'points[i]'), and the index of the point kept.
   */
  duplicates: { index: number; label: string; from: string; sameAs: number }[];
}

/**
 * Whether a string, printed bare in a label, would read as another value: a number
 * ('0.1', '1e3', ' 2', 'Infinity', '', which Number() reads as 0), true, false, null, or
 * JSON ('[1]', '{}', '"x"').
 */
function readsAsOther(s: string): boolean {
  if (!Number.isNaN(Number(s))) return true;
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** A value in a point's label: strings bare (policy.name=memory-loss) unless they would read as another value, then quoted (policy.threshold="0.1" is not policy.threshold=0.1). */
const fmtValue = (v: unknown): string =>
  typeof v === 'string' ? (readsAsOther(v) ? JSON.stringify(v) : v) : typeof v === 'number' ? String(v) : JSON.stringify(v);

// ---------------------------------------------------------------------------------
// Loading and expansion

/** Reads a sweep YAML file (relative paths in it resolve against its folder). */
export function loadSweepFile(path: string): { spec: SweepSpec; baseDir: string; name: string } {
  // A number would be read as an open file descriptor (fs takes both).
  if (typeof path !== 'string' || path === '') throw new EvsimError('BAD_USAGE', `loadSweepFile() takes the path of a sweep YAML file, got ${shownValue(path)}`);
  const raw = readYamlFile(path, 'sweep', 'BAD_CONFIG');
  const parsed = sweepSchema.safeParse(raw);
  if (!parsed.success) throw new EvsimError('BAD_CONFIG', formatIssues(path, parsed.error.issues));
  // The base's own fields are checked point by point at expansion, naming the point.
  return { spec: parsed.data as SweepSpec, baseDir: dirname(resolve(path)), name: parsed.data.name ?? basename(path, extname(path)) };
}

/** The most points one sweep expands to (each is a simulation; more is a mistake or several sweeps). */
const MAX_POINTS = 100_000;

/** Where a run config's own keys go in a sweep point (`evsim run` configs are flat). */
const RUN_CONFIG_KEYS: Readonly<Record<string, string>> = {
  threshold: 'policy.threshold', memory_loss: 'policy.name: memory-loss', bn_gamma: 'policy.bn_gamma', layers: 'policy.layers',
  mesh: 'mapping.mesh', placement: 'mapping.strategy', compare_dense: 'nothing (a sweep always compares against the dense network)',
  workers: "evsim sweep's --workers", trace: "evsim sweep's --out", trace_level: 'a key of the sweep itself, beside base:',
  outputs: 'nothing (a sweep keeps no outputs)',
};

/** For unknown top-level keys of a point that a run config has: where they go in a sweep. */
function runConfigHints(issues: readonly z.ZodIssue[]): string {
  const hints = issues.flatMap((i) =>
    i.code === 'unrecognized_keys' && i.path.length === 0 ? i.keys.filter((k) => Object.hasOwn(RUN_CONFIG_KEYS, k)).map((k) => `${k} → ${RUN_CONFIG_KEYS[k]}`) : []);
  return hints.length > 0 ? ` (run-config keys; in a sweep: ${hints.join(', ')})` : '';
}

/** A policy string in its one written form (the parser's own formatter), for point keys. */
function normalPolicy(text: string): string {
  return formatPolicy(parsePolicy(text));
}

/** True when path `a` equals `b` or is one of its ancestors. */
function isPrefix(a: readonly string[], b: readonly string[]): boolean {
  return a.length <= b.length && a.every((n, i) => n === b[i]);
}

/**
 * Expands a sweep into resolved points. `where` names the sweep in messages (its file);
 * relative paths resolve against `baseDir`.
 */
export function expandSweep(input: SweepSpec, opts: { baseDir: string; name: string; where?: string }): ExpandedSweep {
  const where = opts.where ?? `sweep '${opts.name}'`;
  // An object built by JSON.parse may hold a `__proto__` key that the schema would drop.
  const proto = protoKeyPath(input);
  if (proto !== null) throw new EvsimError('BAD_CONFIG', `${where}: ${proto}: '__proto__' is not a key a sweep can hold; remove it`);
  const parsed = sweepSchema.safeParse(input);
  if (!parsed.success) throw new EvsimError('BAD_CONFIG', formatIssues(where, parsed.error.issues));
  const spec = parsed.data;

  const assignments: Record<string, unknown>[] = [];
  /** Where each assignment came from: 'grid' or 'points[i]' (for the duplicate notes). */
  const origins: string[] = [];
  const paths: string[] = [];
  const addPath = (p: string, ctx: string): void => {
    try {
      pathNames(pointSchema, p); // names a field of a point, or throws listing those there
    } catch (e) {
      throw new EvsimError('BAD_CONFIG', `${where}: ${ctx}: ${(e as Error).message}`);
    }
    if (!paths.includes(p)) paths.push(p);
  };
  const grid = Object.entries(spec.grid ?? {});
  for (const [p] of grid) addPath(p, 'grid');
  const size = grid.reduce((n, [, values]) => n * values.length, 1);
  if (grid.length > 0 && size + (spec.points?.length ?? 0) > MAX_POINTS) {
    throw new EvsimError('BAD_CONFIG', `${where}: grid: ${grid.map(([, v]) => v.length).join(' × ')} = ${size} points, more than one sweep runs (${MAX_POINTS}); split it into several sweeps`);
  }
  // Cartesian product, the last grid key varying fastest.
  let combos: Record<string, unknown>[] = [{}];
  for (const [p, values] of grid) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [p]: v })));
  if (grid.length > 0) {
    for (const c of combos) {
      assignments.push(c);
      origins.push('grid');
    }
  }
  (spec.points ?? []).forEach((pt, i) => {
    for (const p of Object.keys(pt)) addPath(p, `points[${i}]`);
    assignments.push(pt);
    origins.push(`points[${i}]`);
  });
  if (assignments.length === 0) {
    assignments.push({});
    origins.push('base');
  }

  // Normalise shorthands in the base, then check its own paths the same way.
  const base: Record<string, unknown> = structuredClone(spec.base);
  if (typeof base.chip === 'string') base.chip = { preset: base.chip };
  if (typeof base.policy === 'string') base.policy = { name: base.policy };
  const baseSetsMesh = isPlainObject(base.chip) && Object.hasOwn(base.chip, 'mesh');
  const isMeshPath = (p: string): boolean => p === 'chip.mesh' || p.startsWith('chip.mesh.');

  const inputs = new SweepInputs();
  // Chip presets and files are read once per sweep, not once per point.
  const chipFiles = new Map<string, unknown>();
  const chipFile = (path: string): unknown => {
    if (!chipFiles.has(path)) chipFiles.set(path, loadChipRaw(path).raw);
    return structuredClone(chipFiles.get(path));
  };
  const all: ResolvedPoint[] = assignments.map((assign, index) => {
    const doc = structuredClone(base);
    const params: Record<string, unknown> = {};
    const set: { p: string; names: readonly string[] }[] = [];
    for (const [p, v] of Object.entries(assign)) {
      const names = pathNames(pointSchema, canonicalPath(p, v));
      // One assignment inside another (policy and policy.threshold, chip: truenorth and
      // chip.preset): whichever came last would win and the other's column would lie.
      const over = set.find((o) => isPrefix(o.names, names) || isPrefix(names, o.names));
      if (over) {
        throw new EvsimError('BAD_CONFIG', `${where}: ${origins[index]}: '${over.p}' and '${p}' set the same field (one holds the other); keep one of them, or give the object's fields as paths of their own`);
      }
      set.push({ p, names });
      setPath(doc, names, v);
      params[p] = v;
    }
    const label = Object.entries(params).map(([p, v]) => `${p}=${fmtValue(v)}`).join(' ') || 'base';
    const ctx = `${where}: point ${index + 1} (${label})`;
    const pd = pointSchema.safeParse(doc);
    if (!pd.success) throw new EvsimError('BAD_CONFIG', `${formatIssues(ctx, pd.error.issues)}${runConfigHints(pd.error.issues)}`);
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
      chipRaw = deepMerge(chipFile(isChipFile(presetName) ? abs(presetName) : presetName), over);
    } catch (e) {
      throw new EvsimError('BAD_CONFIG', `${ctx}: chip.preset: ${(e as Error).message}`);
    }
    const pc = chipSchema.safeParse(chipRaw);
    if (!pc.success) throw new EvsimError('BAD_CONFIG', formatIssues(ctx, pc.error.issues, ['chip']));
    const chip: ChipSpec = chipFromObject(chipRaw, 'chip');
    // A point that sets the chip's mesh is placed on it; otherwise the mesh grows to fit.
    const meshSetting = d.mapping.mesh ?? ((baseSetsMesh || Object.keys(params).some(isMeshPath)) && chip.mesh ? 'chip' : 'auto');
    let mesh: ResolvedPoint['mesh'];
    if (meshSetting === 'auto') mesh = 'auto';
    else if (meshSetting === 'chip') {
      if (!chip.mesh) throw new EvsimError('BAD_CONFIG', `${ctx}: mapping.mesh is 'chip' but the chip's mesh is auto; set chip.mesh.width and chip.mesh.height`);
      mesh = chip.mesh;
    } else {
      // The schema admitted only positive WxH here.
      mesh = parseMeshSize(meshSetting)!;
    }

    const model = abs(d.model);
    const modelOutput = d.model_output ?? null;
    const m = inputs.model(model, modelOutput, ctx);
    const mk = modelKey(model, modelOutput);
    const layers: ResolvedPoint['layers'] = {};
    for (const [name, o] of Object.entries(d.policy.layers ?? {})) layers[name] = { threshold: o.threshold, policy: o.policy, channelThresholds: o.channel_thresholds };
    if (!isFree(chip)) inputs.onChip(mk, m, ctx);
    inputs.gates(mk, m, { policy: d.policy.name, threshold: d.policy.threshold, bnGamma: d.policy.bn_gamma, layers }, ctx);
    const frames = d.frames ? abs(d.frames) : null;
    const labels = d.labels ? abs(d.labels) : null;
    let framesHash: string | null = null;
    let labelsHash: string | null = null;
    if (frames) {
      const f = inputs.frames(frames, m, ctx);
      framesHash = f.hash;
      if (labels) labelsHash = inputs.labels(labels, f.count, m, ctx);
    }
    if (d.workload) inputs.workload(d.workload, m, ctx);
    const resolved: Omit<ResolvedPoint, 'index' | 'key' | 'params' | 'label'> = {
      model,
      modelOutput,
      modelHash: m.hash,
      frames,
      framesHash,
      labels,
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
      traceLevel: spec.trace_level ?? 'summary',
    };
    // The key covers what determines the stored results: the chip as its resolved fields,
    // model, frames and labels by content (not path), and what the run records.
    // (framesHash stands in for frames; left out as a field of its own, so keys stay as they were.)
    // (modelOutput likewise: the model's id below holds it.)
    // Policies by what they mean, not how they are written: 'reset:4,memory-loss',
    // ' memory-loss , reset:4' and 'memory-loss,reset:4' are one configuration, as are
    // 'threshold' and 'threshold,chunk:1' (each was checked above, so each parses).
    const { framesHash: _framesHash, modelOutput: _modelOutput, ...keyed } = resolved;
    const keyedLayers = Object.fromEntries(Object.entries(layers).map(([n, o]) => [n, o.policy === undefined ? o : { ...o, policy: normalPolicy(o.policy) }]));
    const key = createHash('sha256')
      .update(canonical({ ...keyed, policy: normalPolicy(d.policy.name), layers: keyedLayers, chip: chipRaw, model: modelId(m.hash, modelOutput), modelHash: undefined, frames: framesHash, labels: labelsHash }))
      .digest('hex')
      .slice(0, 24);
    return { index, key, params, label, ...resolved };
  });

  // Equal configurations (a repeated grid value, a points: entry equal to a grid point)
  // would store the same results twice: each runs once, the repeats are reported. Points
  // keep their number in the file's order (the one checks name), so a repeat leaves a gap.
  const byKey = new Map<string, ResolvedPoint>();
  const duplicates: ExpandedSweep['duplicates'] = [];
  const points: ResolvedPoint[] = [];
  for (const p of all) {
    const first = byKey.get(p.key);
    if (first) duplicates.push({ index: p.index, label: p.label, from: origins[p.index]!, sameAs: first.index });
    else {
      byKey.set(p.key, p);
      points.push(p);
    }
  }

  const pareto = spec.pareto ?? null;
  // Presets are names; files are what an output must not overwrite.
  const chipFilesRead = [...chipFiles.keys()].filter(isChipFile);
  return { name: opts.name, points, paths, pareto, duplicates, chipFiles: chipFilesRead };
}
