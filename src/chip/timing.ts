/**
 * The clockless core of DESIGN §5: per core and frame, (1) messages in (arrival,
 * source core, sequence) order through a bounded input queue, (2) after every upstream
 * frame.end token, neuron updates in ascending index, spikes leaving as they happen,
 * (3) its own frame.end. Pure arithmetic on simulated time; energy is counts × costs.
 */
import type { ChipSpec, CostKey } from './spec.js';

export function arrivalNs(chip: ChipSpec, sendNs: number, dx: number, dy: number): number {
  const c = chip.costs;
  return sendNs + c.message_out.latencyNs + Math.abs(dx) * c.hop_ew.latencyNs + Math.abs(dy) * c.hop_ns.latencyNs;
}

/** Messages of one frame as parallel arrays (the hot path allocates no objects). */
export interface MessageArrays {
  arrival: Float64Array;
  src: Int32Array;
  seq: Int32Array;
  synops: Int32Array;
  dendrites: Int32Array;
}

export interface CoreFrameTimes {
  endNs: number;
  busyNs: number;
  stallNs: number;
  queueMax: number;
}

/**
 * Sorts `order[from, to)` (indices into `m`) by (arrival, source core, sequence),
 * skipping the sort when the range is already in order.
 */
function orderMessages(m: MessageArrays, order: Int32Array, from: number, to: number): void {
  const before = (x: number, y: number): number => m.arrival[x]! - m.arrival[y]! || m.src[x]! - m.src[y]! || m.seq[x]! - m.seq[y]!;
  for (let i = from + 1; i < to; i++) {
    if (before(order[i - 1]!, order[i]!) > 0) {
      order.subarray(from, to).sort(before);
      return;
    }
  }
}

let runHeads = new Int32Array(16);
let runEnds = new Int32Array(16);
let runFill = new Int32Array(16);
let tmpOrder = new Int32Array(1024);

/**
 * The same order as orderMessages, for the common case where each source core's
 * messages already come in (arrival, seq) order (a core sends in ascending neuron
 * order, and its spikes leave in that order): a stable bucket by source, then a k-way
 * merge of the runs. `srcRank` maps a source core id + 1 to its rank among `sources`
 * (ascending ids). Falls back to the full sort when a run is out of order.
 */
export function mergeBySource(m: MessageArrays, order: Int32Array, from: number, to: number, sources: Int32Array, srcRank: Int32Array): void {
  const k = sources.length;
  if (to - from < 2) return;
  if (runHeads.length < k + 1) {
    runHeads = new Int32Array(2 * (k + 1));
    runEnds = new Int32Array(2 * (k + 1));
    runFill = new Int32Array(2 * (k + 1));
  }
  if (tmpOrder.length < to - from) tmpOrder = new Int32Array(Math.max(to - from, 2 * tmpOrder.length));
  const heads = runHeads;
  const ends = runEnds;
  heads.fill(0, 0, k + 1);
  for (let i = from; i < to; i++) heads[srcRank[m.src[order[i]!]! + 1]! + 1]++;
  for (let j = 0; j < k; j++) heads[j + 1] += heads[j]!;
  for (let j = 0; j < k; j++) ends[j] = heads[j + 1]!;
  const tmp = tmpOrder;
  const fill = runFill;
  for (let j = 0; j < k; j++) fill[j] = heads[j]!;
  for (let i = from; i < to; i++) {
    const x = order[i]!;
    tmp[fill[srcRank[m.src[x]! + 1]!]!++] = x;
  }
  // Each run must be in (arrival, seq) order; otherwise sort the whole range.
  for (let j = 0; j < k; j++) {
    for (let p = heads[j]! + 1; p < ends[j]!; p++) {
      const a = tmp[p - 1]!;
      const b = tmp[p]!;
      if (m.arrival[a]! > m.arrival[b]! || (m.arrival[a] === m.arrival[b] && m.seq[a]! > m.seq[b]!)) {
        orderMessages(m, order, from, to);
        return;
      }
    }
  }
  if (k <= LINEAR_MERGE_MAX) mergeRunsLinear(m.arrival, order, from, to, k, heads, ends, tmp);
  else mergeRunsHeap(m.arrival, order, from, to, k, heads, ends, tmp);
}

/** Up to this many sources a scan of every run head beats a heap (demo CNN loop: 4 → 1075 ms, 8 → 1175 ms). */
const LINEAR_MERGE_MAX = 4;

/** The k-way merge by scanning the run heads: O(n·k). */
function mergeRunsLinear(
  arrival: Float64Array, order: Int32Array, from: number, to: number, k: number, heads: Int32Array, ends: Int32Array, tmp: Int32Array,
): void {
  for (let i = from; i < to; i++) {
    let best = -1;
    let bestArr = Infinity;
    for (let j = 0; j < k; j++) {
      if (heads[j]! >= ends[j]!) continue;
      const arr = arrival[tmp[heads[j]!]!]!;
      // Runs are in source order, so on equal arrival the lower run (source) wins.
      if (arr < bestArr) {
        bestArr = arr;
        best = j;
      }
    }
    order[i] = tmp[heads[best]!++]!;
  }
}

let heapRun = new Int32Array(64);
let heapKey = new Float64Array(64);

