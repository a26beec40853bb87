/**
 * `simulate()`: the library entry point behind `evsim run`. Loads and checks every
 * input first (bad input throws EvsimError before any work), then runs. It sits above
 * runtime/ and trace/: given a trace path it makes the SQLite sink that the runtime
 * takes as a TraceSink (DESIGN §6: the runtime never imports trace/).
 */
import { basename, resolve } from 'node:path';
import { EvsimError, shownValue } from './errors.js';
import { assertWritable, fileHash } from './files.js';
import type { LayerOverride } from './model/evnet/engine.js';
import { formatPolicy, parsePolicy } from './model/evnet/policy.js';
import type { Graph } from './model/ir.js';
import { checkFinite, loadOnnx } from './model/onnx/import.js';
import { writeNpy } from './workloads/npy.js';
import { availableParallelism } from 'node:os';
import { parseMeshSize, type PlacementStrategy } from './chip/mapper.js';
import { isFree, type ChipSpec } from './chip/spec.js';
import type { ChipDoc } from './config/chip-config.js';
import { runChip } from './runtime/chip/run-chip.js';
import { runFunctional } from './runtime/functional.js';
import type { TraceSink } from './runtime/trace-sink.js';
import { checkFrames, checkLabels, loadFrames, loadLabels, type Frames } from './runtime/inputs.js';
import type { RunResult } from './runtime/result.js';

export interface SimulateOptions {
  /** An .onnx path or an imported graph. */
  model: string | Graph;
  /** The output of a model file with several to simulate, by name (each from its own branch); null: its only one. */
  modelOutput?: string | null;
  /** A float32 .npy path or an in-memory [T, ...input shape] array. */
  frames: string | { shape: number[]; data: Float32Array };
  labels?: string | Int32Array | null;
  maxFrames?: number | null;
  threshold?: number;
  /** e.g. 'threshold', 'memory-loss,reset:8', 'rounding', 'chunk:4'. */
  policy?: string;
  bnGamma?: boolean;
  layers?: Record<string, LayerOverride>;
  /**
   * A preset name, a chip YAML path, a chip in the file format (e.g. `{ preset: 'loihi',
   * core: { neurons: 256 } }`), or a ChipSpec from loadChip (default 'loihi').
   */
  chip?: string | ChipSpec | ChipDoc;
  /** auto (grow to fit, default) or a fixed mesh: { width, height } or 'WxH'. */
  mesh?: 'auto' | `${number}x${number}` | { width: number; height: number };
  placement?: PlacementStrategy;
  /** Worker threads for the chip's core-group actors (default min(2, cores)). */
  workers?: number;
  /** Charge the chip as the conventional network (re-flush every frame). */
  dense?: boolean;
  compareDense?: boolean;
  /**
   * The dense network's outputs for these frames ([T × output size]), computed once and
   * shared (a sweep's points); implies compareDense without re-running the dense network.
   */
  denseOutputs?: Float32Array | null;
  /** Write [T, ...output shape] float32 .npy here. */
  outputs?: string | null;
  /** Return the outputs in `result.outputs` ([T × output size]) without writing a file. */
  keepOutputs?: boolean;
  onFrame?: (done: number, total: number) => void;
  /**
   * Stops the run: frames already started finish, the run resolves with `interrupted:
   * true` and the frames done (it does not reject). Looked at between frames; an
   * `inProcess` run keeps the calling thread busy, so there only an abort made from
   * `onFrame` is seen.
   */
  signal?: AbortSignal;
  /** Run the chip's actors on the calling thread (no worker threads). */
  inProcess?: boolean;
  /**
   * Where to record the run: a SQLite path (appended to, as `evsim run --trace`), a
   * TraceSink, or null/absent for none.
   */
  trace?: string | TraceSink | null;
  /** With `trace` as a path: what it records (default 'cores'). */
  traceLevel?: 'summary' | 'cores' | 'events';
  /** Recorded with the run in the trace. */
  config?: unknown;
  /**
   * The model's content hash for the trace, when `model` is an imported graph whose file
   * is known to the caller (default: the hash of the .onnx path, or 'in-memory').
   */
  modelHash?: string;
}

/** EVSIM_INJECT_FAULT=actor:frame makes that actor fail (for testing failure handling). */
function faultFromEnv(): { actor: number; frame: number } | null {
  const m = /^(\d+):(\d+)$/.exec(process.env.EVSIM_INJECT_FAULT ?? '');
  return m ? { actor: Number(m[1]), frame: Number(m[2]) } : null;
}

export interface SimulateResult extends RunResult {
  interrupted: boolean;
  outputs: Float32Array | null;
  outputShape: number[];
}

