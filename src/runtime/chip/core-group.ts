/**
 * A core-group actor (DESIGN §6): owns a fixed set of cores and, for each of them, the
 * neurons of one partition. Per frame and segment it merges the delta batches of its
 * input streams, runs the model's kernels (results are kept only for owned neurons, so
 * they equal the functional run bit for bit), times every core with the §5 model, and
 * emits delta batches to the actors holding the targets. Pure logic: no threads, no
 * clocks; the worker shell and the in-process transport both drive it.
 */
import { arrivalNs, coreEnergyPj, mergeBySource, runCoreFrameArrays, type MessageArrays } from '../../chip/timing.js';
import { addSynapticReach, PartSums, partsByRow, synapseGeometry, type StreamRoutes, type SynapseGeometry } from '../../chip/routing.js';
import { isAggregated, type Segment } from '../../chip/segments.js';
import type { ChipSetup } from '../../chip/setup.js';
import { makeDeltaKernel, type DeltaKernel } from '../../model/evnet/delta-kernels.js';
import { createGate, gateOverride, type EvnetOptions } from '../../model/evnet/engine.js';
import type { NodeStep } from '../../model/evnet/plan.js';
import { DeltaList, IndexList } from '../../model/evnet/sparse.js';
import { makeValueKernel, type ValueKernel } from '../../model/evnet/value-kernels.js';
import { objects } from '../objects.js';
import { countDendrites, dendriteCounter, type DendriteCounter } from './dendrites.js';
import { EventLog } from './event-log.js';
import { actorCount, fanOut, gateFan, tilesPlusOne, type GateFan, type Outbound } from './fan.js';
import {
  accumulateDeltas, accumulateFlush, ascending, coresOf, emptyStats, entryAdds, gather, groupByCore, haloRuntime, indicesOf, iota, maskOf,
  nonDecreasing, offsetsOf, ownedBy, routesInto, SEND_KEYS, sourceActors, type HaloRuntime,
} from './group-arrays.js';
import { keepOwned, Relay, type StreamSource } from './relay.js';
import { Scratch } from './scratch.js';
import type { CoreStats, DeltaBatch, FrameReport, InputsDone } from '../messages.js';

/** One input stream of a segment this frame: its routes into my cores, merged entries, their send times and sources. */
interface MergedInput {
  r: StreamRoutes;
  l: DeltaList;
  send: Float64Array;
  src: Int32Array;
  /** Each route entry's dendritic adds as a message (parallel to r.core; null: none). */
  adds: Int32Array | null;
}

/** A segment's spikes grouped by core (list[start[i], start[i + 1]) for slot i), with their gate, entry and trigger. */
interface Spikes {
  n: number;
  list: Int32Array;
  start: Int32Array;
  gate: Int32Array;
  ent: Int32Array;
  trigSorted: Int32Array;
  sendSorted: Float64Array;
}

/**
 * What one advance() produced: batches to send, a finished frame, input cores done. The
 * group reuses it: it holds until the next advance(), so callers take what they need first.
 */
export interface Advanced {
  out: Outbound[];
  reports: FrameReport[];
  inputs: InputsDone[];
  ran: boolean;
}

interface SegRuntime {
  seg: Segment;
  /** My cores in this segment, ascending, and their slots. */
  cores: Int32Array;
  coreSlots: Int32Array;
  pre: { step: NodeStep; kernel: DeltaKernel | null }[];
  syn: { step: NodeStep; kernel: DeltaKernel; geo: SynapseGeometry; aggregated: boolean }[];
  post: { step: NodeStep; kernel: DeltaKernel | null }[];
  values: { step: NodeStep; kernel: ValueKernel }[];
  gates: { stream: number; valueTensor: number; gate: StreamSource; owned: Int32Array }[];
  accOffset: Float32Array;
  /** Per accumulator element: 1 when accumulated on my cores (owned, or a shadow row of one). */
  accHere: Uint8Array;
  /** Those elements, ascending (a flush restarts them all). */
  accList: Int32Array;
  /** Shadow rows my cores hold (mapper.ts `s1`), or null: none. */
  halo: HaloRuntime | null;
  /**
   * When the segment has shadow rows anywhere: per gate, the owner of each element of its
   * value tensor. Pooled windows that start in another partition are computed here from
   * rows this actor may not hold (shadow or not); only owned ones may reach a gate.
   */
  gateOwners: Int32Array[] | null;
  /** Per my core: rows → my partitions (for aggregated synops). */
  rowParts: ReturnType<typeof partsByRow>;
  /** The dendritic adds my cores make per frame on aggregated values (null: none). */
  dendrites: DendriteCounter | null;
  /** Per input stream (as seg.inputs): each route entry's dendritic adds as a message (parallel to inRoutes[q].core; null: none). */
  messageAdds: (Int32Array | null)[];
  /** Per input stream (as seg.inputs): its routes kept only where they reach this segment's cores owned here. */
  inRoutes: StreamRoutes[];
  /** Each gate's output list, and its send times this frame (views of scratch buffers). */
  gateLists: DeltaList[];
  /**
   * Spikes are put in trigger order explicitly: with several gates, or one whose
   * triggers do not rise with its index (a softmax over a non-last axis).
   */
  sortSpikes: boolean;
  sendTimes: Float64Array[];
}

