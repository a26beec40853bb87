/**
 * The result of a run in the shape of DESIGN §8 (`evsim run --json`): every field
 * always present, 0 where not applicable, null for accuracy/error when not computed.
 */
import { objects } from './objects.js';
import { DenseExecutor } from '../model/dense/executor.js';
import { overheadOf } from '../model/evnet/engine.js';
import type { Graph } from '../model/ir.js';
import type { TraceLayerFrame } from './trace-sink.js';

export interface FrameRecord {
  frame: number;
  macs: number;
  dense_macs: number;
  adds: number;
  transmissions: number;
  synops: number;
  messages: number;
  hops: number;
  energy_pj: number;
  latency_ns: number;
}

export interface Totals {
  macs: number;
  dense_macs: number;
  adds: number;
  transmissions: number;
  synops: number;
  messages: number;
  hops: number;
  energy_pj: number;
  latency_ns: number;
  mean_latency_ns: number;
  stall_ns: number;
  gate_updates: number;
  acc_updates: number;
  overhead_adds: number;
  overhead_compares: number;
  overhead_load_store: number;
}

export interface ErrorVsDense {
  rmse: number;
  max_abs: number;
  /** rmse / rms(dense outputs) (DESIGN §4); null when the dense outputs are all 0 and the error is not (undefined, not "no error"). */
  rel_rmse: number | null;
}

export interface LayerTotals {
  layer_id: number;
  name: string;
  kind: string;
  op: string;
  macs: number;
  dense_macs: number;
  adds: number;
  updates: number;
  transmissions: number;
}

export interface RunResult {
  frames: number;
  totals: Totals;
  per_frame: FrameRecord[];
  accuracy: number | null;
  error_vs_dense: ErrorVsDense | null;
  trace: string | null;
  /** Extras beyond the §8 minimum. */
  model: string;
  chip: string;
  policy: string;
  threshold: number;
  ops_reduction: number;
  memory: { weight_bytes: number; state_bytes: number };
  layers: LayerTotals[];
  /** Cores the network occupies and the mesh it was placed on (0 and null on `ideal`). */
  cores: number;
  mesh: { width: number; height: number } | null;
}

function emptyTotals(): Totals {
  return {
    macs: 0, dense_macs: 0, adds: 0, transmissions: 0, synops: 0, messages: 0, hops: 0, energy_pj: 0,
    latency_ns: 0, mean_latency_ns: 0, stall_ns: 0, gate_updates: 0, acc_updates: 0,
    overhead_adds: 0, overhead_compares: 0, overhead_load_store: 0,
  };
}

/** Running RMSE / max-abs of EvNet outputs against the dense network (DESIGN §4). */
export class ErrorMeter {
  private sumSq = 0;
  private sumRefSq = 0;
  private maxAbs = 0;
  private n = 0;
  add(got: Float32Array, ref: Float32Array): void {
    for (let i = 0; i < ref.length; i++) {
      const g = got[i]!;
      const r = ref[i]!;
      // Equal infinities (or two NaNs) agree; any other NaN makes the error NaN, not 0.
      const e = g === r || (g !== g && r !== r) ? 0 : g - r;
      this.sumSq += e * e;
      this.sumRefSq += r * r;
      const a = Math.abs(e);
      if (!(a <= this.maxAbs)) this.maxAbs = a;
    }
    this.n += ref.length;
  }
  result(): ErrorVsDense {
    const rmse = this.n ? Math.sqrt(this.sumSq / this.n) : 0;
    const rms = this.n ? Math.sqrt(this.sumRefSq / this.n) : 0;
    // Dense outputs all 0: no error is 0 relative error, any other is undefined (was: 0, "perfect").
    return { rmse, max_abs: this.maxAbs, rel_rmse: rms > 0 ? rmse / rms : rmse === 0 ? 0 : null };
  }
}

export function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

/** The dense network's output for frame t (computed, or looked up in precomputed outputs). */
export interface DenseReference {
  run(frame: Float32Array, t: number): Float32Array;
}

/**
 * What `--compare-dense` compares against: precomputed dense outputs ([T × output size],
 * e.g. shared by the points of a sweep) when given, else a dense executor run alongside.
 */
export function denseReference(graph: Graph, compare: boolean | undefined, outputs: Float32Array | null | undefined): DenseReference | null {
  if (outputs) {
    const size = graph.tensors[graph.output]!.size;
    return { run: (_frame, t) => outputs.subarray(t * size, (t + 1) * size) };
  }
  return compare ? new DenseExecutor(graph) : null;
}

/**
 * Folds frames into a run's totals, per-frame records, outputs, accuracy and error
 * against the dense network; shared by the functional and the chip run.
 */
