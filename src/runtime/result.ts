/**
 * The result of a run in the shape of DESIGN §8 (`evsim run --json`): every field
 * always present, 0 where not applicable, null for accuracy/error when not computed.
 */

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
  rel_rmse: number;
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
}

export function emptyTotals(): Totals {
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
      const e = got[i]! - ref[i]!;
      this.sumSq += e * e;
      this.sumRefSq += ref[i]! * ref[i]!;
      const a = Math.abs(e);
      if (a > this.maxAbs) this.maxAbs = a;
    }
    this.n += ref.length;
  }
  result(): ErrorVsDense {
    const rmse = this.n ? Math.sqrt(this.sumSq / this.n) : 0;
    const rms = this.n ? Math.sqrt(this.sumRefSq / this.n) : 0;
    return { rmse, max_abs: this.maxAbs, rel_rmse: rms > 0 ? rmse / rms : 0 };
  }
}

export function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}