export class CoreGroup {
  readonly cores: Int32Array;
  private readonly isMine: Uint8Array;
  private readonly slot: Int32Array;
  private readonly segs: SegRuntime[] = [];
  private readonly values = new Map<number, Float32Array>();
  private readonly changed = new Map<number, IndexList>();
  private readonly deltas = new Map<number, DeltaList>();
  /** Source actors whose batch completes a stream for me, per stream. */
  private readonly expected = new Map<number, Set<number>>();
  /** Per produced stream: destination actor → my cores upstream of it. */
  private readonly dests = new Map<number, Map<number, Int32Array>>();
  /** Per produced stream with routes: where my neurons' messages go (see GateFan). */
  private readonly fans = new Map<number, GateFan>();
  /** Per actor: entries counted for, then written into, its batch (scratch). */
  private readonly fill: Int32Array;
  /** Synapses behind an aggregating dendrite, by partition (scratch). */
  private readonly partSums: PartSums;
  private readonly inbox = new Map<string, DeltaBatch[]>();
  private readonly tCore: Float64Array;
  private frame = 0;
  private nextSeg = 0;
  private flush = false;
  private started = false;
  /** Frames started by the coordinator while an earlier one was still running here (≤ 1, §6). */
  private readonly pending: { frame: number; flush: boolean }[] = objects([]);
  /** Index in segs after which my input cores are done for the frame (−1: I own none). */
  private readonly inputSeg: number;
  /** Slots of my input cores. */
  private readonly inputSlots: Int32Array;
  private stats: CoreStats;
  private counts = { gateUpdates: 0, accUpdates: 0, transmissions: 0 };
  private msgs: MessageArrays = { arrival: new Float64Array(0), src: new Int32Array(0), seq: new Int32Array(0), synops: new Int32Array(0), dendrites: new Int32Array(0) };
  /** Per message (as msgs): the synapses into the destination core's shadow rows. */
  private msgHalo = new Int32Array(0);
  private order = new Int32Array(0);
  private readonly scratch = new Scratch();
  /** advance()'s result, emptied on each call (objects(): one elements kind). */
  private readonly advanced: Advanced = { out: objects([]), reports: objects([]), inputs: objects([]), ran: false };
  /** Frame.end tokens of a segment's input batches, by source core (reused). */
  private readonly tokens = new Map<number, number>();
  private upd = new Int32Array(0);
  /** Messages received this frame: (t_ns, src, dst, neuron, value, hops) flattened. */
  private readonly events = new EventLog();
  /** Source core id + 1 → rank among a core's upstream cores (scratch). */
  private readonly srcRank: Int32Array;
  /** Tile coordinates by core id + 1 (index 0: the sensor on tile (0,0)). */
  private readonly tileX1: Int32Array;
  private readonly tileY1: Int32Array;
  /** setup.upstream with one array shape whatever built it (see objects()). */
  private readonly upstreamOf: Int32Array[];

