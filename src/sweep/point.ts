/**
 * Runs one sweep point in-process on the calling thread (its chip actors included, no
 * nested pool: DESIGN §6) and reports its figures. The run's trace is recorded in
 * memory and returned, for the sweep's single writer to store. Models, workloads and
 * dense reference outputs are cached per thread, so points that share them pay once.
 */
import { basename } from 'node:path';
import { EvsimError } from '../errors.js';
import { DenseExecutor } from '../model/dense/executor.js';
import type { Graph } from '../model/ir.js';
import { loadOnnx } from '../model/onnx/import.js';
import { frameShapeOf, loadFrames } from '../runtime/inputs.js';
import { RecordingSink, type Recording } from '../runtime/recording-sink.js';
import type { Totals } from '../runtime/result.js';
import { simulate } from '../runtime/simulate.js';
import { makeWorkload } from '../workloads/workload.js';
import type { ResolvedPoint } from './spec.js';

/** Run totals a sweep point keeps (DESIGN §8 names). */
const TOTAL_KEYS = ['macs', 'dense_macs', 'adds', 'transmissions', 'synops', 'messages', 'hops', 'energy_pj', 'latency_ns', 'mean_latency_ns', 'stall_ns'] as const;

/** The figures of a finished point (the sweep_points result columns). */
export interface PointMetrics extends Pick<Totals, (typeof TOTAL_KEYS)[number]> {
  frames: number;
  ops_reduction: number;
  /** Frames per second of simulated chip time (null on `ideal`, which has no time). */
  throughput_fps: number | null;
  accuracy: number | null;
  rel_rmse: number | null;
  max_abs: number | null;
  /** The `error` objective: 1 − accuracy when there are labels, else rel_rmse. */
  output_error: number | null;
  cores: number;
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

interface Inputs {
  frames: { shape: number[]; data: Float32Array };
  labels: Int32Array | string | null;
}

const graphs = new Map<string, Graph>();
const inputs = new Map<string, Inputs>();
const references = new Map<string, Float32Array>();

function graphOf(path: string): Graph {
  let g = graphs.get(path);
  if (!g) {
    g = loadOnnx(path);
    g.name = basename(path, '.onnx');
    graphs.set(path, g);
  }
  return g;
}

function inputsOf(p: ResolvedPoint, g: Graph): { key: string; inputs: Inputs } {
  const key = p.workload ? JSON.stringify(p.workload) : `${p.frames}\u0000${p.labels}`;
  let v = inputs.get(key);
  if (!v) {
    if (p.workload) v = makeWorkload(p.workload, g.tensors[g.input]!.shape);
    else {
      const f = loadFrames(g, p.frames!);
      v = { frames: { shape: [f.count, ...frameShapeOf(g)], data: f.data }, labels: p.labels };
    }
    inputs.set(key, v);
  }
  return { key, inputs: v };
}

/** The dense network's outputs for the first `count` frames, computed once per thread. */
function referenceOf(model: string, g: Graph, inputKey: string, frames: Float32Array, count: number): Float32Array {
  const key = `${model}\u0000${inputKey}`;
  const have = references.get(key);
  const outSize = g.tensors[g.output]!.size;
  if (have && have.length >= count * outSize) return have;
  const inSize = g.tensors[g.input]!.size;
  const out = new Float32Array(count * outSize);
  const dense = new DenseExecutor(g);
  for (let t = 0; t < count; t++) out.set(dense.run(frames.subarray(t * inSize, (t + 1) * inSize)), t * outSize);
  references.set(key, out);
  return out;
}

/** Simulates one point; a failure is returned as a failed outcome, never thrown. */
export async function runPoint(p: ResolvedPoint, tracePath: string, signal?: AbortSignal): Promise<PointOutcome> {
  const t0 = performance.now();
  const sink = new RecordingSink(tracePath, p.traceLevel);
  const outcome = (status: PointOutcome['status'], error: string | null, metrics: PointMetrics | null): PointOutcome => ({
    index: p.index, key: p.key, status, error, metrics, recording: sink.recording.info ? sink.recording : null, wall_s: (performance.now() - t0) / 1000,
  });
  try {
    const g = graphOf(p.model);
    const { key, inputs: inp } = inputsOf(p, g);
    const total = inp.frames.shape[0]!;
    const count = Math.min(total, p.maxFrames ?? Infinity);
    // A frames file of the wrong shape fails in simulate() with its own message; only
    // build the reference for frames that fit the model.
    const fits = inp.frames.data.length === total * g.tensors[g.input]!.size;
    const denseOutputs = fits ? referenceOf(p.model, g, key, inp.frames.data, count) : null;
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
      config: { sweep_point: p.index, params: p.params },
      signal,
    });
    const t = r.totals;
    const err = r.error_vs_dense;
    const m: PointMetrics = {
      ...(Object.fromEntries(TOTAL_KEYS.map((k) => [k, t[k]])) as Pick<Totals, (typeof TOTAL_KEYS)[number]>),
      frames: r.frames,
      ops_reduction: r.ops_reduction,
      throughput_fps: t.latency_ns > 0 ? r.frames / (t.latency_ns * 1e-9) : null,
      accuracy: r.accuracy,
      rel_rmse: err ? err.rel_rmse : null,
      max_abs: err ? err.max_abs : null,
      output_error: r.accuracy !== null ? 1 - r.accuracy : err ? err.rel_rmse : null,
      cores: r.cores,
    };
    return outcome(r.interrupted ? 'interrupted' : 'completed', null, m);
  } catch (e) {
    const msg = e instanceof EvsimError ? e.message : `${(e as Error).name}: ${(e as Error).message}`;
    return outcome('failed', msg, null);
  }
}
