/**
 * The run configuration: one typed schema (zod), one validator that reports every
 * problem with its path, then defaults. CLI flags override file values; bad input
 * never reaches the simulator.
 */
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isChipFile } from './chip-config.js';
import { z } from 'zod';
import { EvsimError, shownValue, withArticle } from '../errors.js';
import { readYamlFile } from './yaml-file.js';

const layerOverride = z
  .object({
    threshold: z.number().min(0).finite().optional(),
    policy: z.string().optional(),
    channel_thresholds: z.array(z.number().min(0).finite()).optional(),
  })
  .strict();

/**
 * An enum whose error says the values it takes and the value given ("must be 'summary',
 * 'cores' or 'events', got "verbose""), not zod's "Invalid enum value"; `why` explains a
 * value the caller knows to be tempting.
 */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, why: (given: unknown) => string = () => ''): z.ZodEnum<[T[number], ...T[number][]]> {
  const listed = values.map((v) => `'${v}'`);
  const words = listed.length > 1 ? `${listed.slice(0, -1).join(', ')} or ${listed[listed.length - 1]}` : listed[0];
  return z.enum(values as unknown as [T[number], ...T[number][]], { errorMap: (_issue, ctx) => ({ message: `must be ${words}, got ${shownValue(ctx.data)}${why(ctx.data)}` }) });
}

export const runConfigSchema = z
  .object({
    model: z.string().min(1).optional(),
    model_output: z.string().min(1).optional(),
    frames: z.string().min(1).optional(),
    labels: z.string().min(1).optional(),
    max_frames: z.number().int().positive().optional(),
    threshold: z.number().min(0).finite().optional(),
    policy: z.string().optional(),
    memory_loss: z.boolean().optional(),
    bn_gamma: z.boolean().optional(),
    layers: z.record(layerOverride).optional(),
    chip: z.string().optional(),
    mesh: z.string().regex(/^(auto|0*[1-9]\d*x0*[1-9]\d*)$/, "must be 'auto' or WxH with W, H ≥ 1, e.g. 8x4").optional(),
    placement: z.enum(['snake', 'hilbert']).optional(),
    dense: z.boolean().optional(),
    compare_dense: z.boolean().optional(),
    workers: z.number().int().positive().optional(),
    trace: z.union([z.string().min(1), z.literal(false)]).optional(),
    trace_level: oneOf(['summary', 'cores', 'events']).optional(),
    outputs: z.string().min(1).optional(),
  })
  .strict();

export type RunConfigFile = z.infer<typeof runConfigSchema>;

/** Fully resolved run settings (defaults of DESIGN §8 applied). */
export interface RunSettings {
  model: string;
  /** The model output simulated, by name (a model with several outputs); null: its only one. */
  modelOutput: string | null;
  frames: string | null;
  labels: string | null;
  maxFrames: number | null;
  threshold: number;
  policy: string;
  bnGamma: boolean;
  layers: Record<string, { threshold?: number; policy?: string; channelThresholds?: number[] }>;
  chip: string;
  mesh: string;
  placement: 'snake' | 'hilbert';
  dense: boolean;
  compareDense: boolean;
  workers: number;
  trace: string | null;
  traceLevel: 'summary' | 'cores' | 'events';
  outputs: string | null;
}

export const DEFAULT_THRESHOLD = 0.05;

/** What a union accepts, in words from its members' type errors (nested unions included): "a string or false". */
function unionExpected(i: z.ZodInvalidUnionIssue): string {
  const words: string[] = [];
  const walk = (u: z.ZodInvalidUnionIssue): void => {
    for (const e of u.unionErrors) {
      for (const v of e.issues) {
        if (v.code === 'invalid_union') {
          walk(v);
          continue;
        }
        const w = v.code === 'invalid_type' ? withArticle(v.expected) : v.code === 'invalid_literal' ? JSON.stringify(v.expected) : v.code === 'invalid_enum_value' ? v.options.map((o) => JSON.stringify(o)).join(' or ') : null;
        if (w && !words.includes(w)) words.push(w);
      }
    }
  };
  walk(i);
  return words.length > 0 ? words.join(' or ') : 'a valid value';
}

/** Whether a union failed on a NaN (YAML .nan): said as such, not as "must be a number or …". */
function unionGotNaN(i: z.ZodInvalidUnionIssue): boolean {
  return i.unionErrors.some((e) => e.issues.some((v) => (v.code === 'invalid_type' && v.received === 'nan') || (v.code === 'invalid_union' && unionGotNaN(v))));
}

/** Formats zod issues as one line: `where: path message; path message`. */
export function formatIssues(where: string, issues: z.ZodIssue[], prefix: readonly (string | number)[] = []): string {
  return `${where}: ${issues.map((i) => issueText(i, prefix)).join('; ')}`;
}

