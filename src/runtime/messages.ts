/**
 * The one message vocabulary between the coordinator and the core-group actors.
 * Batches carry typed arrays; the codec (codec.ts) is the only place that encodes them.
 */
import type { ErrorCode } from '../errors.js';

/** The sensor (input gate) and the coordinator use actor id −1. */
export const COORDINATOR = -1;

/**
 * Every transmission of one gate stream in one frame from the cores of `srcActor`
 * that reach any core of the receiving actor, plus those cores' frame.end times.
 */
export interface DeltaBatch {
  type: 'delta.batch';
  frame: number;
  stream: number;
  srcActor: number;
  /** Source neurons (gate element indices), ascending. */
  idx: Int32Array;
  val: Float32Array;
  sendNs: Float64Array;
  srcCore: Int32Array;
  /** frame.end of each source core upstream of the receiver. */
  tokenCore: Int32Array;
  tokenNs: Float64Array;
}

/** Per-core statistics of one frame, parallel arrays indexed like `cores`. */
export interface CoreStats {
  cores: Int32Array;
  synops: Float64Array;
  /** Synapses applied to shadow rows (mapper.ts `s1`): work beyond the functional MACs. */
  haloSynops: Float64Array;
  /** Shadow-row accumulators updated. */
  haloUpdates: Float64Array;
  dendriteAdds: Float64Array;
  neuronUpdates: Float64Array;
  spikes: Float64Array;
  messagesIn: Float64Array;
  messagesOut: Float64Array;
  hopsEw: Float64Array;
  hopsNs: Float64Array;
  busyNs: Float64Array;
  stallNs: Float64Array;
  queueMax: Float64Array;
  endNs: Float64Array;
  energyPj: Float64Array;
}

/** Messages received in a frame (trace level `events`), parallel arrays. */
export interface FrameEvents {
  /** Arrival at the destination core's router. */
  tNs: Float64Array;
  src: Int32Array;
  dst: Int32Array;
  neuron: Int32Array;
  value: Float32Array;
  hops: Int32Array;
}

/** An actor's account of one finished frame. */
export interface FrameReport {
  type: 'frame.report';
  frame: number;
  actor: number;
  stats: CoreStats;
  /** Owned elements of the network output. */
  outIdx: Int32Array;
  outVal: Float32Array;
  gateUpdates: number;
  accUpdates: number;
  transmissions: number;
  events: FrameEvents | null;
}

/**
 * An actor's input cores (those the sensor feeds) have finished a frame: the latest of
 * their frame.end times. The next frame enters when every such actor has said so (§5).
 */
export interface InputsDone {
  type: 'frame.inputs';
  frame: number;
  actor: number;
  endNs: number;
}

/** The coordinator starting a frame at an actor. */
export interface FrameStart {
  type: 'frame.start';
  frame: number;
  flush: boolean;
}

/** The coordinator ending an actor's task (the run is over, or failed). */
export interface CtlClose {
  type: 'ctl.close';
}

export interface CtlError {
  type: 'ctl.error';
  actor: number;
  message: string;
  /** An EvsimError's code (bad input found mid-run keeps its exit code 2), else null. */
  code: ErrorCode | null;
}

/** What actors send: batches to their peers, the rest to the coordinator. */
export type ActorMessage = DeltaBatch | FrameReport | InputsDone | CtlError;

/** What the coordinator sends an actor: frame starts, the sensor's batches, and close. */
export type CoordinatorMessage = FrameStart | DeltaBatch | CtlClose;