/**
 * The same merge with a binary min-heap of the nonempty runs keyed (head arrival, run):
 * O(n·log k), for cores fed by many source cores.
 */
function mergeRunsHeap(
  arrival: Float64Array, order: Int32Array, from: number, to: number, k: number, heads: Int32Array, ends: Int32Array, tmp: Int32Array,
): void {
  if (heapRun.length < k) {
    heapRun = new Int32Array(2 * k);
    heapKey = new Float64Array(2 * k);
  }
  const run = heapRun;
  const key = heapKey;
  let n = 0;
  for (let j = 0; j < k; j++) {
    if (heads[j]! >= ends[j]!) continue;
    run[n] = j;
    key[n++] = arrival[tmp[heads[j]!]!]!;
  }
  for (let p = (n >> 1) - 1; p >= 0; p--) siftDown(run, key, p, n);
  for (let i = from; i < to; i++) {
    const j = run[0]!;
    order[i] = tmp[heads[j]!++]!;
    if (heads[j]! < ends[j]!) {
      key[0] = arrival[tmp[heads[j]!]!]!;
    } else {
      n--;
      run[0] = run[n]!;
      key[0] = key[n]!;
    }
    siftDown(run, key, 0, n);
  }
}

/** Restores the heap below position p: (key, run) ascending, so on equal arrival the lower run wins. */
function siftDown(run: Int32Array, key: Float64Array, p: number, n: number): void {
  const r0 = run[p]!;
  const k0 = key[p]!;
  for (;;) {
    let c = 2 * p + 1;
    if (c >= n) break;
    if (c + 1 < n && (key[c + 1]! < key[c]! || (key[c + 1] === key[c] && run[c + 1]! < run[c]!))) c++;
    if (key[c]! < k0 || (key[c] === k0 && run[c]! < r0)) {
      run[p] = run[c]!;
      key[p] = key[c]!;
      p = c;
    } else break;
  }
  run[p] = r0;
  key[p] = k0;
}

/**
 * Runs one core through one frame starting at `tCore` (its previous frame.end):
 * messages `order[from, to)` (already ordered), then — after the latest upstream
 * frame.end token `lastTokenNs` — the frame's aggregated work: `extraSynops` (synapses
 * applied once per frame behind an aggregating dendrite) and `extraDendrites` (dendritic
 * adds on aggregated values: nodes after the first of a dendritic chain, and the
 * synaptic side of a post-synaptic add), then updates and spikes in ascending index.
 * Writes each spike's send time into `sendNs[s0 + k]`. `spikeLatNs` is the preset's spike
 * latency, or 0 for a relay's sends (no neuron fires: its messages cost, not a spike).
 */
export function runCoreFrameArrays(
  chip: ChipSpec, tCore: number, m: MessageArrays, order: Int32Array, from: number, to: number, lastTokenNs: number,
  extraSynops: number, extraDendrites: number, updates: Int32Array, u0: number, u1: number, spikes: Int32Array, s0: number, s1: number,
  sendNs: Float64Array, spikeLatNs: number,
): CoreFrameTimes {
  const c = chip.costs;
  const q = chip.core.queueDepth;
  const inLat = c.message_in.latencyNs;
  const synLat = c.synop.latencyNs;
  const denLat = c.dendrite_add.latencyNs;
  // Unary plus: the clock stays an unboxed double (with a bare parameter in its phi, V8
  // kept `t` tagged and allocated a heap number at every step, 11 KB a frame).
  let t = +tCore;
  const lastToken = +lastTokenNs;
  const extra = +extraSynops * synLat + +extraDendrites * denLat;
  let busy = 0;
  let stall = 0;
  let queueMax = 0;
  let started = from;
  // starts[i] lives in a scratch array indexed by position in the ordered range.
  if (startScratch.length < to - from) startScratch = new Float64Array(Math.max(to - from, 2 * startScratch.length));
  const starts = startScratch;
  for (let i = from; i < to; i++) {
    const j = order[i]!;
    let arrive = m.arrival[j]!;
    const k = i - from;
    // A full queue holds the message in the network until the one Q places ahead starts.
    if (k >= q && starts[k - q]! > arrive) {
      stall += starts[k - q]! - arrive;
      arrive = starts[k - q]!;
    }
    while (started < i && starts[started - from]! <= arrive) started++;
    if (i - started + 1 > queueMax) queueMax = i - started + 1;
    const start = arrive > t ? arrive : t;
    starts[k] = start;
    const work = inLat + m.synops[j]! * synLat + m.dendrites[j]! * denLat;
    t = start + work;
    busy += work;
  }
  if (q !== Infinity && queueMax > q) queueMax = q;
  if (lastToken > t) t = lastToken;
  if (extra > 0) {
    t += extra;
    busy += extra;
  }
  let u = u0;
  let s = s0;
  while (u < u1 || s < s1) {
    const ui = u < u1 ? updates[u]! : Infinity;
    const si = s < s1 ? spikes[s]! : Infinity;
    if (ui <= si) {
      t += c.neuron_update.latencyNs;
      busy += c.neuron_update.latencyNs;
      u++;
    } else {
      t += spikeLatNs;
      busy += spikeLatNs;
      sendNs[s++] = t;
    }
  }
  return { endNs: t, busyNs: busy, stallNs: stall, queueMax };
}

let startScratch = new Float64Array(1024);

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
