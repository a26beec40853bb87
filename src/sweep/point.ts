/**
 * Runs one sweep point in-process on the calling thread (its chip actors included, no
 * nested pool: DESIGN §6) and reports its figures. The run's trace is recorded in
 * memory and returned, for the sweep's single writer to store. Models, workloads and
 * dense reference outputs are cached per thread, so points that share them pay once.
 */
import { isFree } from '../chip/spec.js';
import { EvsimError } from '../errors.js';
import { DenseExecutor } from '../model/dense/executor.js';
import type { Graph } from '../model/ir.js';
import { frameShapeOf, loadFrames } from '../runtime/inputs.js';
import { RecordingSink, type Recording } from '../runtime/recording-sink.js';
import type { Totals } from '../runtime/result.js';
import { toShared } from '../runtime/shared.js';
import { RecentCache } from '../recent-cache.js';
import { simulate } from '../simulate.js';
import { makeWorkload } from '../workloads/workload.js';
import { sweepWording } from './check.js';
import { graphOf, modelId } from './models.js';
import type { ResolvedPoint } from './spec.js';

/** Run totals a sweep point keeps (DESIGN §8 names). */
const TOTAL_KEYS = ['macs', 'dense_macs', 'adds', 'transmissions', 'synops', 'messages', 'hops', 'energy_pj', 'latency_ns', 'mean_latency_ns', 'stall_ns'] as const;
/**
 * Totals a chip without costs or limits (`ideal`, run functionally: no mapping, no
 * messages) has no figure for: `evsim run` reports them as 0, a sweep stores null, so a
 * Pareto front over them leaves such points out instead of ranking their zeros as the
 * best energy, latency or network traffic.
 */
const CHIP_KEYS = ['energy_pj', 'latency_ns', 'mean_latency_ns', 'stall_ns', 'messages', 'hops'] as const;
type ChipKey = (typeof CHIP_KEYS)[number];
/** Every sweep_points figure that is null on such a chip (the totals above, the throughput and the cores). */
export const UNTIMED_COLUMNS: readonly string[] = [...CHIP_KEYS, 'throughput_fps', 'cores'];

/** The figures of a finished point (the sweep_points result columns). */
export interface PointMetrics extends Pick<Totals, Exclude<(typeof TOTAL_KEYS)[number], ChipKey>>, Record<ChipKey, number | null> {
  frames: number;
  ops_reduction: number;
  /** Frames per second of simulated chip time (null on `ideal`, which has no time). */
  throughput_fps: number | null;
  accuracy: number | null;
  rel_rmse: number | null;
  max_abs: number | null;
  /** The `error` objective: 1 − accuracy when there are labels, else rel_rmse. */
  output_error: number | null;
  /** Cores the mapping uses (null on `ideal`, which maps nothing). */
  cores: number | null;
}

export interface PointOutcome {
  index: number;
  key: string;
  status: 'completed' | 'failed' | 'interrupted';
  error: string | null;
  metrics: PointMetrics | null;
  recording: Recording | null;
  wall_s: number;
}

export interface Inputs {
  frames: { shape: number[]; data: Float32Array };
  labels: Int32Array | string | null;
}

/** A point's inputs in shared memory, under their cache key (see sharedInputsOf). */
export interface SharedInputs {
  key: string;
  inputs: Inputs;
}

/** Each cache's budget: 512 MiB, so two 1000-frame 128×128 RGB videos (197 MB each) that a grid alternates between both stay. */
const CACHE_BYTES = 512 * 2 ** 20;
const inputs = new RecentCache<Inputs>(CACHE_BYTES);
const references = new RecentCache<Float32Array>(CACHE_BYTES);
const bytesOf = (v: Inputs): number => v.frames.data.byteLength + (v.labels instanceof Int32Array ? v.labels.byteLength : 0);

/**
 * The frames of a point, shaped [T, ...model input without batch]. Cached per thread by
 * source (a workload, or a frames file's content) and input shape: two models sharing a workload or a frames file each get frames
 * of their own shape.
 */