  constructor(
    private readonly setup: ChipSetup,
    readonly actor: number,
    coreActor: Int32Array,
    opts: EvnetOptions,
    /** Record every received message (trace level `events`). */
    private readonly recordEvents = false,
  ) {
    const { plan, mapping, routes, owner } = setup;
    const g = plan.graph;
    const nCores = mapping.cores.length;
    this.isMine = new Uint8Array(nCores);
    const mine: number[] = [];
    for (let c = 0; c < nCores; c++) if (coreActor[c] === actor) { this.isMine[c] = 1; mine.push(c); }
    this.cores = Int32Array.from(mine);
    this.slot = new Int32Array(nCores).fill(-1);
    mine.forEach((c, i) => (this.slot[c] = i));
    this.tCore = new Float64Array(mine.length);
    this.srcRank = new Int32Array(nCores + 1);
    ({ tileX1: this.tileX1, tileY1: this.tileY1 } = tilesPlusOne(mapping));
    this.upstreamOf = objects(setup.upstream);
    this.fill = new Int32Array(actorCount(coreActor));
    this.partSums = new PartSums(mapping.partitions.length);
    this.stats = emptyStats(this.cores);
    const offsets = offsetsOf(plan);
    // A dense run's zeros stay messages through the dendrites, as in the functional run.
    const keepZeros = opts.policy.sendAll === true;
    const list = (t: number): DeltaList => {
      let l = this.deltas.get(t);
      if (!l) { l = new DeltaList(plan.tensors[t]!.size); this.deltas.set(t, l); }
      return l;
    };
    const value = (t: number): void => {
      if (!this.values.has(t)) {
        this.values.set(t, new Float32Array(plan.tensors[t]!.size));
        this.changed.set(t, new IndexList(plan.tensors[t]!.size));
      }
    };
    for (const seg of mapping.segments) {
      const parts = mapping.partitions.filter((p) => p.segment === seg.id && this.isMine[p.core]);
      if (parts.length === 0) continue;
      for (const t of seg.inputs) list(t);
      const accOwned = ownedBy(owner.get(seg.acc.out)!, this.isMine);
      const halo = haloRuntime(setup.shadows.get(seg.acc.out), owner.get(seg.acc.out)!, this.isMine, this.slot);
      const accHere = halo?.here ?? maskOf(accOwned, owner.get(seg.acc.out)!.length);
      value(seg.acc.out);
      list(seg.acc.in);
      const inSeg = new Uint8Array(nCores);
      for (const p of parts) inSeg[p.core] = 1;
      const cores = coresOf(parts);
      const dendrites = dendriteCounter(plan, seg, parts, cores, owner.get(seg.acc.out)!);
      const inRoutes = objects(seg.inputs.map((stream) => routesInto(routes.get(stream)!, inSeg)));
      // What fills the segment's outgoing streams: its gates, or a relay's neurons.
      const sources: SegRuntime['gates'] = seg.relay
        ? objects([{ stream: seg.acc.out, valueTensor: seg.acc.out, gate: new Relay(owner.get(seg.acc.out)!, this.isMine), owned: accOwned }])
        : objects(seg.gates.map((gs) => ({ stream: gs.out, valueTensor: gs.in, gate: createGate(plan, gs, opts, gateOverride(plan, gs, opts.layers)?.ov), owned: ownedBy(owner.get(gs.in)!, this.isMine) })));
      const rt: SegRuntime = {
        seg, cores, coreSlots: Int32Array.from(cores, (c) => this.slot[c]!),
        pre: objects(seg.pre.map((step) => { list(step.out); return { step, kernel: makeDeltaKernel(g, step.node, { keepZeros }) }; })),
        syn: objects(seg.synaptic.map((step) => {
          list(step.out);
          // Compute only the output rows of my partitions (all rows of a non-conv node).
          const rows = new Uint8Array(seg.rows);
          for (const p of parts) rows.fill(1, p.r0, p.s1);
          const kernel = makeDeltaKernel(g, step.node, { convRows: step.node.op.kind === 'conv' ? rows : null })!;
          return { step, kernel, geo: synapseGeometry(plan, step), aggregated: isAggregated(seg, step) };
        })),
        post: objects(seg.post.map((step) => { list(step.out); return { step, kernel: makeDeltaKernel(g, step.node, { keepZeros }) }; })),
        values: objects(seg.values.map((step) => { value(step.out); return { step, kernel: makeValueKernel(g, step.node) }; })),
        gates: sources,
        accOffset: offsets.get(seg.acc.out) ?? new Float32Array(0),
        accHere,
        accList: halo ? indicesOf(accHere) : accOwned,
        halo,
        gateOwners: setup.shadows.has(seg.acc.out) ? sources.map((src) => owner.get(src.valueTensor)!) : null,
        rowParts: partsByRow(seg, parts),
        dendrites, messageAdds: seg.inputs.map((_, q) => entryAdds(inRoutes[q]!, dendrites?.messageAdds[q] ?? null, cores)),
        // Set here, not assigned later: a field changing type deprecates the object's map.
        gateLists: objects(sources.map((src) => list(src.stream))),
        sortSpikes: sources.length > 1 || (sources.length === 1 && !nonDecreasing(setup.trigger.get(sources[0]!.stream)!)),
        sendTimes: objects(sources.map(() => new Float64Array(0))),
        inRoutes,
      };
      this.segs.push(rt);
    }
    // Who completes my input streams, and whom my gate streams feed.
    for (const rt of this.segs) {
      for (const stream of rt.seg.inputs) this.expected.set(stream, sourceActors(routes.get(stream)!, owner.get(stream)!, this.isMine, coreActor));
      for (const gt of rt.gates) {
        const r = routes.get(gt.stream);
        const { fan, dests } = gateFan(r, owner.get(gt.stream)!, (c) => c >= 0 && this.isMine[c] === 1, coreActor, this.tileX1, this.tileY1, this.fill.length);
        if (fan) this.fans.set(gt.stream, fan);
        this.dests.set(gt.stream, dests);
      }
    }
    const inputs = Array.from(setup.inputCores).filter((c) => this.isMine[c]);
    this.inputSlots = Int32Array.from(inputs, (c) => this.slot[c]!);
    let inputSeg = -1;
    for (let j = 0; j < this.segs.length; j++) if (this.segs[j]!.cores.some((c) => inputs.includes(c))) inputSeg = j;
    this.inputSeg = inputSeg;
  }

