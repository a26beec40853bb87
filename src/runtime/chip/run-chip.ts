/**
 * The run coordinator for a chip simulation: feeds frames through the sensor, lets the
 * core-group actors exchange delta batches (through an ActorPool: in-process here,
 * worker threads in pool-workers.ts), and folds their reports into the §8 result.
 * Energy is summed per core, then over cores in core-id order: bit-identical for any
 * number of actors.
 */
import { buildChipSetup, type ChipSetup } from '../../chip/setup.js';
import type { ChipSpec } from '../../chip/spec.js';
import type { PlacementStrategy } from '../../chip/mapper.js';
import type { EvnetOptions } from '../../model/evnet/engine.js';
import { formatPolicy } from '../../model/evnet/policy.js';
import { denseMacsOf, weightBytesOf, type Graph } from '../../model/ir.js';
import type { TraceRunInfo, TraceSink } from '../trace-sink.js';
import type { Frames } from '../inputs.js';
import type { DeltaBatch, FrameReport } from '../messages.js';
import { denseReference, RunAccumulator, type FrameRecord, type RunResult } from '../result.js';
import { checkOverrides, createGate, gateOverride, planMemory } from '../../model/evnet/engine.js';
import { CoreGroup, type Outbound } from './core-group.js';
import { Sensor } from './sensor.js';
import { WorkerPool } from './worker-pool.js';

/** How the coordinator talks to the actors; implemented in-process and over worker threads. */
export interface ActorPool {
  readonly size: number;
  startFrame(frame: number, flush: boolean): void;
  deliver(to: number, batch: DeltaBatch): void;
  /** The reports of every actor for `frame`. */
  reports(frame: number): Promise<FrameReport[]>;
  close(): Promise<void>;
}

/**
 * Assigns cores to `n` actors: each layer's row blocks (every channel group of a block
 * together) are cut into BANDS·n contiguous bands dealt round-robin, so all actors work
 * on every layer of a frame at once, each computes only its own rows, activity is
 * spread evenly wherever the motion is, and each actor receives mostly the inputs of
 * its bands (plus halos). One-block layers go to actor (layer mod n). The assignment
 * never changes results, only which thread does the work.
 */
/** Bands per actor per layer: enough to even out where the motion is, few enough halos. */
const BANDS = 4;

export function assignCores(setup: ChipSetup, n: number): Int32Array {
  const { mapping } = setup;
  const out = new Int32Array(mapping.cores.length);
  const blocks = new Map<number, number[]>();
  for (const p of mapping.partitions) {
    const rows = blocks.get(p.segment) ?? [];
    if (!rows.includes(p.r0)) rows.push(p.r0);
    blocks.set(p.segment, rows);
  }
  for (const c of mapping.cores) {
    const p = mapping.partitions[c.partition]!;
    const rows = blocks.get(p.segment)!;
    const bands = Math.min(BANDS * n, rows.length);
    out[c.id] = rows.length === 1 ? p.segment % n : (Math.floor((rows.indexOf(p.r0) * bands) / rows.length) + p.segment) % n;
  }
  return out;
}

/** All actors on the calling thread; batches are delivered in FIFO order. */
export class InProcessPool implements ActorPool {
  private readonly groups: CoreGroup[];
  private readonly queue: Outbound[] = [];
  private readonly done: FrameReport[] = [];
  constructor(setup: ChipSetup, coreActor: Int32Array, n: number, opts: EvnetOptions, events = false) {
    this.groups = Array.from({ length: n }, (_, a) => new CoreGroup(setup, a, coreActor, opts, events));
  }
  get size(): number {
    return this.groups.length;
  }
  startFrame(frame: number, flush: boolean): void {
    for (const g of this.groups) g.startFrame(frame, flush);
  }
  deliver(to: number, batch: DeltaBatch): void {
    this.queue.push({ to, batch });
  }
  async reports(frame: number): Promise<FrameReport[]> {
    for (const g of this.groups) this.collect(g);
    while (this.queue.length > 0) {
      const { to, batch } = this.queue.shift()!;
      const g = this.groups[to]!;
      g.receive(batch);
      this.collect(g);
    }
    const mine = this.done.filter((r) => r.frame === frame);
    this.done.length = 0;
    return mine;
  }
  private collect(g: CoreGroup): void {
    const { out, report } = g.advance();
    this.queue.push(...out);
    if (report) this.done.push(report);
  }
  async close(): Promise<void> {}
}