/** The mesh option as the mapper takes it. */
function meshOf(mesh: SimulateOptions['mesh']): 'auto' | { width: number; height: number } {
  if (mesh === undefined || mesh === 'auto') return 'auto';
  const wh = typeof mesh === 'string' ? parseMeshSize(mesh) : typeof mesh === 'object' && mesh !== null ? mesh : null;
  if (!wh || !Number.isInteger(wh.width) || !Number.isInteger(wh.height) || wh.width < 1 || wh.height < 1) {
    throw new EvsimError('BAD_USAGE', `mesh must be 'auto', 'WxH' or { width, height } of positive integers, got ${shownValue(mesh)}`);
  }
  return { width: wh.width, height: wh.height };
}

/** Whether `v` works as an AbortSignal (one from another realm or a polyfill too): simulate() and sweep() check their `signal` so. */
export function isAbortSignal(v: unknown): v is AbortSignal {
  const s = v as Partial<AbortSignal> | null;
  return typeof s === 'object' && s !== null && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function';
}

/** The options a caller can get wrong without a type error (plain JS, computed values). */
function checkOptions(opts: SimulateOptions): void {
  // Plain JavaScript callers get an EvsimError naming the option, not a TypeError deep inside.
  if (opts === null || typeof opts !== 'object') throw new EvsimError('BAD_USAGE', 'simulate() takes an options object: { model, frames, … }');
  if (typeof opts.model !== 'string' && (opts.model === null || typeof opts.model !== 'object')) {
    throw new EvsimError('BAD_USAGE', `no model given: model must be an ONNX file path or an imported graph, got ${shownValue(opts.model)}`);
  }
  if (opts.policy !== undefined && typeof opts.policy !== 'string') throw new EvsimError('BAD_USAGE', `policy must be a string such as 'threshold' or 'memory-loss,reset:8', got ${shownValue(opts.policy)}`);
  if (opts.layers !== undefined && (opts.layers === null || typeof opts.layers !== 'object' || Array.isArray(opts.layers))) {
    throw new EvsimError('BAD_USAGE', `layers must be an object of per-gate settings ({ gate: { threshold, policy } }), got ${shownValue(opts.layers)}`);
  }
  for (const [gate, ov] of Object.entries(opts.layers ?? {})) {
    const o = ov as unknown as Record<string, unknown>;
    if (o === null || typeof o !== 'object') throw new EvsimError('BAD_USAGE', `layers.${gate} must be an object { threshold, policy, channelThresholds }, got ${shownValue(ov)}`);
    const unknown = Object.keys(o).filter((k) => !['threshold', 'policy', 'channelThresholds'].includes(k));
    if (unknown.length > 0) throw new EvsimError('BAD_USAGE', `layers.${gate}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (the library spells them threshold, policy, channelThresholds)`);
    if (o.threshold !== undefined && typeof o.threshold !== 'number') throw new EvsimError('BAD_USAGE', `layers.${gate}.threshold must be a number, got ${shownValue(o.threshold)}`);
    if (o.policy !== undefined && typeof o.policy !== 'string') throw new EvsimError('BAD_USAGE', `layers.${gate}.policy must be a string, got ${shownValue(o.policy)}`);
    if (o.channelThresholds !== undefined && !(Array.isArray(o.channelThresholds) && o.channelThresholds.every((v) => typeof v === 'number'))) {
      throw new EvsimError('BAD_USAGE', `layers.${gate}.channelThresholds must be an array of numbers, one per channel, got ${shownValue(o.channelThresholds)}`);
    }
  }
  const positiveInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (opts.workers !== undefined && !positiveInt(opts.workers)) throw new EvsimError('BAD_USAGE', `workers must be a positive integer, got ${shownValue(opts.workers)}`);
  if (opts.maxFrames != null && !positiveInt(opts.maxFrames)) throw new EvsimError('BAD_USAGE', `maxFrames must be a positive integer, got ${shownValue(opts.maxFrames)}`);
  if (opts.threshold !== undefined && typeof opts.threshold !== 'number') throw new EvsimError('BAD_USAGE', `threshold must be a number ≥ 0, got ${shownValue(opts.threshold)}`);
  if (opts.outputs != null && (typeof opts.outputs !== 'string' || opts.outputs === '')) {
    throw new EvsimError('BAD_USAGE', `outputs must be the path of an .npy file to write (or absent for none), got ${shownValue(opts.outputs)}`);
  }
  if (opts.trace === '') throw new EvsimError('BAD_USAGE', 'trace must be a file path, a TraceSink or null for none, got ""');
  if (opts.signal !== undefined && !isAbortSignal(opts.signal)) throw new EvsimError('BAD_USAGE', `signal must be an AbortSignal, got ${shownValue(opts.signal)}`);
  if (opts.placement !== undefined && opts.placement !== 'snake' && opts.placement !== 'hilbert') {
    throw new EvsimError('BAD_USAGE', `placement must be 'snake' or 'hilbert', got ${shownValue(opts.placement)}`);
  }
  if (opts.traceLevel !== undefined && !['summary', 'cores', 'events'].includes(opts.traceLevel)) {
    throw new EvsimError('BAD_USAGE', `traceLevel must be 'summary', 'cores' or 'events', got ${shownValue(opts.traceLevel)}`);
  }
  const g = opts.model as Partial<Graph>;
  if (typeof opts.model === 'object' && !(Array.isArray(g.tensors) && Array.isArray(g.nodes) && g.tensors[g.input as number] !== undefined && g.tensors[g.output as number] !== undefined)) {
    throw new EvsimError('BAD_USAGE', 'model must be an ONNX file path or a graph from loadOnnx(), got another object');
  }
  for (const k of ['dense', 'compareDense', 'keepOutputs', 'bnGamma', 'inProcess'] as const) {
    if (opts[k] !== undefined && typeof opts[k] !== 'boolean') throw new EvsimError('BAD_USAGE', `${k} must be true or false, got ${shownValue(opts[k])}`);
  }
  if (opts.onFrame !== undefined && typeof opts.onFrame !== 'function') throw new EvsimError('BAD_USAGE', `onFrame must be a function (done, total) => void, got ${typeof opts.onFrame}`);
}