  /** The frame running here (or last run). */
  get frameNow(): number {
    return this.frame;
  }

  /**
   * Frame k starts (the coordinator says whether it is a flush). With two frames in
   * flight it may come while frame k − 1 still runs here; it then begins as soon as
   * that one is reported.
   */
  startFrame(frame: number, flush: boolean): void {
    if (this.started) this.pending.push({ frame, flush });
    else this.begin(frame, flush);
  }

  private begin(frame: number, flush: boolean): void {
    this.frame = frame;
    this.flush = flush;
    this.nextSeg = 0;
    this.started = true;
    this.stats = emptyStats(this.cores);
    this.counts = { gateUpdates: 0, accUpdates: 0, transmissions: 0 };
  }

  receive(b: DeltaBatch): void {
    const key = `${b.frame}:${b.stream}`;
    const l = this.inbox.get(key);
    if (l) l.push(b);
    else this.inbox.set(key, [b]);
  }

  private ready(rt: SegRuntime): boolean {
    for (const s of rt.seg.inputs) {
      const got = this.inbox.get(`${this.frame}:${s}`) ?? [];
      if (got.length < this.expected.get(s)!.size) return false;
    }
    return true;
  }

  /**
   * One step: runs the next segment of the current frame if its inputs are complete
   * (beginning a frame the coordinator started, finishing one whose last segment ran).
   * `ran` says whether anything happened; callers send what it produced, deliver, and
   * step again until nothing does, so batches leave as soon as their segment ran. Once
   * my input cores are done with a frame it reports their latest frame.end (the
   * coordinator's cue to let the next frame enter, §5).
   */
  advance(): Advanced {
    const res = this.advanced;
    res.out.length = 0;
    res.reports.length = 0;
    res.inputs.length = 0;
    res.ran = false;
    if (!this.started) {
      const next = this.pending.shift();
      if (!next) return res;
      this.begin(next.frame, next.flush);
    }
    if (this.nextSeg < this.segs.length && this.ready(this.segs[this.nextSeg]!)) {
      this.runSegment(this.segs[this.nextSeg]!, res.out);
      if (this.nextSeg === this.inputSeg) res.inputs.push(this.inputsDone());
      this.nextSeg++;
      res.ran = true;
    }
    if (this.nextSeg === this.segs.length) {
      this.started = false;
      // A stream may feed several of my segments: its batches live until the frame ends.
      for (const key of [...this.inbox.keys()]) if (key.startsWith(`${this.frame}:`)) this.inbox.delete(key);
      res.reports.push(this.report());
      res.ran = true;
    }
    return res;
  }

  private inputsDone(): InputsDone {
    let endNs = -Infinity;
    for (let i = 0; i < this.inputSlots.length; i++) endNs = Math.max(endNs, this.tCore[this.inputSlots[i]!]!);
    return { type: 'frame.inputs', frame: this.frame, actor: this.actor, endNs };
  }

  private report(): FrameReport {
    const { plan, chip } = this.setup;
    const st = this.stats;
    for (let i = 0; i < this.cores.length; i++) {
      st.endNs[i] = this.tCore[i]!;
      st.energyPj[i] = coreEnergyPj(chip, {
        // Shadow rows' synapses and updates are work like any other.
        synops: st.synops[i]! + st.haloSynops[i]!, dendriteAdds: st.dendriteAdds[i]!, neuronUpdates: st.neuronUpdates[i]! + st.haloUpdates[i]!, spikes: st.spikes[i]!,
        messagesOut: st.messagesOut[i]!, messagesIn: st.messagesIn[i]!, hopsEw: st.hopsEw[i]!, hopsNs: st.hopsNs[i]!, busyNs: st.busyNs[i]!,
      });
    }
    const outOwn = this.setup.owner.get(plan.output)!;
    const y = this.values.get(plan.output);
    const oi: number[] = [];
    const ov: number[] = [];
    if (y) for (let i = 0; i < outOwn.length; i++) if (outOwn[i]! >= 0 && this.isMine[outOwn[i]!]) { oi.push(i); ov.push(y[i]!); }
    const events = this.recordEvents ? this.events.take() : null;
    return {
      type: 'frame.report', frame: this.frame, actor: this.actor, stats: st, outIdx: Int32Array.from(oi), outVal: Float32Array.from(ov),
      ...this.counts, events,
    };
  }

