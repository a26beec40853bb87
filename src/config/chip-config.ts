/**
 * Chip descriptions from YAML: a preset name (sim-configs/chips/<name>.yaml) or a file.
 * One schema, every problem reported with its path, then defaults.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { COST_KEYS, type ChipSpec, type CostKey } from './chip-spec.js';
import { EvsimError, shownValue } from '../errors.js';
import { deepMerge, isPlainObject } from './merge.js';
import { formatIssues } from './run-config.js';
import { readYamlFile } from './yaml-file.js';

/** sim-configs/chips, found from the compiled file (dist/src/config) or the source (src/config). */
function presetDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of [['..', '..'], ['..', '..', '..']]) {
    const dir = join(here, ...up, 'sim-configs', 'chips');
    if (existsSync(dir)) return dir;
  }
  return join(here, '..', '..', 'sim-configs', 'chips');
}

// One message for every wrong capacity (zod's union would say 'expected integer, received float' of .inf).
const CAPACITY = "must be a positive integer, or 'unlimited' for no limit";
const capacity = z.union([z.number().refine((v) => Number.isInteger(v) && v > 0, CAPACITY), z.literal('unlimited')], { errorMap: (i, ctx) => ({ message: i.code === 'invalid_union' ? CAPACITY : ctx.defaultError }) });
/** A count (mesh size, cores per tile): one message whatever is wrong with it. */
const count = z.number().refine((v) => Number.isInteger(v) && v > 0, 'must be a positive integer');
/**
 * Costs and times far beyond any hardware's (1e15 pJ is a kilojoule a synop) would overflow
 * a run's totals to infinity: capped so a typo fails here, naming the field.
 */
const MAX_FIGURE = 1e15;
const figure = z.number().min(0).max(MAX_FIGURE, `must be at most ${MAX_FIGURE} (far beyond any chip; is it a typo?)`);
const cost = z.object({ energy_pj: figure, latency_ns: figure }).strict();

export const chipSchema = z
  .object({
    name: z.string().min(1),
    mesh: z.union([z.literal('auto'), z.object({ width: count, height: count }).strict()]),
    cores_per_tile: count,
    core: z
      .object({
        neurons: capacity,
        synapse_bytes: capacity,
        fan_in: capacity.optional(),
        weight_bits: z.number().int().min(1).max(32),
        queue_depth: capacity,
      })
      .strict(),
    costs: z.object(Object.fromEntries(COST_KEYS.map((k) => [k, cost])) as Record<CostKey, typeof cost>).strict(),
    static_mw: figure.optional(),
    frame_period_ns: figure.optional(),
  })
  .strict();

export type ChipFile = z.infer<typeof chipSchema>;

const cap = (v: number | 'unlimited' | undefined): number => (v === undefined || v === 'unlimited' ? Infinity : v);

export function chipFromObject(raw: unknown, where: string): ChipSpec {
  const parsed = chipSchema.safeParse(raw);
  if (!parsed.success) throw new EvsimError('BAD_CHIP', formatIssues(where, parsed.error.issues));
  const c = parsed.data;
  return {
    name: c.name,
    mesh: c.mesh === 'auto' ? null : { width: c.mesh.width, height: c.mesh.height },
    coresPerTile: c.cores_per_tile,
    core: {
      neurons: cap(c.core.neurons),
      synapseBytes: cap(c.core.synapse_bytes),
      fanIn: cap(c.core.fan_in),
      queueDepth: cap(c.core.queue_depth),
      weightBits: c.core.weight_bits,
    },
    costs: Object.fromEntries(COST_KEYS.map((k) => [k, { energyPj: c.costs[k].energy_pj, latencyNs: c.costs[k].latency_ns }])) as ChipSpec['costs'],
    staticMw: c.static_mw ?? 0,
    framePeriodNs: c.frame_period_ns ?? 0,
  };
}

function presetNames(): string[] {
  return ['loihi', 'loihi-fitted', 'truenorth', 'ideal'];
}

/** Whether `--chip X` names a file rather than a preset. */
export function isChipFile(nameOrPath: string): boolean {
  return nameOrPath.endsWith('.yaml') || nameOrPath.endsWith('.yml') || nameOrPath.includes('/');
}

/**
 * The raw (unvalidated) YAML object of a preset or chip file, and how to name it in
 * errors. A file may start from a preset (or another file, relative to it) with
 * `preset: NAME` and set only what differs, as a sweep's chip does.
 */