/** What a run started from the library records as its configuration (the CLI passes its resolved config). */
function apiConfig(opts: SimulateOptions, chip: unknown, chipSpec: unknown, threshold: number): Record<string, unknown> {
  const file = (v: unknown): unknown => (typeof v === 'string' ? resolve(v) : v == null ? null : '(in memory)');
  // The CLI's spelling (its resolved settings), so one query reads runs from either.
  return {
    model: file(opts.model), modelOutput: opts.modelOutput ?? null, frames: file(opts.frames), labels: file(opts.labels), maxFrames: opts.maxFrames ?? null,
    threshold, policy: opts.policy ?? 'threshold', bnGamma: opts.bnGamma ?? false, layers: opts.layers ?? {}, chip,
    mesh: opts.mesh ?? 'auto', placement: opts.placement ?? 'snake', dense: opts.dense ?? false, compareDense: opts.compareDense ?? false,
    chip_spec: chipSpec,
  };
}

export async function simulate(opts: SimulateOptions): Promise<SimulateResult> {
  checkOptions(opts);
  const mesh = meshOf(opts.mesh);
  const modelOutput = opts.modelOutput ?? undefined;
  if (modelOutput !== undefined && typeof modelOutput !== 'string') throw new EvsimError('BAD_USAGE', `modelOutput must be the name of a model output, got ${shownValue(modelOutput)}`);
  if (modelOutput !== undefined && typeof opts.model !== 'string') throw new EvsimError('BAD_USAGE', 'modelOutput chooses an output of a model file; an imported graph has its one output already');
  const graph = typeof opts.model === 'string' ? loadOnnx(opts.model, modelOutput) : opts.model;
  // A graph built or edited in code is checked as an imported one is: no NaN or infinite constants.
  if (typeof opts.model !== 'string') checkFinite(graph, `graph '${graph.name}'`);
  const threshold = opts.threshold ?? 0.05;
  if (!(threshold >= 0) || !Number.isFinite(threshold)) {
    throw new EvsimError('BAD_POLICY', `threshold must be a number ≥ 0, got ${threshold}`);
  }
  const policy = parsePolicy(opts.policy ?? 'threshold');
  // What the trace records as the run's policy (before a dense run's settings change it).
  const policyName = opts.dense ? 'dense' : formatPolicy(policy);
  // Chip files are YAML: the parser is loaded only for a chip given by name or path.
  const chipConfig = await import('./config/chip-config.js');
  const chip = chipConfig.resolveChip(opts.chip);
  if (opts.dense) {
    // The conventional network on the same chip (DESIGN §5): every frame re-flushes, so
    // every neuron updates, and every neuron transmits, zeros included.
    policy.resetEvery = 1;
    policy.sendAll = true;
  }
  if (opts.frames === '' || opts.frames == null) throw new EvsimError('BAD_USAGE', 'no frames given: frames must be an .npy path or { shape, data } (float32 [T, ...input shape])');
  const frames: Frames = typeof opts.frames === 'string'
    ? loadFrames(graph, opts.frames)
    : checkFrames(graph, opts.frames.shape, opts.frames.data, 'frames');
  if (opts.outputs) assertWritable(opts.outputs, 'outputs');
  const count = Math.min(frames.count, opts.maxFrames ?? Infinity);
  const classes = graph.tensors[graph.output]!.size;
  if (opts.denseOutputs && !(opts.denseOutputs instanceof Float32Array && opts.denseOutputs.length >= count * classes)) {
    throw new EvsimError('BAD_USAGE', `denseOutputs must be a Float32Array of the ${count} frames' dense outputs (${count} × ${classes} values), got ${opts.denseOutputs instanceof Float32Array ? `${opts.denseOutputs.length} values` : typeof opts.denseOutputs}`);
  }
  const labels = opts.labels == null ? null
    : typeof opts.labels === 'string' ? loadLabels(opts.labels, frames.count, classes) : checkLabels(opts.labels, frames.count, classes, 'labels');
  let sink: TraceSink | null = null;
  if (typeof opts.trace === 'string') {
    const [{ checkTracePath }, { SqliteTraceSink }, { evsimVersion }] = await Promise.all([
      import('./trace/paths.js'), import('./trace/sqlite-sink.js'), import('./version.js'),
    ]);
    checkTracePath(opts.trace, 'trace', 'give another trace path (or none)');
    sink = new SqliteTraceSink(opts.trace, opts.traceLevel ?? 'cores', evsimVersion());
  } else if (opts.trace == null) {
    sink = null;
  } else if (typeof opts.trace === 'object' && ['begin', 'frame', 'end'].every((m) => typeof (opts.trace as unknown as Record<string, unknown>)[m] === 'function')) {
    sink = opts.trace;
  } else {
    throw new EvsimError('BAD_USAGE', `trace must be a file path, a TraceSink or null, got ${typeof opts.trace}`);
  }
  const modelPath = typeof opts.model === 'string' ? opts.model : null;
  // A chip file by its absolute path, like the other files; a preset by its name.
  const chipNamed = typeof opts.chip === 'string' ? (chipConfig.isChipFile(opts.chip) ? resolve(opts.chip) : opts.chip) : chipConfig.chipForTrace(opts.chip ?? 'loihi');
  const trace = sink
    ? { sink, info: { model: modelPath ? basename(modelPath, '.onnx') : graph.name, modelHash: opts.modelHash ?? (modelPath ? hashModel(modelPath) : 'in-memory'), chip: chip.name, policy: policyName, threshold: opts.dense ? null : threshold, config: opts.config ?? apiConfig(opts, chipNamed, chipConfig.chipForTrace(chip), threshold), frames: count } }
    : null;
  const common = {
    threshold, policy, bnGamma: opts.bnGamma, layers: opts.layers, labels,
    keepOutputs: !!opts.outputs || !!opts.keepOutputs, onFrame: opts.onFrame, shouldStop: opts.signal ? () => opts.signal!.aborted : undefined, trace,
  };
  let run;
  try {
    run = isFree(chip)
      ? await runFunctional(graph, frames, count, { ...common, compareDense: opts.compareDense, denseOutputs: opts.denseOutputs })
      : await runChip(graph, frames, count, {
          ...common, chip, mesh, placement: opts.placement, compareDense: opts.compareDense, denseOutputs: opts.denseOutputs,
          workers: opts.workers ?? Math.min(2, availableParallelism()), inProcess: opts.inProcess, injectFault: faultFromEnv(),
        });
  } catch (e) {
    await sink?.end('failed', (e as Error).message).catch(() => undefined);
    throw e;
  }
  // The outputs file is written before the trace calls the run completed: a run whose
  // outputs could not be saved is a failed run.
  if (opts.outputs && run.outputs) {
    try {
      writeNpy(opts.outputs, { shape: run.outputShape, data: run.outputs });
    } catch (e) {
      await sink?.end('failed', (e as Error).message).catch(() => undefined);
      throw e;
    }
  }
  const err = run.result.error_vs_dense;
  await sink?.end(run.interrupted ? 'interrupted' : 'completed', undefined, { accuracy: run.result.accuracy, rel_rmse: err?.rel_rmse ?? null, max_abs: err?.max_abs ?? null });
  run.result.trace = sink ? sink.path : null;
  run.result.chip = chip.name;
  if (typeof opts.model === 'string') run.result.model = basename(opts.model, '.onnx');
  return { ...run.result, interrupted: run.interrupted, outputs: run.outputs, outputShape: run.outputShape };
}

/** The model file's hash for the trace ('unknown' when it cannot be read). */
function hashModel(path: string): string {
  try {
    return fileHash(path);
  } catch {
    return 'unknown';
  }
}