  /**
   * Merges the batches of one stream into its delta list (ascending neuron) plus
   * per-entry send time and source core. Every batch is ascending (a gate lists its
   * changes in index order) and the batches hold disjoint neurons (each has one owner),
   * so a k-way merge gives the one ascending order, whoever sent what.
   */
  private mergeStream(stream: number, tokens: Map<number, number>): { send: Float64Array; src: Int32Array } {
    const batches = this.inbox.get(`${this.frame}:${stream}`) ?? [];
    const nb = batches.length;
    let n = 0;
    for (let b = 0; b < nb; b++) n += batches[b]!.idx.length;
    // Several input streams are merged before any is used: keys per stream.
    const sc = this.scratch;
    const send = sc.floats(`ms.${stream}.send`, n);
    const src = sc.ints(`ms.${stream}.src`, n);
    const heads = sc.ints('ms.heads', nb, true);
    for (let b = 0; b < nb; b++) {
      const bt = batches[b]!;
      for (let i = 0; i < bt.tokenCore.length; i++) tokens.set(bt.tokenCore[i]!, bt.tokenNs[i]!);
      // The merge (and so the arithmetic order, whatever the worker count) rests on this.
      if (!ascending(bt.idx)) throw new Error(`internal: a batch of stream ${stream} from actor ${bt.srcActor} is not in ascending neuron order`);
    }
    const l = this.deltas.get(stream)!;
    if (nb === 1) {
      const bt = batches[0]!;
      l.idx.set(bt.idx);
      l.val.set(bt.val);
      l.n = n;
      send.set(bt.sendNs);
      src.set(bt.srcCore);
      return { send, src };
    }
    l.n = 0;
    for (let k = 0; k < n; k++) {
      let best = -1;
      let bestIdx = 0x7fffffff;
      for (let b = 0; b < nb; b++) {
        const h = heads[b]!;
        const bt = batches[b]!;
        if (h < bt.idx.length && bt.idx[h]! < bestIdx) {
          bestIdx = bt.idx[h]!;
          best = b;
        }
      }
      const bt = batches[best]!;
      const h = heads[best]!++;
      l.push(bestIdx, bt.val[h]!);
      send[k] = bt.sendNs[h]!;
      src[k] = bt.srcCore[h]!;
    }
    return { send, src };
  }

  /**
   * One segment of the current frame: its messages in, its kernels, accumulators, value
   * nodes and gates on my neurons, the §5 timing of each of my cores in it, and its
   * batches out. Each step is a method of its own, so V8 optimises (and, when a sweep's
   * next point brings new shapes, re-optimises) small functions, not one large one.
   */
  private runSegment(rt: SegRuntime, out: Outbound[]): void {
    // 1. Inputs, and the messages each core of this segment receives.
    const tokens = this.tokens;
    tokens.clear();
    // objects(): one elements kind whatever the inputs (the bare map() array deoptimised
    // this function at its first loop in every sweep worker).
    const merged = objects(rt.seg.inputs.map((stream, q) => {
      const m = this.mergeStream(stream, tokens);
      return { r: rt.inRoutes[q]!, l: this.deltas.get(stream)!, send: m.send, src: m.src, adds: rt.messageAdds[q]! };
    }));
    const count = this.countMessages(merged);
    const msg = this.fillMessages(merged, count);
    // 2. Dendrites, synapses, post-synaptic adds; the adds each core makes on aggregated values.
    const extraSynops = this.runKernels(rt);
    const extraDendrites = this.scratch.floats('extraDendrites', this.cores.length, true);
    if (rt.dendrites) countDendrites(rt.dendrites, this.deltas, rt.coreSlots, extraDendrites);
    // 3. Accumulate owned neurons only; updated neurons listed per core (ascending). A
    // relay's neurons hold no accumulator.
    const upd = rt.seg.relay ? this.noUpdates() : this.accumulate(rt);
    // 4. Value nodes and gates (their changed lists hold owned neurons only), then the
    // spikes per core in trigger order.
    this.runGates(rt);
    const sp = this.spikesByCore(rt);
    // 5. Time every core of the segment.
    this.timeCores(rt, tokens, count, msg, extraSynops, extraDendrites, upd, sp);
    const sendTimes = rt.sendTimes;
    const gateOut = rt.gateLists;
    for (let gi = 0; gi < gateOut.length; gi++) sendTimes[gi] = this.scratch.floats(SEND_KEYS[gi] ?? `send.${gi}`, gateOut[gi]!.n);
    for (let k = 0; k < sp.n; k++) {
      const j = sp.list[k]!;
      sendTimes[sp.gate[j]!]![sp.ent[j]!] = sp.sendSorted[k]!;
    }
    // 6. Batches per destination actor; messages and hops are charged to the sender.
    for (let gi = 0; gi < rt.gates.length; gi++) this.emit(rt.gates[gi]!.stream, gateOut[gi]!, sendTimes[gi]!, out);
  }

  /**
   * Messages per core of mine (counting sort by core: count[slot + 1]), then prefix sums.
   * A stream may also feed my cores of another segment: those count there (inRoutes
   * holds only the routes into this segment's cores).
   */
  private countMessages(merged: MergedInput[]): Int32Array {
    const slot = this.slot;
    const nMine = this.cores.length;
    const count = this.scratch.ints('count', nMine + 1, true);
    for (let q = 0; q < merged.length; q++) {
      const { r, l } = merged[q]!;
      for (let e = 0; e < l.n; e++) {
        const s = l.idx[e]!;
        for (let k = r.offsets[s]!; k < r.offsets[s + 1]!; k++) count[slot[r.core[k]!]! + 1]++;
      }
    }
    for (let i = 0; i < nMine; i++) count[i + 1] += count[i]!;
    return count;
  }

