/**
 * Routing tables (DESIGN §5 axon multicast): for every neuron of every gate stream,
 * the cores that hold any of its targets — one message each — with the synapses the
 * message reaches there (`n_targets`, the synops it causes) and the dendritic adds it
 * costs on the way. Dendritic chains are probed with the model's own delta kernels on
 * one-element inputs; synaptic reach is counted from the conv/dense geometry.
 */
import { reachTable, spatialOf, type ReachTable } from '../model/geometry.js';
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
  dendrites: Int32Array;
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
    const { h: oh, w: ow } = spatialOf(plan.tensors[s.out]!.shape);
    return {
      step: s,
      conv: {
        ry: reachTable(h, oh, op.kh, op.strideH, op.padT, op.dilH), rx: reachTable(w, ow, op.kw, op.strideW, op.padL, op.dilW),
        hw: h * w, w, ow, cinG: op.cin / op.group, coutG: op.cout / op.group,
      },
      dense: null,
    };
  }
  if (op.kind === 'dense') return { step: s, conv: null, dense: { m: op.m, k: op.k, transA: op.transA } };
  throw new Error(`internal: ${op.kind} is not synaptic`);
}

/**
 * Adds, per partition of the segment, the synapses that input element `e` of a
 * synaptic node reaches, into `acc` (indexed by partition id).
 */
function addSynapticReach(sg: SynapseGeometry, e: number, rowParts: Partition[][], acc: Map<number, number>): void {
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
        if (ch > 0) acc.set(p.id, (acc.get(p.id) ?? 0) + nx * ch);
      }
    }
    return;
  }
  const d = sg.dense!;
  const row = d.transA ? e % d.m : Math.floor(e / d.k);
  for (const p of rowParts[row]!) acc.set(p.id, (acc.get(p.id) ?? 0) + (p.c1 - p.c0));
}

/** For every neuron-grid row, the partitions covering it. */
function partsByRow(seg: Segment, parts: Partition[]): Partition[][] {
  const rows: Partition[][] = Array.from({ length: seg.rows }, () => []);
  for (const p of parts) for (let r = p.r0; r < p.r1; r++) rows[r]!.push(p);
  return rows;
}

/** Partition owning accumulator element i of a segment's neuron grid. */
export { addSynapticReach, partsByRow, synapseGeometry };
export type { SynapseGeometry };

export function ownerOf(seg: Segment, rowParts: Partition[][], i: number): Partition | undefined {
  let ch: number;
  let row: number;
  if (seg.denseGrid) {
    // [m, n]: element i = row·n + channel.
    row = Math.floor(i / seg.channels);
    ch = i - row * seg.channels;
  } else {
    const plane = seg.rows * seg.cols;
    ch = Math.floor(i / plane);
    row = Math.floor((i - ch * plane) / seg.cols);
  }
  return rowParts[row]?.find((p) => ch >= p.c0 && ch < p.c1);
}