function inputsOf(p: ResolvedPoint, g: Graph): { key: string; inputs: Inputs } {
  const frameShape = frameShapeOf(g);
  // A frames file by content: one edited between sweeps of a long-lived process is read again.
  const source = p.workload ? JSON.stringify(p.workload) : `${p.framesHash}\u0000${p.labels}`;
  const key = `${frameShape.join('x')}\u0000${source}`;
  let v = inputs.get(key);
  if (!v) {
    if (p.workload) {
      const w = makeWorkload(p.workload, g.tensors[g.input]!.shape);
      // Temporal MNIST comes as [T, 784]; an image model reads the same pixels as
      // [T, 1, 28, 28] (expansion checked that the sizes agree).
      const t = w.frames.shape[0]!;
      v = { frames: { shape: [t, ...frameShape], data: w.frames.data }, labels: w.labels };
    } else {
      const f = loadFrames(g, p.frames!);
      v = { frames: { shape: [f.count, ...frameShape], data: f.data }, labels: p.labels };
    }
    inputs.set(key, v, bytesOf(v));
  }
  return { key, inputs: v };
}

/**
 * A point's inputs built once on the calling thread (the sweep's main thread) in shared
 * memory: each worker adopts them instead of generating the workload or reading the
 * frames again (Temporal MNIST's ordering alone costs a worker about a quarter second).
 */
export function sharedInputsOf(p: ResolvedPoint): SharedInputs {
  const { key, inputs: v } = inputsOf(p, graphOf(p.model, p.modelOutput ?? null));
  const sharedLabels = !(v.labels instanceof Int32Array) || v.labels.buffer instanceof SharedArrayBuffer;
  if (v.frames.data.buffer instanceof SharedArrayBuffer && sharedLabels) return { key, inputs: v };
  const labels = v.labels instanceof Int32Array ? toShared(v.labels) : v.labels;
  const s = { frames: { shape: v.frames.shape, data: toShared(v.frames.data) }, labels };
  inputs.set(key, s, bytesOf(s));
  return { key, inputs: s };
}

/** Takes inputs built by sharedInputsOf on another thread into this thread's cache. */
export function adoptInputs(s: SharedInputs): void {
  if (!inputs.has(s.key)) inputs.set(s.key, s.inputs, bytesOf(s.inputs));
}

/** Reference outputs are kept by the model's content, so an edited model never reuses the old one's. */
function referenceKey(modelHash: string, inputKey: string): string {
  return `${modelHash}\u0000${inputKey}`;
}

/**
 * The dense network's outputs for the first `count` frames, computed once per thread.
 * With `pause`, the thread is handed back every 50 ms (so a Ctrl-C is heard); when
 * `pause` resolves true the computation stops and null comes back.
 */
async function referenceOf(
  modelHash: string, g: Graph, inputKey: string, frames: Float32Array, count: number,
  make: (n: number) => Float32Array = (n) => new Float32Array(n), pause?: () => Promise<boolean>,
): Promise<Float32Array | null> {
  const key = referenceKey(modelHash, inputKey);
  const have = references.get(key);
  const outSize = g.tensors[g.output]!.size;
  if (have && have.length >= count * outSize) return have;
  const inSize = g.tensors[g.input]!.size;
  const out = make(count * outSize);
  const dense = new DenseExecutor(g);
  let last = performance.now();
  for (let t = 0; t < count; t++) {
    out.set(dense.run(frames.subarray(t * inSize, (t + 1) * inSize)), t * outSize);
    if (pause && performance.now() - last > 50) {
      if (await pause()) return null;
      last = performance.now();
    }
  }
  references.set(key, out, out.byteLength);
  return out;
}

/** A point's dense reference outputs (the frames it runs) in shared memory, under their cache key. */
export interface SharedReference {
  key: string;
  outputs: Float32Array;
}

/**
 * The dense outputs a point is compared against, computed once on the calling thread
 * (the sweep's main thread, while the workers start) in shared memory, instead of once
 * per worker thread; null when `stopped` turned true meanwhile.
 */
export async function sharedReferenceOf(p: ResolvedPoint, stopped: () => boolean = () => false): Promise<SharedReference | null> {
  const g = graphOf(p.model, p.modelOutput ?? null);
  const { key, inputs: v } = inputsOf(p, g);
  // The frames the point runs (max_frames of a long video: the first few only).
  const count = Math.min(v.frames.shape[0]!, p.maxFrames ?? Infinity);
  const pause = (): Promise<boolean> => new Promise((res) => setImmediate(() => res(stopped())));
  const outputs = await referenceOf(modelId(p.modelHash, p.modelOutput ?? null), g, key, v.frames.data, count, (n) => new Float32Array(new SharedArrayBuffer(4 * n)), pause);
  if (!outputs) return null;
  return { key: referenceKey(modelId(p.modelHash, p.modelOutput ?? null), key), outputs };
}

