/**
 * The run coordinator for a chip simulation: feeds frames through the sensor, lets the
 * core-group actors exchange delta batches (through an ActorPool: in-process here,
 * worker threads in worker-pool.ts), and folds their reports into the §8 result.
 * Energy is summed per core, then over cores in core-id order: bit-identical for any
 * number of actors.
 */
import { EvsimError } from '../../errors.js';
import { buildChipSetup, planOf, type ChipSetup } from '../../chip/setup.js';
import type { ChipSpec } from '../../chip/spec.js';
import type { PlacementStrategy } from '../../chip/mapper.js';
import type { EvnetOptions, LayerOverride } from '../../model/evnet/engine.js';
import type { EvPlan } from '../../model/evnet/plan.js';
import { formatPolicy, type PolicySpec } from '../../model/evnet/policy.js';
import { denseMacsOf, weightBytesOf, type Graph } from '../../model/ir.js';
import type { TraceCoreFrame, TraceLayerFrame, TraceRunInfo, TraceSink } from '../trace-sink.js';
import { outputFrameShape, type Frames } from '../inputs.js';
import type { DeltaBatch, FrameReport } from '../messages.js';
import { denseReference, LayerSums, runResult, RunAccumulator, type FrameRecord, type RunResult } from '../result.js';
import { checkOverrides, createGate, gateGeometry, gateOverride, overridePolicy, planMemory } from '../../model/evnet/engine.js';
import { CoreGroup } from './core-group.js';
import type { Outbound } from './fan.js';
import { objects } from '../objects.js';
import { pipelineAssignment } from './balance.js';
import { Sensor, type SensorFrame } from './sensor.js';

/** A sensor frame's figures, without its batches. */
type SensorCounts = Omit<SensorFrame, 'out'>;

/** How the coordinator talks to the actors; implemented in-process and over worker threads. */
export interface ActorPool {
  readonly size: number;
  startFrame(frame: number, flush: boolean): void;
  deliver(to: number, batch: DeltaBatch): void;
  /** The latest frame.end of the input cores in `frame`: when the next frame may enter (§5). */
  inputsDone(frame: number): Promise<number>;
  /** The reports of every actor for `frame`, in actor order. */
  reports(frame: number): Promise<FrameReport[]>;
  close(): Promise<void>;
}