/** Builds the routes of every gate stream consumed by any segment. */
export function buildRoutes(plan: EvPlan, mapping: Mapping): Map<number, StreamRoutes> {
  const g = plan.graph;
  const partsOf = mapping.segments.map((s) => mapping.partitions.filter((p) => p.segment === s.id));
  const coreOf = (p: Partition): number => p.core;
  const routes = new Map<number, StreamRoutes>();
  const streams = new Set<number>();
  for (const s of mapping.segments) for (const t of s.inputs) streams.add(t);
  for (const stream of [...streams].sort((a, b) => a - b)) {
    const size = plan.tensors[stream]!.size;
    // Per consuming segment: probe kernels for its dendritic nodes and synapse geometry.
    const consumers = mapping.segments.filter((s) => s.inputs.includes(stream)).map((seg) => {
      const kernels = new Map<NodeStep, DeltaKernel | null>();
      for (const n of [...seg.pre, ...seg.post]) kernels.set(n, makeDeltaKernel(g, n.node));
      const lists = new Map<number, DeltaList>();
      for (const n of [...seg.pre, ...seg.post]) {
        for (const t of [...n.ins, n.out]) if (!lists.has(t)) lists.set(t, new DeltaList(plan.tensors[t]!.size));
      }
      for (const sy of seg.synaptic) for (const t of [sy.out, ...sy.ins]) if (!lists.has(t)) lists.set(t, new DeltaList(plan.tensors[t]!.size));
      if (!lists.has(seg.acc.in)) lists.set(seg.acc.in, new DeltaList(plan.tensors[seg.acc.in]!.size));
      if (!lists.has(stream)) lists.set(stream, new DeltaList(size));
      return {
        seg, kernels, lists, syn: seg.synaptic.map((sy) => synapseGeometry(plan, sy)), rowParts: partsByRow(seg, partsOf[seg.id]!),
        aggregated: new Set(seg.synaptic.filter((sy) => isAggregated(seg, sy))),
      };
    });
    const offsets = new Int32Array(size + 1);
    const cores: number[] = [];
    const synops: number[] = [];
    const dendrites: number[] = [];
    for (let s = 0; s < size; s++) {
      offsets[s] = cores.length;
      const perPart = new Map<number, number>();
      const reachOnly = new Map<number, number>();
      const dendPart = new Map<number, number>();
      for (const c of consumers) {
        for (const l of c.lists.values()) l.n = 0;
        c.lists.get(stream)!.push(s, 1);
        // Runs a chain of dendritic nodes on the probe; returns its adds and last output.
        const chain = (nodes: NodeStep[]): { adds: number; last: DeltaList | null } => {
          let adds = 0;
          let last: DeltaList | null = null;
          for (const n of nodes) {
            const k = c.kernels.get(n)!;
            const out = c.lists.get(n.out)!;
            if (k) k.run(n.ins.map((t) => c.lists.get(t)!), out);
            else { out.n = 0; const src = c.lists.get(n.ins[0]!)!; for (let i = 0; i < src.n; i++) out.push(src.idx[i]!, src.val[i]!); }
            // DESIGN §4: a dendritic node costs one add per input element it receives.
            for (const t of n.ins) adds += c.lists.get(t)!.n;
            last = out;
          }
          return { adds, last };
        };
        let dend = chain(c.seg.pre).adds;
        for (const sg of c.syn) {
          // Behind an aggregating dendrite the synapses act once per frame on the
          // aggregated values (charged by the core then), so the message only routes.
          const target = c.aggregated.has(sg.step) ? reachOnly : perPart;
          const inp = c.lists.get(sg.step.ins[0]!)!;
          for (let i = 0; i < inp.n; i++) addSynapticReach(sg, inp.idx[i]!, c.rowParts, target);
        }
        // Post-synaptic path (skip streams into the accumulator): synapse outputs stay empty.
        const postChain = chain(c.seg.post);
        dend += postChain.adds;
        let accHits = postChain.last;
        if (c.seg.synaptic.length === 0) accHits = c.lists.get(c.seg.acc.in) ?? accHits;
        const touchedParts = new Set<number>([...perPart.keys(), ...reachOnly.keys()]);
        if (accHits) {
          for (let i = 0; i < accHits.n; i++) {
            const p = ownerOf(c.seg, c.rowParts, accHits.idx[i]!);
            if (p) touchedParts.add(p.id);
          }
        }
        for (const pid of touchedParts) dendPart.set(pid, (dendPart.get(pid) ?? 0) + dend);
      }
      const pids = [...new Set([...perPart.keys(), ...reachOnly.keys(), ...dendPart.keys()])].sort((a, b) => coreOf(mapping.partitions[a]!) - coreOf(mapping.partitions[b]!));
      for (const pid of pids) {
        cores.push(coreOf(mapping.partitions[pid]!));
        synops.push(perPart.get(pid) ?? 0);
        dendrites.push(dendPart.get(pid) ?? 0);
      }
    }
    offsets[size] = cores.length;
    routes.set(stream, { stream, offsets, core: Int32Array.from(cores), synops: Int32Array.from(synops), dendrites: Int32Array.from(dendrites) });
  }
  return routes;
}