/** Takes reference outputs built by sharedReferenceOf on another thread into this thread's cache. */
export function adoptReference(s: SharedReference): void {
  const have = references.get(s.key);
  if (!have || have.length < s.outputs.length) references.set(s.key, s.outputs, s.outputs.byteLength);
}

/** What a sweep point's run records as its configuration in the trace's runs table. */
function pointConfig(p: ResolvedPoint): unknown {
  const { index, key, params, label, ...resolved } = p;
  return { sweep_point: index, point_key: key, label, params, ...resolved };
}

/**
 * Simulates one point; a failure is returned as a failed outcome, never thrown.
 * `shouldStop` is polled after every frame: when it turns true the run ends after that
 * frame, and the point comes back interrupted with the frames it completed.
 */
export async function runPoint(p: ResolvedPoint, tracePath: string, shouldStop?: () => boolean): Promise<PointOutcome> {
  const t0 = performance.now();
  const sink = new RecordingSink(tracePath, p.traceLevel);
  const outcome = (status: PointOutcome['status'], error: string | null, metrics: PointMetrics | null): PointOutcome => ({
    index: p.index, key: p.key, status, error, metrics, recording: sink.began ? sink.recording : null, wall_s: (performance.now() - t0) / 1000,
  });
  const stop = new AbortController();
  try {
    const g = graphOf(p.model, p.modelOutput ?? null);
    const { key, inputs: inp } = inputsOf(p, g);
    const total = inp.frames.shape[0]!;
    const count = Math.min(total, p.maxFrames ?? Infinity);
    const denseOutputs = (await referenceOf(modelId(p.modelHash, p.modelOutput ?? null), g, key, inp.frames.data, count))!;
    const r = await simulate({
      model: g,
      frames: inp.frames,
      labels: inp.labels,
      maxFrames: p.maxFrames,
      threshold: p.threshold,
      policy: p.policy,
      bnGamma: p.bnGamma,
      layers: p.layers,
      chip: p.chip,
      mesh: p.mesh,
      placement: p.placement,
      dense: p.dense,
      compareDense: true,
      denseOutputs,
      // One core group on this thread: results are bit-identical for any grouping (DESIGN §6)
      // and one group has the fewest batches to pass.
      inProcess: true,
      workers: 1,
      trace: sink,
      config: pointConfig(p),
      modelHash: p.modelHash,
      signal: shouldStop ? stop.signal : undefined,
      // simulate() checks its signal before each frame; the sweep's stop is a flag shared
      // across threads, looked at here after each frame.
      onFrame: shouldStop ? () => (shouldStop() ? stop.abort() : undefined) : undefined,
    });
    const t = r.totals;
    const err = r.error_vs_dense;
    const timed = !isFree(p.chip);
    const m: PointMetrics = {
      ...(Object.fromEntries(TOTAL_KEYS.map((k) => [k, t[k]])) as Pick<Totals, (typeof TOTAL_KEYS)[number]>),
      ...(timed ? {} : (Object.fromEntries(CHIP_KEYS.map((k) => [k, null])) as Record<ChipKey, null>)),
      frames: r.frames,
      ops_reduction: r.ops_reduction,
      throughput_fps: timed && t.latency_ns > 0 ? r.frames / (t.latency_ns * 1e-9) : null,
      accuracy: r.accuracy,
      rel_rmse: err ? err.rel_rmse : null,
      max_abs: err ? err.max_abs : null,
      output_error: r.accuracy !== null ? 1 - r.accuracy : err ? err.rel_rmse : null,
      cores: timed ? r.cores : null,
    };
    return outcome(r.interrupted ? 'interrupted' : 'completed', null, m);
  } catch (e) {
    const msg = e instanceof EvsimError ? e.message : `${(e as Error).name}: ${(e as Error).message}`;
    return outcome('failed', sweepWording(msg), null);
  }
}