export function loadChipRaw(nameOrPath: string, depth = 0): { raw: unknown; where: string } {
  const isFile = isChipFile(nameOrPath);
  const path = isFile ? nameOrPath : join(presetDir(), `${nameOrPath}.yaml`);
  if (!isFile && !existsSync(path)) {
    throw new EvsimError('BAD_CHIP', `unknown chip '${nameOrPath}'; use a preset (${presetNames().join(', ')}) or a YAML file`);
  }
  let raw = readYamlFile(path, 'chip', 'BAD_CHIP');
  if (isFile && isPlainObject(raw) && 'preset' in raw) {
    const { preset, ...over } = raw;
    if (typeof preset !== 'string') throw new EvsimError('BAD_CHIP', `${path}: preset must be a preset name (${presetNames().join(', ')}) or a chip file`);
    if (depth >= 8) throw new EvsimError('BAD_CHIP', `${path}: presets nest more than 8 files deep (does a file name itself?)`);
    const base = isChipFile(preset) && !isAbsolute(preset) ? resolve(dirname(path), preset) : preset;
    // Not the preset's chip any more: named after this file unless it names itself.
    raw = deepMerge(loadChipRaw(base, depth + 1).raw, { name: basename(path, extname(path)), ...over });
  }
  return { raw, where: isFile ? path : `chip '${nameOrPath}'` };
}

/** A chip in the file format as an object, any part omitted when `preset` (default none) supplies it. */
export type ChipDoc = { preset?: string } & { [K in keyof ChipFile]?: ChipFile[K] extends object ? { [J in keyof ChipFile[K]]?: ChipFile[K][J] extends object ? Partial<ChipFile[K][J]> : ChipFile[K][J] } : ChipFile[K] };

/** The file form of a chip description (capacities of Infinity as 'unlimited'). */
function chipToFile(c: ChipSpec): ChipFile {
  const cap = (v: number): number | 'unlimited' => (v === Infinity ? 'unlimited' : v);
  return {
    name: c.name, mesh: c.mesh ?? 'auto', cores_per_tile: c.coresPerTile,
    core: { neurons: cap(c.core.neurons), synapse_bytes: cap(c.core.synapseBytes), fan_in: cap(c.core.fanIn), weight_bits: c.core.weightBits, queue_depth: cap(c.core.queueDepth) },
    costs: Object.fromEntries(COST_KEYS.map((k) => [k, { energy_pj: c.costs[k].energyPj, latency_ns: c.costs[k].latencyNs }])) as ChipFile['costs'],
    static_mw: c.staticMw, frame_period_ns: c.framePeriodNs,
  };
}

/**
 * A chip given to the library: a preset name or chip file path, a description in the
 * file format (optionally `preset:` plus what differs), or a ChipSpec (as loadChip
 * returns) — each validated like a chip file, errors naming the field.
 */
export function resolveChip(chip: string | ChipSpec | ChipDoc | undefined): ChipSpec {
  if (chip === undefined) return loadChip('loihi');
  if (typeof chip === 'string') return loadChip(chip);
  if (!isPlainObject(chip)) throw new EvsimError('BAD_CHIP', 'chip must be a preset name, a chip file path or a chip description object');
  if ('coresPerTile' in chip) {
    let file: ChipFile;
    try {
      file = chipToFile(chip as ChipSpec);
    } catch {
      throw new EvsimError('BAD_CHIP', 'chip: an incomplete ChipSpec object; give a preset name, loadChip(...), or the file format ({ preset: \'loihi\', core: { neurons: 256 } })');
    }
    return chipFromObject(file, 'chip');
  }
  const { preset, ...over } = chip as ChipDoc;
  // Named after what changed: 'loihi (frame_period_ns)'; the preset's own name when nothing did.
  const leaves = (o: Record<string, unknown>, at: string): string[] =>
    Object.entries(o).flatMap(([k, v]) => (isPlainObject(v) ? leaves(v as Record<string, unknown>, `${at}${k}.`) : [`${at}${k}`]));
  const changed = leaves(over as Record<string, unknown>, '').filter((k) => k !== 'name');
  const base = preset === undefined ? {} : { ...(loadChipRaw(preset).raw as object), name: changed.length > 0 ? `${preset} (${changed.join(', ')})` : preset };
  return chipFromObject(deepMerge(base, over), preset === undefined ? 'chip' : `chip (preset ${preset})`);
}

/** Loads `--chip PRESET|FILE.yaml`. */
export function loadChip(nameOrPath: string): ChipSpec {
  if (typeof nameOrPath !== 'string' || nameOrPath === '') {
    throw new EvsimError('BAD_USAGE', `loadChip() takes a preset name (${presetNames().join(', ')}) or a chip YAML path, got ${shownValue(nameOrPath)}`);
  }
  const { raw, where } = loadChipRaw(nameOrPath);
  return chipFromObject(raw, where);
}

/** A chip (a ChipSpec, or a chip object as written) as a trace records it (runs.config_json): JSON, with unlimited capacities as 'unlimited' (JSON has no Infinity; it would read as null). */
export function chipForTrace(chip: unknown): unknown {
  return JSON.parse(JSON.stringify(chip, (_k, v: unknown) => (v === Infinity ? 'unlimited' : v)));
}
