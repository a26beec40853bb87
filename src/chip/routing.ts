/**
 * Routing tables (DESIGN §5 axon multicast): for every neuron of every gate stream,
 * the cores that hold any of its targets — one message each — with the synapses the
 * message reaches there (`n_targets`, the synops it causes) and the dendritic adds it
 * costs on the way. Dendritic chains are probed with the model's own delta kernels on
 * one-element inputs; synaptic reach is counted from the conv/dense geometry.
 */
import { Growable } from '../growable.js';
import { convReach, spatialOf, type ReachTable } from '../model/geometry.js';
import { makeDeltaKernel, type DeltaKernel } from '../model/evnet/delta-kernels.js';
import type { EvPlan, NodeStep } from '../model/evnet/plan.js';
import { DeltaList } from '../model/evnet/sparse.js';
import type { Mapping, Partition } from './mapper.js';
import { isAggregated, type Segment } from './segments.js';

/** Destinations of every neuron of one gate stream, CSR by neuron, cores ascending. */
export interface StreamRoutes {
  stream: number;
  offsets: Int32Array;
  core: Int32Array;
  synops: Int32Array;
  /** Per entry: synapses into the core's shadow rows (mapper.ts `s1`), applied there too; 0 mostly. */
  halo: Int32Array;
}


interface SynapseGeometry {
  step: NodeStep;
  conv: { ry: ReachTable; rx: ReachTable; hw: number; w: number; ow: number; cinG: number; coutG: number } | null;
  dense: { m: number; k: number; transA: boolean } | null;
}

function synapseGeometry(plan: EvPlan, s: NodeStep): SynapseGeometry {
  const op = s.node.op;
  if (op.kind === 'conv') {
    const { h, w } = spatialOf(plan.tensors[s.ins[0]!]!.shape);
    const { w: ow } = spatialOf(plan.tensors[s.out]!.shape);
    return {
      step: s,
      conv: {
        ...convReach(op, plan.tensors[s.ins[0]!]!.shape, plan.tensors[s.out]!.shape),
        hw: h * w, w, ow, cinG: op.cin / op.group, coutG: op.cout / op.group,
      },
      dense: null,
    };
  }
  if (op.kind === 'dense') return { step: s, conv: null, dense: { m: op.m, k: op.k, transA: op.transA } };
  throw new Error(`internal: ${op.kind} is not synaptic`);
}

/**
 * Sums by partition id over a few touched partitions: typed arrays indexed by id plus
 * the list of ids touched since the last clear (in first-touch order), so clearing
 * costs only what was touched. Routing adds up per-neuron figures for 10⁵–10⁶ neurons;
 * a Map per neuron made that the slowest part of a chip run's setup.
 */
export class PartSums {
  readonly sum: Float64Array;
  readonly ids: Int32Array;
  n = 0;
  private readonly has: Uint8Array;
  constructor(parts: number) {
    this.sum = new Float64Array(parts);
    this.ids = new Int32Array(parts);
    this.has = new Uint8Array(parts);
  }
  add(id: number, v: number): void {
    if (this.has[id] === 0) {
      this.has[id] = 1;
      this.ids[this.n++] = id;
    }
    this.sum[id] += v;
  }
  clear(): void {
    for (let i = 0; i < this.n; i++) {
      const id = this.ids[i]!;
      this.has[id] = 0;
      this.sum[id] = 0;
    }
    this.n = 0;
  }
}

/**
 * Adds, per partition of the segment, the synapses that input element `e` of a
 * synaptic node reaches, into `acc` (by partition id).
 */
function addSynapticReach(sg: SynapseGeometry, e: number, rowParts: Partition[][], acc: PartSums): void {
  if (sg.conv) {
    const c = sg.conv;
    const ci = Math.floor(e / c.hw);
    const rem = e - ci * c.hw;
    const iy = Math.floor(rem / c.w);
    const ix = rem - iy * c.w;
    const nx = c.rx.offsets[ix + 1]! - c.rx.offsets[ix]!;
    if (nx === 0) return;
    const g = Math.floor(ci / c.cinG);
    const gLo = g * c.coutG;
    const gHi = gLo + c.coutG;
    for (let a = c.ry.offsets[iy]!; a < c.ry.offsets[iy + 1]!; a++) {
      for (const p of rowParts[c.ry.out[a]!]!) {
        const ch = Math.min(p.c1, gHi) - Math.max(p.c0, gLo);
        if (ch > 0) acc.add(p.id, nx * ch);
      }
    }
    return;
  }
  const d = sg.dense!;
  const row = d.transA ? e % d.m : Math.floor(e / d.k);
  for (const p of rowParts[row]!) acc.add(p.id, p.c1 - p.c0);
}

/** For every neuron-grid row, the partitions covering it. */
function partsByRow(seg: Segment, parts: readonly Partition[]): Partition[][] {
  const rows: Partition[][] = Array.from({ length: seg.rows }, () => []);
  for (const p of parts) for (let r = p.r0; r < p.r1; r++) rows[r]!.push(p);
  return rows;
}