/** All actors on the calling thread; batches are delivered in FIFO order. */
export class InProcessPool implements ActorPool {
  private readonly groups: CoreGroup[];
  /** Undelivered batches from `head` on (objects() keeps one elements kind, see there). */
  private queue: Outbound[] = objects([]);
  private head = 0;
  private readonly done = new Map<number, FrameReport[]>();
  private readonly inputs = new Map<number, number>();
  constructor(setup: ChipSetup, coreActor: Int32Array, n: number, opts: EvnetOptions, events = false) {
    this.groups = Array.from({ length: n }, (_, a) => new CoreGroup(setup, a, coreActor, opts, events));
  }
  get size(): number {
    return this.groups.length;
  }
  startFrame(frame: number, flush: boolean): void {
    for (let a = 0; a < this.groups.length; a++) this.groups[a]!.startFrame(frame, flush);
  }
  deliver(to: number, batch: DeltaBatch): void {
    this.queue.push({ to, batch });
  }
  async inputsDone(frame: number): Promise<number> {
    this.drain();
    const t = this.inputs.get(frame);
    this.inputs.delete(frame);
    if (t === undefined) throw new Error(`no input core finished frame ${frame}`);
    return t;
  }
  async reports(frame: number): Promise<FrameReport[]> {
    this.drain();
    const mine = this.done.get(frame) ?? objects<FrameReport>([]);
    this.done.delete(frame);
    // Every actor reports every frame; one missing would leave its cores' figures at the last frame's.
    if (mine.length !== this.groups.length) throw new Error(`frame ${frame}: ${mine.length} of ${this.groups.length} actors reported`);
    return mine.sort((a, b) => a.actor - b.actor);
  }
  /** Runs every actor until no batch is left undelivered. */
  private drain(): void {
    for (let a = 0; a < this.groups.length; a++) this.collect(this.groups[a]!);
    while (this.head < this.queue.length) {
      const { to, batch } = this.queue[this.head++]!;
      const g = this.groups[to]!;
      g.receive(batch);
      this.collect(g);
    }
    this.queue.length = 0;
    this.head = 0;
  }
  private collect(g: CoreGroup): void {
    for (;;) {
      const r = g.advance();
      for (let i = 0; i < r.inputs.length; i++) {
        const x = r.inputs[i]!;
        this.inputs.set(x.frame, Math.max(this.inputs.get(x.frame) ?? -Infinity, x.endNs));
      }
      for (let i = 0; i < r.out.length; i++) this.queue.push(r.out[i]!);
      for (let i = 0; i < r.reports.length; i++) {
        const rep = r.reports[i]!;
        const l = this.done.get(rep.frame);
        if (l) l.push(rep);
        else this.done.set(rep.frame, objects([rep]));
      }
      if (!r.ran) return;
    }
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
}

export async function runChip(graph: Graph, frames: Frames, count: number, opts: ChipRunOptions): Promise<ChipRun> {
  // Each chunked gate's chunk: its layer's channel groups are cut at multiples of it, so
  // chunks never straddle cores (mapper.ts, MapOptions.chunks).
  const plan = planOf(graph);
  checkOverrides(plan, opts.layers);
  const chunks = gateChunks(plan, opts.policy, opts.layers);
  const setup = chipSetupOf(graph, opts.chip, opts.mesh, opts.placement, chunks);
  checkChunks(setup, chunks);
  const nCores = setup.mapping.cores.length;
  const n = Math.max(1, Math.min(opts.workers, nCores));
  const evOpts: EvnetOptions = { threshold: opts.threshold, policy: opts.policy, bnGamma: opts.bnGamma, layers: opts.layers };
  // Every gate is built once here so a bad per-layer setting exits 2 before any worker starts.
  for (const st of setup.plan.steps) if (st.kind === 'gate') createGate(setup.plan, st, evOpts, gateOverride(setup.plan, st, opts.layers)?.ov);
  const coreActor = pipelineAssignment(setup.mapping, n);
  const events = opts.trace?.sink.level === 'events';
  const outT = graph.tensors[graph.output]!;
  const tables = traceTables(graph, setup);
  if (opts.trace) await opts.trace.sink.begin({ ...opts.trace.info, ...tables });
  const loop = new FrameLoop(graph, setup, frames, count, opts, new Sensor(setup, coreActor, evOpts));
  const pool: ActorPool = opts.inProcess
    ? new InProcessPool(setup, coreActor, n, evOpts, events)
    : // Loaded only for worker threads: in-process runs (sweep points) never load piscina or msgpackr.
      await (await import('./worker-pool.js')).WorkerPool.start(setup, coreActor, n, evOpts, opts.injectFault ?? null, events);
  let interrupted = false;
  // Frame t enters once the input cores are done with t − 1, and frames are folded in
  // order as their reports complete. Each actor holds at most two frames (§6): a pool
  // starts a frame at an actor only once it reported the one two before. Up to two per
  // actor may be begun overall, so an early pipeline stage can run ahead while a later
  // one works through a busy frame (measured on two workers: a window of 3 frames
  // 1.54×, 4 frames 1.71×, 6 frames 1.68× over one worker).
  const window = 2 * n;
  let begun = 0;
  let finished = 0;
  const finishOne = async (): Promise<void> => {
    loop.finish(finished, await pool.reports(finished));
    finished++;
    opts.onFrame?.(finished, count);
    // A trace writer far behind (events on a big chip) holds the next frame back.
    const behind = opts.trace?.sink.backlog?.();
    if (behind) await behind;
  };
  try {
    for (let t = 0; t < count; t++) {
      if (t - finished >= window) await finishOne();
      const inputsEnd = t > 0 ? await pool.inputsDone(t - 1) : 0;
      // Checked after the waits, so a stop that came during them begins no further frame.
      if (opts.shouldStop?.()) {
        interrupted = true;
        break;
      }
      loop.begin(t, inputsEnd, pool);
      begun++;
    }
    // Frames already begun are completed and kept, also on an interrupt.
    while (finished < begun) await finishOne();
  } catch (e) {
    // The run's own error is the one to report, not a failure to shut the pool down after it.
    await pool.close().catch(() => undefined);
    throw e;
  }
  await pool.close();
  const fin = loop.acc.finish(loop.lastEnd);
  const done = loop.acc.frames;
  const result = runResult(loop.acc, fin, {
    model: graph.name, chip: opts.chip.name, policy: formatPolicy(opts.policy), threshold: opts.threshold, memory: planMemory(setup.plan),
    // The trace's layers (the mapped layers, then the sensor's input gate) with their totals.
    layers: loop.layerSums.totals(tables.layers, done),
    cores: setup.mapping.cores.length, mesh: { width: setup.mapping.width, height: setup.mapping.height },
  });
  return { result, outputs: fin.outputs, outputShape: [done, ...outputFrameShape(outT.shape)], interrupted, setup };
}

/** Each chunked gate's `chunk:C` (C > 1), by name: the global policy's, or its layer's override. */
export function gateChunks(plan: EvPlan, policy: PolicySpec, layers?: Record<string, LayerOverride>): Record<string, number> {
  const chunks: Record<string, number> = {};
  for (const st of plan.steps) {
    if (st.kind !== 'gate' || st.in === plan.input) continue;
    const ov = gateOverride(plan, st, layers)?.ov;
    const c = ov?.policy ? overridePolicy(st, ov.policy).chunk : policy.chunk;
    if (c > 1) chunks[st.name] = c;
  }
  return chunks;
}

/**
 * A chunked gate averages |d| over C channels at a position (its tensor's axis 1), and an
 * actor sees only its own cores' d: every chunk must lie on one core. The mapper cuts
 * channel groups at multiples of C, which suffices when the gate's channels are the
 * layer's neuron-grid channels; a gate whose axis 1 is something else (after a Flatten,
 * on a MatMul over a 3-D input) can still split a chunk across cores: refused, named.
 */
function checkChunks(setup: ChipSetup, chunks: Record<string, number>): void {
  const { plan, owner } = setup;
  for (const st of plan.steps) {
    if (st.kind !== 'gate' || !chunks[st.name]) continue;
    const c = chunks[st.name]!;
    const own = owner.get(st.in);
    if (!own) continue;
    const shape = plan.tensors[st.in]!.shape;
    const { channels, inner } = gateGeometry(shape);
    for (let n = 0; n < own.length; n += channels * inner) {
      for (let p = 0; p < inner; p++) {
        for (let c0 = 0; c0 < channels; c0 += c) {
          const first = own[n + c0 * inner + p]!;
          for (let ch = c0 + 1; ch < Math.min(channels, c0 + c); ch++) {
            if (own[n + ch * inner + p] !== first) {
              throw new EvsimError('DOES_NOT_FIT', `gate '${st.name}': its chunk:${c} groups ${c} entries along axis 1 of [${shape.join(', ')}], which on ${setup.chip.name} lie on different cores (the axis is not the layer's channels, e.g. after a Flatten); use another policy for this gate (layers: ${st.name}: policy) or --chip ideal`);
            }
          }
        }
      }
    }
  }
}

/**
 * Chip setups (mapping, routes, ownership) by model, chip and placement, the last few
 * per model. A run never modifies its setup, so sweep points that differ only in policy
 * or threshold share one instead of mapping and routing the network again each time.
 */
const setups = new WeakMap<Graph, Map<string, ChipSetup>>();
const SETUPS_PER_MODEL = 4;

function chipSetupOf(graph: Graph, chip: ChipSpec, mesh: ChipRunOptions['mesh'], strategy: PlacementStrategy | undefined, chunks: Record<string, number>): ChipSetup {
  // Numbers as strings: JSON would write Infinity (unlimited capacity) as null.
  const key = JSON.stringify([chip, mesh ?? null, strategy ?? null, chunks], (_k, v: unknown) => (typeof v === 'number' ? String(v) : v));
  let byKey = setups.get(graph);
  if (!byKey) setups.set(graph, (byKey = new Map()));
  let s = byKey.get(key);
  if (s) {
    byKey.delete(key);
  } else {
    s = buildChipSetup(graph, chip, { mesh, strategy, chunks });
    if (byKey.size >= SETUPS_PER_MODEL) byKey.delete(byKey.keys().next().value!);
  }
  byKey.set(key, s);
  return s;
}

/** The trace's layer and core tables of a mapped network. */
function traceTables(graph: Graph, setup: ChipSetup): Pick<TraceRunInfo, 'layers' | 'cores'> {
  const { mapping } = setup;
  const mem = (t: number): number => setup.plan.tensors[t]!.size;
  return {
    layers: mapping.segments.map((seg) => ({
      layer_id: seg.id, name: seg.synaptic.map((x) => x.node.name).join('+') || seg.acc.name,
      op: seg.synaptic.map((x) => x.node.op.kind).join('+') || 'accumulator', kind: 'layer',
      shape: setup.plan.tensors[seg.acc.in]!.shape.join('x'),
      dense_macs: seg.synaptic.reduce((a, x) => a + denseMacsOf(x.node, graph), 0),
      weight_bytes: seg.synaptic.reduce((a, x) => a + weightBytesOf(x.node.op), 0),
      state_bytes: seg.relay ? 0 : 4 * mem(seg.acc.in) + seg.gates.reduce((a, gt) => a + 8 * mem(gt.in), 0),
    })).concat({
      // The input gate, run by the sensor: last, so the layers keep their segment ids.
      // Its transmissions and state are the run's too (DESIGN §4 counts the input gate).
      layer_id: mapping.segments.length, name: setup.inputGate.name, op: 'gate', kind: 'sensor',
      shape: setup.plan.tensors[setup.inputGate.in]!.shape.join('x'), dense_macs: 0, weight_bytes: 0, state_bytes: 8 * mem(setup.inputGate.in),
    }),
    cores: mapping.cores.map((c) => {
      const p = mapping.partitions[c.partition]!;
      return { core_id: c.id, tile_x: c.tileX, tile_y: c.tileY, layer_id: p.segment, neurons: p.neurons, synapse_bytes: p.synapseBytes };
    }),
  };
}

/**
 * The coordinator's per-frame work: feed a frame in, then fold the actors' reports into
 * the run. Everything it reads per frame is a field set once here, so its code sees one
 * object shape whatever options a run had (runChip's setup used to be compiled together
 * with the frame loop, and every run's differently shaped options deoptimised it).
 */
class FrameLoop {
  readonly acc: RunAccumulator;
  lastEnd = 0;
  private readonly data: Float32Array;
  private readonly frameSize: number;
  private readonly nCores: number;
  private readonly framePeriodNs: number;
  private readonly resetEvery: number;
  private readonly outputCores: Int32Array;
  private readonly segOfCore: Int32Array;
  private readonly denseMacs: number;
  private readonly y: Float32Array;
  private readonly endNs: Float64Array;
  private readonly energy: Float64Array;
  private readonly coreFrame: { [K in keyof TraceCoreFrame]: Float64Array };
  private readonly layerFrame: { [K in keyof TraceLayerFrame]: Float64Array };
  /** layerFrame summed over the frames done (the result's per-layer totals). */
  readonly layerSums: LayerSums;
  private readonly sink: TraceSink | null;
  private readonly events: boolean;
  /** Frames begun and not yet finished: entry time and the sensor's share. */
  private readonly inFlight = new Map<number, { entry: number; sensor: SensorCounts }>();