export interface ChipRunOptions extends EvnetOptions {
  chip: ChipSpec;
  mesh?: 'auto' | { width: number; height: number };
  placement?: PlacementStrategy;
  workers: number;
  labels?: Int32Array | null;
  keepOutputs?: boolean;
  compareDense?: boolean;
  /** Precomputed dense outputs to compare against (see denseReference). */
  denseOutputs?: Float32Array | null;
  onFrame?: (done: number, total: number) => void;
  shouldStop?: () => boolean;
  /** Run the actors on this thread instead of worker threads (sweep points, unit tests). */
  inProcess?: boolean;
  /** Test hook: make this actor fail at this frame. */
  injectFault?: { actor: number; frame: number } | null;
  /** Where frames are recorded (begun here, ended by the caller). */
  trace?: { sink: TraceSink; info: Omit<TraceRunInfo, 'layers' | 'cores'> } | null;
}

export interface ChipRun {
  result: RunResult;
  outputs: Float32Array | null;
  outputShape: number[];
  interrupted: boolean;
  setup: ChipSetup;
  /** Per frame, per core (id order): energy pJ and frame.end ns, for traces. */
  coreEnergy: Float64Array[];
}

export async function runChip(graph: Graph, frames: Frames, count: number, opts: ChipRunOptions): Promise<ChipRun> {
  const setup = buildChipSetup(graph, opts.chip, { mesh: opts.mesh, strategy: opts.placement });
  checkOverrides(setup.plan, opts.layers);
  const nCores = setup.mapping.cores.length;
  const n = Math.max(1, Math.min(opts.workers, nCores));
  const coreActor = assignCores(setup, n);
  const evOpts: EvnetOptions = { threshold: opts.threshold, policy: opts.policy, bnGamma: opts.bnGamma, layers: opts.layers };
  // Every gate is built once here so a bad per-layer setting exits 2 before any worker starts.
  for (const st of setup.plan.steps) if (st.kind === 'gate') createGate(setup.plan, st, evOpts, gateOverride(setup.plan, st, opts.layers)?.ov);
  const sensor = new Sensor(setup, coreActor, evOpts);
  const events = opts.trace?.sink.level === 'events';
  const outT = graph.tensors[graph.output]!;
  const acc = new RunAccumulator(outT.size, count, !!opts.keepOutputs, opts.labels, denseReference(graph, opts.compareDense, opts.denseOutputs));
  const y = new Float32Array(outT.size);
  const denseMacs = graph.nodes.reduce((s, nd) => s + denseMacsOf(nd, graph), 0);
  const coreEnergy: Float64Array[] = [];
  const endNs = new Float64Array(nCores);
  const energy = new Float64Array(nCores);
  let done = 0;
  let interrupted = false;
  let lastEnd = 0;
  const { mapping } = setup;
  const nSeg = mapping.segments.length;
  const segOfCore = Int32Array.from(mapping.cores, (c) => mapping.partitions[c.partition]!.segment);
  const coreFrame = {
    messagesIn: new Float64Array(nCores), synops: new Float64Array(nCores), neuronUpdates: new Float64Array(nCores), messagesOut: new Float64Array(nCores),
    busyNs: new Float64Array(nCores), stallNs: new Float64Array(nCores), queueMax: new Float64Array(nCores), energyPj: energy, endNs,
  };
  const layerFrame = { macs: new Float64Array(nSeg), adds: new Float64Array(nSeg), updates: new Float64Array(nSeg), transmissions: new Float64Array(nSeg) };
  if (opts.trace) {
    const mem = (t: number): number => setup.plan.tensors[t]!.size;
    await opts.trace.sink.begin({
      ...opts.trace.info,
      layers: mapping.segments.map((seg) => ({
        layer_id: seg.id, name: seg.synaptic.map((x) => x.node.name).join('+') || seg.acc.name,
        op: seg.synaptic.map((x) => x.node.op.kind).join('+') || 'accumulator', kind: 'layer',
        shape: setup.plan.tensors[seg.acc.in]!.shape.join('x'),
        dense_macs: seg.synaptic.reduce((a, x) => a + denseMacsOf(x.node, graph), 0),
        weight_bytes: seg.synaptic.reduce((a, x) => a + weightBytesOf(x.node.op), 0),
        state_bytes: 4 * mem(seg.acc.in) + seg.gates.reduce((a, gt) => a + 8 * mem(gt.in), 0),
      })),
      cores: mapping.cores.map((c) => {
        const p = mapping.partitions[c.partition]!;
        return { core_id: c.id, tile_x: c.tileX, tile_y: c.tileY, layer_id: p.segment, neurons: p.neurons, synapse_bytes: p.synapseBytes };
      }),
    });
  }
  const pool: ActorPool = opts.inProcess
    ? new InProcessPool(setup, coreActor, n, evOpts, events)
    : await WorkerPool.start(setup, coreActor, n, evOpts, opts.injectFault ?? null, events);
  try {
    for (let t = 0; t < count; t++) {
      if (opts.shouldStop?.()) {
        interrupted = true;
        break;
      }
      const flush = t === 0 || (opts.policy.resetEvery > 0 && t % opts.policy.resetEvery === 0);
      let entry = 0;
      if (opts.chip.framePeriodNs > 0) entry = t * opts.chip.framePeriodNs;
      else if (t > 0) for (const c of setup.inputCores) entry = Math.max(entry, endNs[c]!);
      pool.startFrame(t, flush);
      const s = sensor.run(t, frames.data.subarray(t * frames.frameSize, (t + 1) * frames.frameSize), flush, entry);
      for (const o of s.out) pool.deliver(o.to, o.batch);
      const reports = await pool.reports(t);
      const rec: FrameRecord = { frame: t, macs: 0, dense_macs: denseMacs, adds: 0, transmissions: s.transmissions, synops: 0, messages: s.messages, hops: s.hopsEw + s.hopsNs, energy_pj: 0, latency_ns: 0 };
      let stall = 0;
      let gateUpd = s.gateUpdates;
      let accUpd = 0;
      for (const r of reports) {
        const st = r.stats;
        for (let i = 0; i < st.cores.length; i++) {
          const c = st.cores[i]!;
          energy[c] = st.energyPj[i]!;
          endNs[c] = st.endNs[i]!;
          coreFrame.messagesIn[c] = st.messagesIn[i]!;
          coreFrame.synops[c] = st.synops[i]!;
          coreFrame.neuronUpdates[c] = st.neuronUpdates[i]!;
          coreFrame.messagesOut[c] = st.messagesOut[i]!;
          coreFrame.busyNs[c] = st.busyNs[i]!;
          coreFrame.stallNs[c] = st.stallNs[i]!;
          coreFrame.queueMax[c] = st.queueMax[i]!;
          rec.synops += st.synops[i]!;
          rec.adds += st.dendriteAdds[i]!;
          rec.messages += st.messagesOut[i]!;
          rec.hops += st.hopsEw[i]! + st.hopsNs[i]!;
        }
        for (let i = 0; i < r.outIdx.length; i++) y[r.outIdx[i]!] = r.outVal[i]!;
        rec.transmissions += r.transmissions;
        gateUpd += r.gateUpdates;
        accUpd += r.accUpdates;
      }
      let e = 0;
      // Core-id order for every sum, so totals never depend on the worker count.
      for (let c = 0; c < nCores; c++) {
        e += energy[c]!;
        stall += coreFrame.stallNs[c]!;
      }
      rec.energy_pj = e + s.energyPj;
      rec.macs = rec.synops;
      let outEnd = 0;
      for (const c of setup.outputCores) outEnd = Math.max(outEnd, endNs[c]!);
      rec.latency_ns = outEnd - entry;
      lastEnd = outEnd;
      coreEnergy.push(energy.slice());
      acc.add(rec, { gateUpdates: gateUpd, accUpdates: accUpd, stallNs: stall }, y, frames.data.subarray(t * frames.frameSize, (t + 1) * frames.frameSize));
      if (opts.trace) {
        layerFrame.macs.fill(0);
        layerFrame.adds.fill(0);
        layerFrame.updates.fill(0);
        layerFrame.transmissions.fill(0);
        for (let c = 0; c < nCores; c++) {
          const sg = segOfCore[c]!;
          layerFrame.macs[sg] += coreFrame.synops[c]!;
          layerFrame.updates[sg] += coreFrame.neuronUpdates[c]!;
        }
        for (const r of reports) {
          for (let i = 0; i < r.stats.cores.length; i++) {
            const sg = segOfCore[r.stats.cores[i]!]!;
            layerFrame.adds[sg] += r.stats.dendriteAdds[i]!;
            layerFrame.transmissions[sg] += r.stats.spikes[i]!;
          }
        }
        opts.trace.sink.frame(rec, layerFrame, coreFrame, events ? reports.flatMap((r) => (r.events ? [r.events] : [])) : null);
      }
      done++;
      opts.onFrame?.(done, count);
    }
  } finally {
    await pool.close();
  }
  const fin = acc.finish(lastEnd);
  const totals = fin.totals;
  const result: RunResult = {
    frames: done, totals, per_frame: acc.perFrame, accuracy: fin.accuracy,
    error_vs_dense: fin.error_vs_dense, trace: null, model: graph.name, chip: opts.chip.name,
    policy: formatPolicy(opts.policy), threshold: opts.threshold,
    ops_reduction: totals.macs > 0 ? totals.dense_macs / totals.macs : 0,
    memory: planMemory(setup.plan), layers: [],
    cores: setup.mapping.cores.length, mesh: { width: setup.mapping.width, height: setup.mapping.height },
  };
  return { result, outputs: fin.outputs, outputShape: [done, ...outT.shape.slice(1)], interrupted, setup, coreEnergy };
}