/** For every neuron-grid row, the partitions holding it as a shadow row; null when none has any. */
function shadowsByRow(seg: Segment, parts: readonly Partition[]): Partition[][] | null {
  if (!parts.some((p) => p.s1 > p.r1)) return null;
  const rows: Partition[][] = Array.from({ length: seg.rows }, () => []);
  for (const p of parts) for (let r = p.r1; r < p.s1; r++) rows[r]!.push(p);
  return rows;
}

export { addSynapticReach, partsByRow, synapseGeometry };
export type { SynapseGeometry };

/**
 * The owning core (or, with `pick`, another figure of the owning partition) of every
 * accumulator element of a segment (`none` where no partition covers it), filled a
 * partition's row runs at a time. Where partitions overlap the first listed wins, so
 * they are filled last to first.
 */
export function segmentOwners(seg: Segment, parts: readonly Partition[], size: number, none: number, pick: (p: Partition) => number = (p) => p.core): Int32Array {
  const own = new Int32Array(size).fill(none);
  const plane = seg.rows * seg.cols;
  for (let q = parts.length - 1; q >= 0; q--) {
    const p = parts[q]!;
    const v = pick(p);
    for (let r = p.r0; r < p.r1; r++) {
      if (seg.denseGrid) {
        // [m, n]: element i = row·n + channel.
        own.fill(v, r * seg.channels + p.c0, r * seg.channels + p.c1);
      } else {
        for (let ch = p.c0; ch < p.c1; ch++) own.fill(v, ch * plane + r * seg.cols, ch * plane + (r + 1) * seg.cols);
      }
    }
  }
  return own;
}

/** Builds the routes of every gate stream consumed by any segment. */
export function buildRoutes(plan: EvPlan, mapping: Mapping): Map<number, StreamRoutes> {
  const partsOf = mapping.segments.map((s) => mapping.partitions.filter((p) => p.segment === s.id));
  const nParts = mapping.partitions.length;
  const streams = new Set<number>();
  for (const s of mapping.segments) for (const t of s.inputs) streams.add(t);
  const ctx: RouteContext = {
    coreOfPart: Int32Array.from(mapping.partitions, (p) => p.core),
    perPart: new PartSums(nParts), reachOnly: new PartSums(nParts), reached: new PartSums(nParts), halo: new PartSums(nParts),
  };
  const routes = new Map<number, StreamRoutes>();
  for (const stream of [...streams].sort((a, b) => a - b)) {
    const consumers = mapping.segments.filter((s) => s.inputs.includes(stream)).map((seg) => probeOf(plan, seg, stream, partsOf[seg.id]!));
    routes.set(stream, routeStream(stream, plan.tensors[stream]!.size, consumers, ctx));
  }
  return routes;
}

/**
 * Per-neuron sums shared by every stream: synapses reached per partition (directly, and
 * behind an aggregating dendrite), and every partition reached.
 */
interface RouteContext {
  coreOfPart: Int32Array;
  perPart: PartSums;
  reachOnly: PartSums;
  reached: PartSums;
  /** Synapses into shadow rows, per partition. */
  halo: PartSums;
}

/** One stream's routes: each neuron probed through every consumer, its partitions by core. */
function routeStream(stream: number, size: number, consumers: Probe[], ctx: RouteContext): StreamRoutes {
  const { coreOfPart, perPart, reachOnly, reached, halo } = ctx;
  const offsets = new Int32Array(size + 1);
  const cores = new Growable((n) => new Int32Array(n));
  const synops = new Growable((n) => new Int32Array(n));
  const haloSynops = new Growable((n) => new Int32Array(n));
  for (let s = 0; s < size; s++) {
    offsets[s] = cores.n;
    perPart.clear();
    reachOnly.clear();
    reached.clear();
    halo.clear();
    for (let q = 0; q < consumers.length; q++) probeNeuron(consumers[q]!, s, ctx);
    // The neuron's partitions, cores ascending (a neuron reaches a few partitions: an
    // insertion sort; one partition per core, so no ties).
    const ids = reached.ids;
    for (let i = 1; i < reached.n; i++) {
      const p = ids[i]!;
      let j = i - 1;
      while (j >= 0 && coreOfPart[ids[j]!]! > coreOfPart[p]!) {
        ids[j + 1] = ids[j]!;
        j--;
      }
      ids[j + 1] = p;
    }
    for (let i = 0; i < reached.n; i++) {
      const pid = ids[i]!;
      cores.push(coreOfPart[pid]!);
      synops.push(perPart.sum[pid]!);
      haloSynops.push(halo.sum[pid]!);
    }
  }
  offsets[size] = cores.n;
  return { stream, offsets, core: cores.take(), synops: synops.take(), halo: haloSynops.take() };
}