  constructor(graph: Graph, setup: ChipSetup, frames: Frames, count: number, opts: ChipRunOptions, private readonly sensor: Sensor) {
    const { mapping } = setup;
    const nCores = mapping.cores.length;
    const nSeg = mapping.segments.length;
    const outT = graph.tensors[graph.output]!;
    this.acc = new RunAccumulator(outT.size, count, !!opts.keepOutputs, opts.labels, denseReference(graph, opts.compareDense, opts.denseOutputs));
    this.data = frames.data;
    this.frameSize = frames.frameSize;
    this.nCores = nCores;
    this.framePeriodNs = opts.chip.framePeriodNs;
    this.resetEvery = opts.policy.resetEvery;
    this.outputCores = Int32Array.from(setup.outputCores);
    const segOfCore = new Int32Array(nCores);
    for (let c = 0; c < nCores; c++) segOfCore[c] = mapping.partitions[mapping.cores[c]!.partition]!.segment;
    this.segOfCore = segOfCore;
    this.denseMacs = graph.nodes.reduce((s, nd) => s + denseMacsOf(nd, graph), 0);
    this.y = new Float32Array(outT.size);
    this.endNs = new Float64Array(nCores);
    this.energy = new Float64Array(nCores);
    this.coreFrame = {
      messagesIn: new Float64Array(nCores), synops: new Float64Array(nCores), neuronUpdates: new Float64Array(nCores), messagesOut: new Float64Array(nCores),
      busyNs: new Float64Array(nCores), stallNs: new Float64Array(nCores), queueMax: new Float64Array(nCores), energyPj: this.energy, endNs: this.endNs,
      haloSynops: new Float64Array(nCores), haloUpdates: new Float64Array(nCores),
    };
    // One row per segment, then the sensor's input gate (see traceTables).
    this.layerFrame = { macs: new Float64Array(nSeg + 1), adds: new Float64Array(nSeg + 1), updates: new Float64Array(nSeg + 1), transmissions: new Float64Array(nSeg + 1) };
    this.layerSums = new LayerSums(nSeg + 1);
    this.sink = opts.trace ? opts.trace.sink : null;
    this.events = this.sink !== null && this.sink.level === 'events';
  }

