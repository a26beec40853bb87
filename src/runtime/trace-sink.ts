/**
 * How a run reports to a trace store. The runtime only knows this interface; the CLI
 * or a sweep injects an implementation (trace/sqlite-sink.ts), so runtime/ never
 * imports trace/ (DESIGN §6).
 */
import type { FrameEvents } from './messages.js';
import type { FrameRecord } from './result.js';

export type RunStatus = 'completed' | 'failed' | 'interrupted';

export interface TraceLayer {
  layer_id: number;
  name: string;
  op: string;
  kind: string;
  shape: string;
  dense_macs: number;
  weight_bytes: number;
  state_bytes: number;
}

export interface TraceCore {
  core_id: number;
  tile_x: number;
  tile_y: number;
  layer_id: number;
  neurons: number;
  synapse_bytes: number;
}

export interface TraceRunInfo {
  model: string;
  modelHash: string;
  chip: string;
  /** What ran: the policy as written ('memory-loss,reset:8'), or 'dense' for the conventional network. */
  policy?: string;
  /** The global gate threshold h (null for a dense run). */
  threshold?: number | null;
  config: unknown;
  frames: number;
  layers: TraceLayer[];
  cores: TraceCore[];
}

/** Per-layer counts of one frame, parallel arrays indexed like `layers`. */
export interface TraceLayerFrame {
  macs: ArrayLike<number>;
  adds: ArrayLike<number>;
  updates: ArrayLike<number>;
  transmissions: ArrayLike<number>;
}

/** Per-core figures of one frame, parallel arrays in core-id order. */
export interface TraceCoreFrame {
  messagesIn: ArrayLike<number>;
  synops: ArrayLike<number>;
  neuronUpdates: ArrayLike<number>;
  messagesOut: ArrayLike<number>;
  busyNs: ArrayLike<number>;
  stallNs: ArrayLike<number>;
  queueMax: ArrayLike<number>;
  energyPj: ArrayLike<number>;
  endNs: ArrayLike<number>;
  /** Synapses applied and accumulators updated in shadow rows (beyond the functional counts). */
  haloSynops: ArrayLike<number>;
  haloUpdates: ArrayLike<number>;
}

export interface TraceSink {
  readonly level: 'summary' | 'cores' | 'events';
  readonly path: string;
  begin(info: TraceRunInfo): Promise<void>;
  /** Buffered; the sink commits in batches. `events` only at level `events`. */
  frame(rec: FrameRecord, layers: TraceLayerFrame | null, cores: TraceCoreFrame | null, events?: FrameEvents[] | null): void;
  /**
   * Back-pressure: a promise to await before the next frame when the sink is too far
   * behind (rows buffered but not yet written), null when it is not. Runs call it after
   * every frame, so a slow writer slows the run instead of filling the memory.
   */
  backlog?(): Promise<void> | null;
  /** `scores`: the run's accuracy and error against the dense network, where computed (over the frames run). */
  end(status: RunStatus, error?: string, scores?: RunScores): Promise<void>;
}

/** What a run scored, stored with it (null: not computed, e.g. no labels or no dense comparison). */
export interface RunScores {
  accuracy: number | null;
  rel_rmse: number | null;
  max_abs: number | null;
}