  /** Each message's arrival (§5), source, sequence, synops and adds, grouped by core. */
  private fillMessages(merged: MergedInput[], count: Int32Array): MessageArrays {
    const { chip } = this.setup;
    const slot = this.slot;
    // SENSOR is −1: index + 1 reads the sensor's tile (0,0) at slot 0.
    const tileX1 = this.tileX1;
    const tileY1 = this.tileY1;
    const nMine = this.cores.length;
    const msg = this.msgBuf(count[nMine]!);
    const order = this.order;
    const fill = this.scratch.ints('fill', nMine);
    fill.set(count.subarray(0, nMine));
    for (let q = 0; q < merged.length; q++) {
      const { r, l, send, src: srcOf, adds } = merged[q]!;
      for (let e = 0; e < l.n; e++) {
        const s = l.idx[e]!;
        const src = srcOf[e]!;
        const sx = tileX1[src + 1]!;
        const sy = tileY1[src + 1]!;
        for (let k = r.offsets[s]!; k < r.offsets[s + 1]!; k++) {
          const c = r.core[k]!;
          const at = fill[slot[c]!]!++;
          const dx = tileX1[c + 1]! - sx;
          const dy = tileY1[c + 1]! - sy;
          msg.arrival[at] = arrivalNs(chip, send[e]!, dx, dy);
          msg.src[at] = src;
          msg.seq[at] = s;
          // Time covers the shadow rows' synapses too; the stats split them off (msgHalo).
          msg.synops[at] = r.synops[k]! + r.halo[k]!;
          this.msgHalo[at] = r.halo[k]!;
          msg.dendrites[at] = adds ? adds[k]! : 0;
          if (this.recordEvents) this.events.push(msg.arrival[at]!, src, c, s, l.val[e]!, Math.abs(dx) + Math.abs(dy));
          order[at] = at;
        }
      }
    }
    return msg;
  }

  /** Dendrites, synapses and post-synaptic adds; returns the synops behind aggregating dendrites, by core slot. */
  private runKernels(rt: SegRuntime): Float64Array {
    const { mapping } = this.setup;
    for (let q = 0; q < rt.pre.length; q++) this.runDelta(rt.pre[q]!.step, rt.pre[q]!.kernel);
    const extraSynops = this.scratch.floats('extraSynops', this.cores.length, true);
    for (let q = 0; q < rt.syn.length; q++) {
      const sn = rt.syn[q]!;
      sn.kernel.run(sn.step.ins.map((t) => this.deltas.get(t)!), this.deltas.get(sn.step.out)!);
      if (sn.aggregated) {
        const perPart = this.partSums;
        perPart.clear();
        const inp = this.deltas.get(sn.step.ins[0]!)!;
        for (let i = 0; i < inp.n; i++) addSynapticReach(sn.geo, inp.idx[i]!, rt.rowParts, perPart);
        for (let i = 0; i < perPart.n; i++) extraSynops[this.slot[mapping.partitions[perPart.ids[i]!]!.core]!] += perPart.sum[perPart.ids[i]!]!;
      }
    }
    for (let q = 0; q < rt.post.length; q++) this.runDelta(rt.post[q]!.step, rt.post[q]!.kernel);
    return extraSynops;
  }

  /**
   * Adds the segment's deltas into the accumulators held here (a flush restarts them from
   * their offsets); the updated neurons by core. With shadow rows every element here is
   * accumulated once (its owner's or a shadow's, whichever cores are mine) and each core's
   * updates are its own neurons and its shadow rows, ascending; only owned updates count
   * as the run's (the functional count).
   */
  private accumulate(rt: SegRuntime): { list: Int32Array; start: Int32Array } {
    const { owner } = this.setup;
    const acc = rt.seg.acc;
    const accOwn = owner.get(acc.out)!;
    const a = this.values.get(acc.out)!;
    const ach = this.changed.get(acc.out)!;
    const delta = this.deltas.get(acc.in)!;
    ach.n = 0;
    // The flush (a run's first frame, a reset) is a function of its own: run once per
    // segment and run, it would deoptimise the per-frame path it sat in.
    const updIdx = this.flush ? rt.accList : this.updBuf(delta.n);
    const nUpd = this.flush ? accumulateFlush(a, ach, delta, rt.accHere, rt.accList, rt.accOffset) : accumulateDeltas(a, ach, delta, rt.accHere, updIdx);
    const h = rt.halo;
    if (!h) {
      this.counts.accUpdates += nUpd;
      return groupByCore(updIdx, nUpd, accOwn, this.slot, this.cores.length, false, this.scratch, 'upd');
    }
    const { shadowOff, shadowSlots } = h;
    const haloUpd = this.scratch.floats('halo.upd', this.cores.length, true);
    let owned = 0;
    for (let k = 0; k < nUpd; k++) {
      const i = updIdx[k]!;
      const c = accOwn[i]!;
      if (c >= 0 && this.isMine[c]) owned++;
      for (let q = shadowOff[i]!; q < shadowOff[i + 1]!; q++) haloUpd[shadowSlots[q]!]++;
    }
    this.counts.accUpdates += owned;
    return groupByCore(updIdx, nUpd, accOwn, this.slot, this.cores.length, false, this.scratch, 'upd', h);
  }

