/**
 * `simulate()`: the library entry point behind `evsim run`. Loads and checks every
 * input first (bad input throws EvsimError before any work), then runs.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { EvsimError } from '../errors.js';
import type { LayerOverride } from '../model/evnet/engine.js';
import { parsePolicy } from '../model/evnet/policy.js';
import type { Graph } from '../model/ir.js';
import { loadOnnx } from '../model/onnx/import.js';
import { writeNpy } from '../workloads/npy.js';
import { runFunctional } from './functional.js';
import { checkFrames, loadFrames, loadLabels, type Frames } from './inputs.js';
import type { RunResult } from './result.js';

export interface SimulateOptions {
  /** An .onnx path or an imported graph. */
  model: string | Graph;
  /** A float32 .npy path or an in-memory [T, ...input shape] array. */
  frames: string | { shape: number[]; data: Float32Array };
  labels?: string | Int32Array | null;
  maxFrames?: number | null;
  threshold?: number;
  /** e.g. 'threshold', 'memory-loss,reset:8', 'rounding', 'chunk:4'. */
  policy?: string;
  bnGamma?: boolean;
  layers?: Record<string, LayerOverride>;
  chip?: string;
  compareDense?: boolean;
  /** Write [T, ...output shape] float32 .npy here. */
  outputs?: string | null;
  onFrame?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface SimulateResult extends RunResult {
  interrupted: boolean;
  outputs: Float32Array | null;
  outputShape: number[];
}

export const CHIPS_PENDING = ['loihi', 'loihi-fitted', 'truenorth'];

export async function simulate(opts: SimulateOptions): Promise<SimulateResult> {
  const graph = typeof opts.model === 'string' ? loadOnnx(opts.model) : opts.model;
  const threshold = opts.threshold ?? 0.05;
  if (!(threshold >= 0) || !Number.isFinite(threshold)) {
    throw new EvsimError('BAD_POLICY', `threshold must be a number ≥ 0, got ${threshold}`);
  }
  const policy = parsePolicy(opts.policy ?? 'threshold');
  const chip = opts.chip ?? 'ideal';
  if (chip !== 'ideal') {
    const known = CHIPS_PENDING.includes(chip) ? `chip '${chip}'` : `chip '${chip}' (not a preset)`;
    throw new EvsimError('BAD_CHIP', `${known} is not available yet: only --chip ideal runs in this version (the virtual many-core chip is the next milestone)`);
  }
  if (opts.frames === '' || opts.frames == null) throw new EvsimError('BAD_USAGE', 'no frames given: pass --frames F.npy (float32 [T, ...input shape]) or set frames: in the config');
  const frames: Frames = typeof opts.frames === 'string'
    ? loadFrames(graph, opts.frames)
    : checkFrames(graph, opts.frames.shape, opts.frames.data, 'frames');
  if (opts.outputs) assertWritable(opts.outputs, 'outputs');
  const count = Math.min(frames.count, opts.maxFrames ?? Infinity);
  const labels = opts.labels == null ? null : typeof opts.labels === 'string' ? loadLabels(opts.labels, count) : opts.labels;
  if (labels && labels.length < count) throw new EvsimError('BAD_FRAMES', `${labels.length} labels for ${count} frames; give one label per frame`);
  const run = await runFunctional(graph, frames, count, {
    threshold, policy, bnGamma: opts.bnGamma, layers: opts.layers, compareDense: opts.compareDense, labels,
    keepOutputs: !!opts.outputs, onFrame: opts.onFrame, shouldStop: opts.signal ? () => opts.signal!.aborted : undefined,
  });
  if (opts.outputs && run.outputs) writeNpy(opts.outputs, { shape: run.outputShape, data: run.outputs });
  if (typeof opts.model === 'string') run.result.model = basename(opts.model, '.onnx');
  return { ...run.result, interrupted: run.interrupted, outputs: run.outputs, outputShape: run.outputShape };
}

/** Fails with exit 2 before any simulation when an output file could not be written. */
export function assertWritable(path: string, what: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new EvsimError('BAD_USAGE', `${what} ${path}: folder ${dir} does not exist; create it first`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new EvsimError('BAD_USAGE', `${what} ${path}: folder ${dir} is not writable`);
  }
}