  private input(t: number): Float32Array {
    return this.data.subarray(t * this.frameSize, (t + 1) * this.frameSize);
  }

  /**
   * Frame t enters: at t·frame_period_ns, or else when the input cores finished frame
   * t − 1 (`inputsEndNs`); the sensor's batches go to the first-layer actors.
   */
  begin(t: number, inputsEndNs: number, pool: ActorPool): void {
    const flush = t === 0 || (this.resetEvery > 0 && t % this.resetEvery === 0);
    const entry = this.framePeriodNs > 0 ? t * this.framePeriodNs : Math.max(0, inputsEndNs);
    pool.startFrame(t, flush);
    const s = this.sensor.run(t, this.input(t), flush, entry);
    for (let i = 0; i < s.out.length; i++) pool.deliver(s.out[i]!.to, s.out[i]!.batch);
    // Its figures only: the batches are the actors' now.
    const sensor: SensorCounts = { transmissions: s.transmissions, gateUpdates: s.gateUpdates, messages: s.messages, hopsEw: s.hopsEw, hopsNs: s.hopsNs, energyPj: s.energyPj };
    this.inFlight.set(t, { entry, sensor });
  }

  /** Frame t's reports: per-core figures, the frame's record, output and trace rows. */
  finish(t: number, reports: FrameReport[]): void {
    const { entry, sensor: s } = this.inFlight.get(t)!;
    this.inFlight.delete(t);
    const { energy, endNs, coreFrame, y, nCores } = this;
    const rec: FrameRecord = { frame: t, macs: 0, dense_macs: this.denseMacs, adds: 0, transmissions: s.transmissions, synops: 0, messages: s.messages, hops: s.hopsEw + s.hopsNs, energy_pj: 0, latency_ns: 0 };
    let gateUpd = s.gateUpdates;
    let accUpd = 0;
    for (let k = 0; k < reports.length; k++) {
      const r = reports[k]!;
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
        coreFrame.haloSynops[c] = st.haloSynops[i]!;
        coreFrame.haloUpdates[c] = st.haloUpdates[i]!;
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
    let stall = 0;
    // Core-id order for every sum, so totals never depend on the worker count.
    for (let c = 0; c < nCores; c++) {
      e += energy[c]!;
      stall += coreFrame.stallNs[c]!;
    }
    rec.energy_pj = e + s.energyPj;
    rec.macs = rec.synops;
    let outEnd = 0;
    for (let i = 0; i < this.outputCores.length; i++) outEnd = Math.max(outEnd, endNs[this.outputCores[i]!]!);
    rec.latency_ns = outEnd - entry;
    this.lastEnd = outEnd;
    this.acc.add(rec, { gateUpdates: gateUpd, accUpdates: accUpd, stallNs: stall }, y, this.input(t));
    this.layerFrameOf(reports, s);
    const { layerFrame } = this;
    this.layerSums.add(layerFrame);
    if (this.sink) this.sink.frame(rec, layerFrame, coreFrame, this.events ? reports.flatMap((r) => (r.events ? [r.events] : [])) : null);
  }

  /** The frame's figures per layer (segment), then the sensor's input gate, into layerFrame. */
  private layerFrameOf(reports: FrameReport[], sensor: SensorCounts): void {
    const { layerFrame, coreFrame, segOfCore } = this;
    layerFrame.macs.fill(0);
    layerFrame.adds.fill(0);
    layerFrame.updates.fill(0);
    layerFrame.transmissions.fill(0);
    const inputGate = layerFrame.macs.length - 1;
    layerFrame.updates[inputGate] = sensor.gateUpdates;
    layerFrame.transmissions[inputGate] = sensor.transmissions;
    for (let c = 0; c < this.nCores; c++) {
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
  }
}