/** One zod issue in words, naming its path (under `prefix`: a sweep point's chip is checked as a chip file). */
function issueText(i: z.ZodIssue, prefix: readonly (string | number)[]): string {
  const path = [...prefix, ...i.path].join('.');
  // The value had the form of one member (a mesh object) and failed inside it (a field,
  // or a key it does not have): what failed there (mesh.height is missing), not every
  // member's type (was: "must be "auto" or a number").
  const inside = (v: z.ZodIssue): boolean => v.path.length > i.path.length || (v.code === 'unrecognized_keys' && v.path.length === i.path.length);
  const inner = i.code === 'invalid_union' ? i.unionErrors.find((e) => e.issues.length > 0 && e.issues.every(inside)) : undefined;
  if (inner) return inner.issues.map((v) => issueText(v, prefix)).join('; ');
  if (i.code === 'unrecognized_keys') return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${path ? `${path}.` : ''}${k}'`).join(', ')}`;
  if (i.code === 'invalid_type' && i.received === 'undefined') return `${path} is missing`;
  if (i.code === 'invalid_union') return unionGotNaN(i) ? `${path || '(top level)'} is NaN; give a number` : `${path || '(top level)'} must be ${unionExpected(i)}`;
  if (i.code === 'invalid_type' && i.received === 'nan') return `${path} is NaN; give a number`;
  if (i.code === 'invalid_union_discriminator') return `${path} must be ${i.options.map((o) => `'${String(o)}'`).join(' or ')}`;
  // YAML reads 8x4-like typos such as 0x3 (hex) or 1e3 as numbers.
  if (i.code === 'invalid_type' && i.expected === 'string' && i.received === 'number') return `${path} must be a string, got a number${/mesh$/.test(path) ? " (quote it in YAML, e.g. '8x4')" : ''}`;
  return `${path || '(top level)'} ${i.message.replace(/^Number must be/, 'must be').replace(/^Expected/, 'expected')}`;
}

/** Reads and validates a YAML run config; relative paths resolve against its folder. */
export function loadRunConfig(path: string): RunConfigFile {
  const raw = readYamlFile(path, 'config', 'BAD_CONFIG');
  const parsed = runConfigSchema.safeParse(raw);
  if (!parsed.success) throw new EvsimError('BAD_CONFIG', formatIssues(path, parsed.error.issues));
  const cfg = parsed.data;
  const base = dirname(path);
  const abs = (p: string | undefined): string | undefined => (p === undefined || isAbsolute(p) ? p : resolve(base, p));
  return {
    ...cfg,
    model: abs(cfg.model),
    frames: abs(cfg.frames),
    labels: abs(cfg.labels),
    outputs: abs(cfg.outputs),
    trace: typeof cfg.trace === 'string' ? abs(cfg.trace) : cfg.trace,
    // A chip file, like the other files, is found beside the config; a preset is a name.
    chip: cfg.chip !== undefined && isChipFile(cfg.chip) ? abs(cfg.chip) : cfg.chip,
  };
}

/** Merges file values and flag overrides (flags win) and applies the defaults. */
export function resolveSettings(file: RunConfigFile, flags: RunConfigFile & { trace?: string | false }, defaultTrace: (model: string) => string): RunSettings {
  const pick = <K extends keyof RunConfigFile>(k: K): RunConfigFile[K] => (flags[k] !== undefined ? flags[k] : file[k]);
  const model = pick('model');
  if (!model) throw new EvsimError('BAD_USAGE', 'no model given: pass --model M.onnx or set model: in the config file');
  // The policy is one setting, written as `policy` and `memory_loss`: a command line that
  // sets either (--policy, --memory-loss) replaces the config's, both keys, as a whole.
  const flagPolicy = flags.policy !== undefined || flags.memory_loss === true;
  let policy = (flagPolicy ? flags.policy : file.policy) ?? 'threshold';
  const memoryLoss = flagPolicy ? flags.memory_loss === true : (flags.memory_loss ?? file.memory_loss);
  if (memoryLoss) {
    // --memory-loss is short for --policy memory-loss; it keeps chunk:C / reset:N parts.
    const parts = policy.split(',').map((p) => p.trim()).filter((p) => p !== '' && p !== 'threshold');
    if (parts.includes('rounding')) {
      const [ml, pol] = flagPolicy ? ['--memory-loss', `--policy ${policy}`] : ['memory_loss: true', `policy: ${policy} (config)`];
      throw new EvsimError('BAD_USAGE', `${ml} conflicts with ${pol}: memory loss does not apply to rounding`);
    }
    if (!parts.includes('memory-loss')) parts.unshift('memory-loss');
    policy = parts.join(',');
  }
  const trace = pick('trace');
  // A level for a trace that is off: refused as --trace-level with --no-trace is, unless
  // --no-trace overrides a config's trace (its level goes with it).
  const level = pick('trace_level');
  if (trace === false && level !== undefined && !(flags.trace === false && flags.trace_level === undefined)) {
    const off = flags.trace === false ? '--no-trace' : 'trace: false in the config';
    const lvl = flags.trace_level !== undefined ? `--trace-level ${level}` : `trace_level: ${level}`;
    throw new EvsimError('BAD_USAGE', `${lvl} with ${off}: no trace is written; drop one of them${flags.trace === false ? '' : ' (or pass --trace PATH)'}`);
  }
  const layers: RunSettings['layers'] = {};
  for (const [name, o] of Object.entries(pick('layers') ?? {})) {
    layers[name] = { threshold: o.threshold, policy: o.policy, channelThresholds: o.channel_thresholds };
  }
  return {
    model,
    modelOutput: pick('model_output') ?? null,
    frames: pick('frames') ?? null,
    labels: pick('labels') ?? null,
    maxFrames: pick('max_frames') ?? null,
    threshold: pick('threshold') ?? DEFAULT_THRESHOLD,
    policy,
    bnGamma: pick('bn_gamma') ?? false,
    layers,
    chip: pick('chip') ?? 'loihi',
    mesh: pick('mesh') ?? 'auto',
    placement: pick('placement') ?? 'snake',
    dense: pick('dense') ?? false,
    compareDense: pick('compare_dense') ?? false,
    workers: pick('workers') ?? Math.min(2, availableParallelism()),
    trace: trace === false ? null : trace ?? defaultTrace(model),
    traceLevel: pick('trace_level') ?? 'cores',
    outputs: pick('outputs') ?? null,
  };
}