export class RunAccumulator {
  readonly totals = emptyTotals();
  readonly perFrame: FrameRecord[] = objects([]);
  readonly outputs: Float32Array | null;
  private readonly meter = new ErrorMeter();
  private correct = 0;
  private latencySum = 0;
  frames = 0;

  constructor(
    private readonly outSize: number,
    count: number,
    keepOutputs: boolean,
    private readonly labels: Int32Array | null | undefined,
    private readonly dense: DenseReference | null,
  ) {
    this.outputs = keepOutputs ? new Float32Array(count * outSize) : null;
  }

  /** One finished frame: its record, its output, and the input it was computed from. */
  add(rec: FrameRecord, counts: { gateUpdates: number; accUpdates: number; stallNs: number }, y: Float32Array, input: Float32Array): void {
    const t = this.frames++;
    const tot = this.totals;
    this.perFrame.push(rec);
    tot.macs += rec.macs;
    tot.dense_macs += rec.dense_macs;
    tot.adds += rec.adds;
    tot.transmissions += rec.transmissions;
    tot.synops += rec.synops;
    tot.messages += rec.messages;
    tot.hops += rec.hops;
    tot.energy_pj += rec.energy_pj;
    tot.stall_ns += counts.stallNs;
    tot.gate_updates += counts.gateUpdates;
    tot.acc_updates += counts.accUpdates;
    this.latencySum += rec.latency_ns;
    if (this.outputs) this.outputs.set(y, t * this.outSize);
    if (this.dense) this.meter.add(y, this.dense.run(input, t));
    if (this.labels && argmax(y) === this.labels[t]) this.correct++;
  }

  /** Totals with the DESIGN §4 overhead and latency summaries filled in. */
  finish(lastFrameDoneNs: number): { totals: Totals; accuracy: number | null; error_vs_dense: ErrorVsDense | null; outputs: Float32Array | null } {
    const tot = this.totals;
    const n = this.frames;
    tot.latency_ns = lastFrameDoneNs;
    tot.mean_latency_ns = n > 0 ? this.latencySum / n : 0;
    const o = overheadOf(tot.acc_updates, tot.gate_updates, tot.transmissions);
    tot.overhead_adds = o.adds;
    tot.overhead_compares = o.compares;
    tot.overhead_load_store = o.loadStore;
    return {
      totals: tot,
      accuracy: this.labels && n > 0 ? this.correct / n : null,
      error_vs_dense: this.dense && n > 0 ? this.meter.result() : null,
      outputs: this.outputs ? this.outputs.subarray(0, n * this.outSize) : null,
    };
  }
}

/** A layer of a run as its trace names it, without totals. */
export type LayerInfo = Pick<LayerTotals, 'layer_id' | 'name' | 'kind' | 'op' | 'dense_macs'>;

/** Per-layer counts summed over a run's frames, indexed by layer id. */
export class LayerSums {
  readonly macs: Float64Array;
  readonly adds: Float64Array;
  readonly updates: Float64Array;
  readonly transmissions: Float64Array;
  constructor(layers: number) {
    this.macs = new Float64Array(layers);
    this.adds = new Float64Array(layers);
    this.updates = new Float64Array(layers);
    this.transmissions = new Float64Array(layers);
  }

  add(f: TraceLayerFrame): void {
    for (let l = 0; l < this.macs.length; l++) {
      this.macs[l] += f.macs[l]!;
      this.adds[l] += f.adds[l]!;
      this.updates[l] += f.updates[l]!;
      this.transmissions[l] += f.transmissions[l]!;
    }
  }

  /** Each layer with its totals over `frames` frames (dense MACs: its per-frame count times the frames). */
  totals(layers: readonly LayerInfo[], frames: number): LayerTotals[] {
    return layers.map((l) => ({
      layer_id: l.layer_id, name: l.name, kind: l.kind, op: l.op, macs: this.macs[l.layer_id]!, dense_macs: l.dense_macs * frames,
      adds: this.adds[l.layer_id]!, updates: this.updates[l.layer_id]!, transmissions: this.transmissions[l.layer_id]!,
    }));
  }
}

/** A run's result from its folded frames and what the run knows of itself (the functional and the chip run). */
export function runResult(
  acc: RunAccumulator, fin: ReturnType<RunAccumulator['finish']>,
  run: Pick<RunResult, 'model' | 'chip' | 'policy' | 'threshold' | 'memory' | 'layers' | 'cores' | 'mesh'>,
): RunResult {
  const totals = fin.totals;
  return {
    frames: acc.frames, totals, per_frame: acc.perFrame, accuracy: fin.accuracy, error_vs_dense: fin.error_vs_dense, trace: null,
    // A --dense run is the baseline itself: no reduction, although its MACs (exact, §4)
    // skip the taps on zero padding that dense_macs counts.
    ops_reduction: run.policy === 'dense' ? 1 : totals.macs > 0 ? totals.dense_macs / totals.macs : 0, ...run,
  };
}