/**
 * Neuron `s` of the stream through one consumer: its synapses per partition, and every
 * partition it reaches (the dendritic adds it costs there are CoreGroup's, see dendrites.ts).
 */
function probeNeuron(c: Probe, s: number, ctx: RouteContext): void {
  const { perPart, reachOnly, reached, halo } = ctx;
  for (let i = 0; i < c.lists.length; i++) c.lists[i]!.n = 0;
  c.input.push(s, 1);
  // Partitions are per segment, so this consumer's are the ones added from here on.
  const p0 = perPart.n;
  const r0 = reachOnly.n;
  const h0 = halo.n;
  runChain(c.pre);
  for (let q = 0; q < c.syn.length; q++) {
    const sg = c.syn[q]!;
    // Behind an aggregating dendrite the synapses act once per frame on the
    // aggregated values (charged by the core then), so the message only routes.
    const target = c.aggregated[q] ? reachOnly : perPart;
    const inp = c.synIn[q]!;
    for (let i = 0; i < inp.n; i++) addSynapticReach(sg, inp.idx[i]!, c.rowParts, target);
    // Shadow rows: the same synapses applied again where a neighbour's pooling windows need them.
    if (c.shadowParts) for (let i = 0; i < inp.n; i++) addSynapticReach(sg, inp.idx[i]!, c.shadowParts, halo);
  }
  // Post-synaptic path (skip streams into the accumulator): synapse outputs stay empty.
  runChain(c.post);
  let accHits = c.post.length > 0 ? c.post[c.post.length - 1]!.out : null;
  if (c.syn.length === 0) accHits = c.accIn;
  for (let i = p0; i < perPart.n; i++) reached.add(perPart.ids[i]!, 0);
  for (let i = h0; i < halo.n; i++) reached.add(halo.ids[i]!, 0);
  for (let i = r0; i < reachOnly.n; i++) reached.add(reachOnly.ids[i]!, 0);
  if (accHits) {
    for (let i = 0; i < accHits.n; i++) {
      const pid = c.partOf[accHits.idx[i]!]!;
      if (pid >= 0) reached.add(pid, 0);
    }
  }
}

/** One dendritic node of a probe: its kernel (null: a copy of its one input) and lists. */
interface ProbeNode {
  kernel: DeltaKernel | null;
  ins: DeltaList[];
  out: DeltaList;
}

/**
 * A consuming segment's probe of one stream: dendritic chains are run with the model's
 * own delta kernels on a one-element input; synaptic reach is counted from geometry.
 */
interface Probe {
  seg: Segment;
  /** Every list the probe writes (reset before each neuron). */
  lists: DeltaList[];
  /** The stream's list, where each neuron's one-element probe goes in. */
  input: DeltaList;
  pre: ProbeNode[];
  post: ProbeNode[];
  syn: SynapseGeometry[];
  /** Per synaptic node: its input list, and whether an aggregating dendrite feeds it. */
  synIn: DeltaList[];
  aggregated: boolean[];
  accIn: DeltaList;
  rowParts: Partition[][];
  /** Shadow rows → partitions holding them (null: none). */
  shadowParts: Partition[][] | null;
  /** Per accumulator element: the id of its partition (−1: none). */
  partOf: Int32Array;
}

function probeOf(plan: EvPlan, seg: Segment, stream: number, parts: Partition[]): Probe {
  const byTensor = new Map<number, DeltaList>();
  const list = (t: number): DeltaList => {
    let l = byTensor.get(t);
    if (!l) byTensor.set(t, (l = new DeltaList(plan.tensors[t]!.size)));
    return l;
  };
  // Structural reach: a probe's value 1 may cancel on the way (y·(−2) + y + y), where real
  // deltas need not (float sums): the kernels keep every element they touch.
  const node = (n: NodeStep): ProbeNode => ({ kernel: makeDeltaKernel(plan.graph, n.node, { keepZeros: true }), ins: n.ins.map(list), out: list(n.out) });
  const input = list(stream);
  const pre = seg.pre.map(node);
  const post = seg.post.map(node);
  const syn = seg.synaptic.map((sy) => synapseGeometry(plan, sy));
  const synIn = seg.synaptic.map((sy) => list(sy.ins[0]!));
  for (const sy of seg.synaptic) list(sy.out);
  const accIn = list(seg.acc.in);
  return {
    seg, lists: [...byTensor.values()], input, pre, post, syn, synIn, accIn, rowParts: partsByRow(seg, parts), shadowParts: shadowsByRow(seg, parts),
    partOf: segmentOwners(seg, parts, plan.tensors[seg.acc.out]!.size, -1, (p) => p.id),
    aggregated: seg.synaptic.map((sy) => isAggregated(seg, sy)),
  };
}


/** Runs a dendritic chain on the probe (where a one-element input reaches). */
function runChain(nodes: ProbeNode[]): void {
  for (const n of nodes) {
    if (n.kernel) n.kernel.run(n.ins, n.out);
    else n.out.copyFrom(n.ins[0]!);
  }
}