  /** No neuron updated, grouped by core like `accumulate`'s. */
  private noUpdates(): { list: Int32Array; start: Int32Array } {
    return { list: this.scratch.ints('upd.none', 0), start: this.scratch.ints('upd.noneStart', this.cores.length + 1, true) };
  }

  /** Value nodes and gates of the segment on my neurons. */
  private runGates(rt: SegRuntime): void {
    const flush = this.flush;
    for (let q = 0; q < rt.values.length; q++) {
      const v = rt.values[q]!;
      v.kernel.run(
        v.step.ins.map((t) => this.values.get(t)!), v.step.ins.map((t) => this.changed.get(t)!),
        this.values.get(v.step.out)!, this.changed.get(v.step.out)!, flush,
      );
    }
    const gateOut = rt.gateLists;
    // Shadow rows make values of windows my cores do not own: only owned ones reach a gate.
    if (rt.gateOwners && !flush) {
      for (let gi = 0; gi < rt.gates.length; gi++) {
        const ch = this.changed.get(rt.gates[gi]!.valueTensor)!;
        ch.n = keepOwned(ch.idx, null, ch.n, rt.gateOwners[gi]!, this.isMine);
      }
    }
    for (let gi = 0; gi < rt.gates.length; gi++) {
      const gt = rt.gates[gi]!;
      const x = this.values.get(gt.valueTensor)!;
      const o = gateOut[gi]!;
      if (flush) gt.gate.flushOwned(x, gt.owned, o);
      else gt.gate.run(x, this.changed.get(gt.valueTensor)!, o);
      this.counts.gateUpdates += gt.gate.updates;
      this.counts.transmissions += gt.gate.transmissions;
    }
  }

  /** The segment's spikes, (trigger, gate, entry) as parallel arrays, grouped by core in trigger order. */
  private spikesByCore(rt: SegRuntime): Spikes {
    const { owner, trigger } = this.setup;
    const gateOut = rt.gateLists;
    const nMine = this.cores.length;
    let nSp = 0;
    for (let q = 0; q < gateOut.length; q++) nSp += gateOut[q]!.n;
    const sc = this.scratch;
    const spTrig = sc.ints('sp.trig', nSp);
    const spGate = sc.ints('sp.gate', nSp);
    const spEnt = sc.ints('sp.ent', nSp);
    const spCore = sc.ints('sp.core', nSp);
    let k = 0;
    for (let gi = 0; gi < rt.gates.length; gi++) {
      const gt = rt.gates[gi]!;
      const o = gateOut[gi]!;
      const own = owner.get(gt.stream)!;
      const trig = trigger.get(gt.stream)!;
      for (let e = 0; e < o.n; e++) {
        spTrig[k] = trig[o.idx[e]!]!;
        spGate[k] = gi;
        spEnt[k] = e;
        spCore[k++] = own[o.idx[e]!]!;
      }
    }
    const sp = groupByCore(iota(sc.ints('sp.items', nSp)), nSp, spCore, this.slot, nMine, true, sc, 'sp');
    if (rt.sortSpikes) {
      for (let i = 0; i < nMine; i++) sp.list.subarray(sp.start[i]!, sp.start[i + 1]!).sort((x, y) => spTrig[x]! - spTrig[y]! || spGate[x]! - spGate[y]! || spEnt[x]! - spEnt[y]!);
    }
    return {
      n: nSp, list: sp.list, start: sp.start, gate: spGate, ent: spEnt,
      trigSorted: gather(sc.ints('sp.trigSorted', nSp), sp.list, spTrig), sendSorted: sc.floats('sp.sendSorted', nSp),
    };
  }

