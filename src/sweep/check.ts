/**
 * A sweep's inputs checked against its models before any point runs (DESIGN §8: bad
 * input exits 2 naming the field, it is never recorded as a failed point). Each distinct
 * model is parsed once; each frames and labels file is read, checked against the model's
 * input and hashed (the hash goes into the point key, so a resume after the data changed
 * runs the point again); workloads are checked against the input shape, and per-layer
 * policy settings against the model's gates. Only run-time failures (a network that does
 * not fit the chip) are left for the points.
 */
import { buildSegments } from '../chip/segments.js';
import { EvsimError, whyUnreadable } from '../errors.js';
import { checkOverrides, createGate, gateOverride, type LayerOverride } from '../model/evnet/engine.js';
import { buildPlan, type EvPlan } from '../model/evnet/plan.js';
import { parsePolicy } from '../model/evnet/policy.js';
import type { Graph } from '../model/ir.js';
import { loadFrames, loadLabels } from '../runtime/inputs.js';
import { fileHash } from '../files.js';
import { checkVideoSize, makeWorkload, type WorkloadSpec } from '../workloads/workload.js';
import { graphOf, modelKey } from './models.js';

/** Pixels of a Temporal MNIST frame (28 × 28). */
const MNIST_PIXELS = 784;

/**
 * A message of the runtime reworded for a sweep, whose points are set in the sweep file,
 * not by flags.
 */
export function sweepWording(msg: string): string {
  return msg
    .replace('use --mesh auto', 'use mapping.mesh: auto')
    .replace('use --chip ideal', 'use chip: ideal')
    .replace('use a chip file with core.fan_in', 'set chip.core.fan_in')
    .replace("the run's threshold (--threshold, or threshold: in a config)", 'policy.threshold');
}

/**
 * The same error, its message prefixed with where in the sweep it happened (`policy` and
 * an engine message about `layers.x` make `policy.layers.x`).
 */
function at(ctx: string, field: string, e: unknown): EvsimError {
  const msg = (e as Error).message;
  const sep = msg.startsWith('layers.') ? '.' : ': ';
  return new EvsimError(e instanceof EvsimError ? e.code : 'BAD_CONFIG', `${ctx}: ${field}${sep}${sweepWording(msg)}`);
}

export interface CheckedModel {
  graph: Graph;
  /** Content hash of the .onnx file. */
  hash: string;
}

/** Checks the points of one sweep; everything it reads is read once. */
export class SweepInputs {
  private readonly models = new Map<string, CheckedModel>();
  private readonly plans = new Map<string, EvPlan>();
  private readonly files = new Map<string, string>();
  private readonly frameCounts = new Map<string, number>();
  private readonly seen = new Set<string>();
  private readonly mappable = new Set<string>();

  /** Parses the model (once per path and output) and hashes its file. */
  model(path: string, output: string | null, ctx: string): CheckedModel {
    const key = modelKey(path, output);
    let m = this.models.get(key);
    if (!m) {
      try {
        m = { graph: graphOf(path, output), hash: fileHash(path) };
      } catch (e) {
        // Only a name the model does not have is the output's fault; the rest is the model's.
        throw at(ctx, output !== null && /has no output '/.test((e as Error).message) ? 'model_output' : 'model', e);
      }
      this.models.set(key, m);
    }
    return m;
  }

  /**
   * Checks a frames file against the model input (shape, float32, finite values) and
   * returns its content hash and frame count.
   */
  frames(path: string, m: CheckedModel, ctx: string): { hash: string; count: number } {
    const input = m.graph.tensors[m.graph.input]!.shape.join('x');
    const key = `${path}\u0000${input}`;
    let count = this.frameCounts.get(key);
    if (count === undefined) {
      try {
        count = loadFrames(m.graph, path).count;
      } catch (e) {
        throw at(ctx, 'frames', e);
      }
      this.frameCounts.set(key, count);
    }
    return { hash: this.hash(path, ctx, 'frames'), count };
  }

  /** Checks a labels file (integers, one per frame of the video, each a class of the model's outputs) and returns its content hash. */
  labels(path: string, frames: number, m: CheckedModel, ctx: string): string {
    const classes = m.graph.tensors[m.graph.output]!.size;
    const key = `${path}\u0000${frames}\u0000${classes}`;
    if (!this.seen.has(key)) {
      try {
        loadLabels(path, frames, classes);
      } catch (e) {
        throw at(ctx, 'labels', e);
      }
      this.seen.add(key);
    }
    return this.hash(path, ctx, 'labels');
  }

  /** A generated workload must fit the model input. */
  workload(w: WorkloadSpec, m: CheckedModel, ctx: string): void {
    const shape = m.graph.tensors[m.graph.input]!.shape;
    try {
      // One frame is enough to run the workload's own check of the input shape; the size
      // is checked without building it.
      if (w.kind === 'video') {
        makeWorkload({ ...w, frames: 1 }, shape);
        checkVideoSize(w.frames, shape);
      }
      else if (m.graph.tensors[m.graph.input]!.size !== MNIST_PIXELS) {
        throw new EvsimError('BAD_FRAMES', `the temporal-mnist workload has 28×28 = 784-pixel frames; this model's input is [${shape.join(', ')}]`);
      }
    } catch (e) {
      throw at(ctx, 'workload', e);
    }
  }

  /**
   * A model placed on a chip must cut into segments (a node mixing two layers cannot be
   * placed yet): checked once per model, for points on a chip with costs.
   */
  onChip(modelPath: string, m: CheckedModel, ctx: string): void {
    if (this.mappable.has(modelPath)) return;
    try {
      buildSegments(this.plan(modelPath, m, ctx));
    } catch (e) {
      throw at(ctx, 'model', e);
    }
    this.mappable.add(modelPath);
  }

  /**
   * Builds every gate of the model with the point's policy settings, as the run will:
   * unknown gate names in policy.layers, bad per-layer policies, channel_thresholds of
   * the wrong length and a rounding policy with h = 0 fail here.
   */
  gates(modelPath: string, m: CheckedModel, o: { policy: string; threshold: number; bnGamma: boolean; layers: Record<string, LayerOverride> }, ctx: string): void {
    const key = JSON.stringify([modelPath, o.policy, o.threshold, o.bnGamma, o.layers]);
    if (this.seen.has(key)) return;
    const plan = this.plan(modelPath, m, ctx);
    const layers = Object.keys(o.layers).length > 0 ? o.layers : undefined;
    try {
      checkOverrides(plan, layers);
      const opts = { threshold: o.threshold, policy: parsePolicy(o.policy), bnGamma: o.bnGamma, layers };
      for (const st of plan.steps) if (st.kind === 'gate') createGate(plan, st, opts, gateOverride(plan, st, layers)?.ov);
    } catch (e) {
      throw at(ctx, 'policy', e);
    }
    this.seen.add(key);
  }

  private plan(modelPath: string, m: CheckedModel, ctx: string): EvPlan {
    let plan = this.plans.get(modelPath);
    if (!plan) {
      try {
        plan = buildPlan(m.graph);
      } catch (e) {
        throw at(ctx, 'model', e);
      }
      this.plans.set(modelPath, plan);
    }
    return plan;
  }

  private hash(path: string, ctx: string, field: string): string {
    let h = this.files.get(path);
    if (!h) {
      try {
        h = fileHash(path);
      } catch (e) {
        throw at(ctx, field, new EvsimError('BAD_CONFIG', `cannot read ${path}: ${whyUnreadable(e)}; check the path`));
      }
      this.files.set(path, h);
    }
    return h;
  }
}
