/**
 * The clockless core of DESIGN §5: per core and frame, (1) messages in (arrival,
 * source core, sequence) order through a bounded input queue, (2) after every upstream
 * frame.end token, neuron updates in ascending index, spikes leaving as they happen,
 * (3) its own frame.end. Pure arithmetic on simulated time; energy is counts × costs.
 */
import type { ChipSpec, CostKey } from './spec.js';

export interface InMessage {
  /** Time the message reaches the core's router (send + message_out + hops). */
  arrivalNs: number;
  srcCore: number;
  seq: number;
  /** Synapses it reaches in this core (synops charged as it is processed). */
  synops: number;
  /** Dendritic adds it costs in this core. */
  dendrites: number;
}

/**
 * Phase-2 events in ascending neuron index: an update (`spike` false) or a
 * transmission (`spike` true) of the neuron at `index`; updates sort before spikes at
 * the same index.
 */
export interface UpdateEvents {
  /** Updated neuron indices, ascending. */
  updates: Int32Array;
  nUpdates: number;
  /** Trigger index of each transmission, ascending. */
  spikes: Int32Array;
  nSpikes: number;
}

export interface CoreFrameResult {
  /** frame.end time of this core. */
  endNs: number;
  /** Send time of each transmission, in the order of `spikes`. */
  sendNs: Float64Array;
  busyNs: number;
  stallNs: number;
  queueMax: number;
}

export function arrivalNs(chip: ChipSpec, sendNs: number, dx: number, dy: number): number {
  const c = chip.costs;
  return sendNs + c.message_out.latencyNs + Math.abs(dx) * c.hop_ew.latencyNs + Math.abs(dy) * c.hop_ns.latencyNs;
}

/** Orders messages by (arrival, source core, sequence): ties always resolve the same way. */
export function sortMessages(msgs: InMessage[]): InMessage[] {
  return msgs.sort((a, b) => a.arrivalNs - b.arrivalNs || a.srcCore - b.srcCore || a.seq - b.seq);
}

/**
 * Runs one core through one frame starting at `tCore` (its previous frame.end).
 * `lastTokenNs` is the latest arrival of an upstream frame.end token (−Infinity if none).
 * `extraSynops` are synops charged in phase 2 (synapses applied after dendritic
 * aggregation, e.g. behind an average pool).
 */
export function runCoreFrame(
  chip: ChipSpec, tCore: number, msgs: InMessage[], lastTokenNs: number, extraSynops: number, ev: UpdateEvents,
): CoreFrameResult {
  const c = chip.costs;
  const q = chip.core.queueDepth;
  const sorted = sortMessages(msgs);
  const starts = new Float64Array(sorted.length);
  let t = tCore;
  let busy = 0;
  let stall = 0;
  let queueMax = 0;
  let started = 0; // messages whose start ≤ current arrival (two-pointer over nondecreasing starts)
  for (let i = 0; i < sorted.length; i++) {
    const m = sorted[i]!;
    let arrive = m.arrivalNs;
    // A full queue holds the message in the network until the one Q places ahead starts.
    if (i >= q && starts[i - q]! > arrive) {
      stall += starts[i - q]! - arrive;
      arrive = starts[i - q]!;
    }
    while (started < i && starts[started]! <= arrive) started++;
    queueMax = Math.max(queueMax, i - started + 1);
    const start = Math.max(arrive, t);
    starts[i] = start;
    const work = c.message_in.latencyNs + m.synops * c.synop.latencyNs + m.dendrites * c.dendrite_add.latencyNs;
    t = start + work;
    busy += work;
  }
  if (q !== Infinity) queueMax = Math.min(queueMax, q);
  t = Math.max(t, lastTokenNs);
  if (extraSynops > 0) {
    const w = extraSynops * c.synop.latencyNs;
    t += w;
    busy += w;
  }
  const sendNs = new Float64Array(ev.nSpikes);
  let u = 0;
  let s = 0;
  while (u < ev.nUpdates || s < ev.nSpikes) {
    const ui = u < ev.nUpdates ? ev.updates[u]! : Infinity;
    const si = s < ev.nSpikes ? ev.spikes[s]! : Infinity;
    if (ui <= si) {
      t += c.neuron_update.latencyNs;
      busy += c.neuron_update.latencyNs;
      u++;
    } else {
      t += c.spike.latencyNs;
      busy += c.spike.latencyNs;
      sendNs[s++] = t;
    }
  }
  return { endNs: t, sendNs, busyNs: busy, stallNs: stall, queueMax };
}

/** Event counts of one core in one frame. */
export interface CoreCounts {
  synops: number;
  dendriteAdds: number;
  neuronUpdates: number;
  spikes: number;
  messagesOut: number;
  messagesIn: number;
  hopsEw: number;
  hopsNs: number;
  busyNs: number;
}

/** Energy of one core's frame: Σ count × energy per key (+ static power × busy time). */
export function coreEnergyPj(chip: ChipSpec, k: CoreCounts): number {
  const e = (key: CostKey): number => chip.costs[key].energyPj;
  return (
    k.synops * e('synop') +
    k.dendriteAdds * e('dendrite_add') +
    k.neuronUpdates * e('neuron_update') +
    k.spikes * e('spike') +
    k.messagesOut * e('message_out') +
    k.messagesIn * e('message_in') +
    k.hopsEw * e('hop_ew') +
    k.hopsNs * e('hop_ns') +
    // mW × ns = pJ
    chip.staticMw * k.busyNs
  );
}