  /** §5 timing of each of my cores in the segment: its messages in order, then updates and spikes; sets the spikes' send times. */
  private timeCores(
    rt: SegRuntime, tokens: Map<number, number>, count: Int32Array, msg: MessageArrays, extraSynops: Float64Array,
    extraDendrites: Float64Array, upd: { list: Int32Array; start: Int32Array }, sp: Spikes,
  ): void {
    const { chip } = this.setup;
    const upstream = this.upstreamOf;
    const slot = this.slot;
    const tileX1 = this.tileX1;
    const tileY1 = this.tileY1;
    const st = this.stats;
    const relay = rt.seg.relay;
    const spikeLat = relay ? 0 : chip.costs.spike.latencyNs;
    for (let q = 0; q < rt.cores.length; q++) {
      const c = rt.cores[q]!;
      const i = slot[c]!;
      let lastToken = -Infinity;
      const ups = upstream[c]!;
      for (let j = 0; j < ups.length; j++) {
        const u = ups[j]!;
        const endU = tokens.get(u);
        if (endU === undefined) continue;
        const arr = arrivalNs(chip, endU, tileX1[c + 1]! - tileX1[u + 1]!, tileY1[c + 1]! - tileY1[u + 1]!);
        if (arr > lastToken) lastToken = arr;
      }
      const m0 = count[i]!;
      const m1 = count[i + 1]!;
      for (let j = 0; j < ups.length; j++) this.srcRank[ups[j]! + 1] = j;
      mergeBySource(msg, this.order, m0, m1, ups, this.srcRank);
      const res = runCoreFrameArrays(
        chip, this.tCore[i]!, msg, this.order, m0, m1, lastToken, extraSynops[i]!, extraDendrites[i]!,
        upd.list, upd.start[i]!, upd.start[i + 1]!, sp.trigSorted, sp.start[i]!, sp.start[i + 1]!, sp.sendSorted, spikeLat,
      );
      this.tCore[i] = res.endNs;
      let syn = extraSynops[i]!;
      let dend = extraDendrites[i]!;
      let haloSyn = 0;
      for (let k = m0; k < m1; k++) {
        syn += msg.synops[k]!;
        haloSyn += this.msgHalo[k]!;
        dend += msg.dendrites[k]!;
      }
      st.synops[i] = syn - haloSyn;
      st.haloSynops[i] = haloSyn;
      st.dendriteAdds[i] = dend;
      st.messagesIn[i] = m1 - m0;
      const haloUpd = rt.halo ? this.scratch.floats('halo.upd', this.cores.length)[i]! : 0;
      st.neuronUpdates[i] = upd.start[i + 1]! - upd.start[i]! - haloUpd;
      st.haloUpdates[i] = haloUpd;
      // A relay's sends are messages, not spikes (nor transmissions): README, relays.
      st.spikes[i] = relay ? 0 : sp.start[i + 1]! - sp.start[i]!;
      st.busyNs[i] = res.busyNs;
      st.stallNs[i] = res.stallNs;
      st.queueMax[i] = res.queueMax;
    }
  }

  /**
   * One gate's transmissions this frame: messages and hops charged to the sending cores,
   * and a batch (ascending neuron) to every actor the stream reaches from my cores.
   */
  private emit(stream: number, o: DeltaList, sendNs: Float64Array, out: Outbound[]): void {
    // A stream has a fan exactly when it has routes (see gateFan).
    const fan = this.fans.get(stream);
    const own = this.setup.owner.get(stream)!;
    if (fan) {
      const r = this.setup.routes.get(stream)!;
      const slot = this.slot;
      const st = this.stats;
      for (let e = 0; e < o.n; e++) {
        const s = o.idx[e]!;
        const i = slot[own[s]!]!;
        st.messagesOut[i] += r.offsets[s + 1]! - r.offsets[s]!;
        st.hopsEw[i] += fan.hopsEw[s]!;
        st.hopsNs[i] += fan.hopsNs[s]!;
      }
    }
    fanOut(this.frame, stream, this.actor, o, fan ?? null, this.dests.get(stream)!, own, sendNs, this.tokenNs, this.fill, out);
  }

  /** The frame.end times so far of some of my cores (a batch's tokens). */
  private readonly tokenNs = (cores: Int32Array): Float64Array => {
    const t = new Float64Array(cores.length);
    for (let j = 0; j < cores.length; j++) t[j] = this.tCore[this.slot[cores[j]!]!]!;
    return t;
  };

  /** Grow-only message buffers for one segment's frame. */
  private msgBuf(n: number): MessageArrays {
    if (this.msgs.arrival.length < n) {
      const cap = Math.max(n, 2 * this.msgs.arrival.length);
      this.msgs = { arrival: new Float64Array(cap), src: new Int32Array(cap), seq: new Int32Array(cap), synops: new Int32Array(cap), dendrites: new Int32Array(cap) };
      this.msgHalo = new Int32Array(cap);
      this.order = new Int32Array(cap);
    }
    return this.msgs;
  }

  private updBuf(n: number): Int32Array {
    if (this.upd.length < n) this.upd = new Int32Array(Math.max(n, 2 * this.upd.length));
    return this.upd;
  }

  private runDelta(step: NodeStep, kernel: DeltaKernel | null): void {
    const outL = this.deltas.get(step.out)!;
    if (kernel) {
      kernel.run(step.ins.map((t) => this.deltas.get(t)!), outL);
      return;
    }
    outL.copyFrom(this.deltas.get(step.ins[0]!)!);
  }
}
