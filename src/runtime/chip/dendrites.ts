/**
 * Dendritic adds on a core (DESIGN §4 `adds`: one per nonzero input element of a
 * delta-domain linear node; §5: those nodes run in the consuming cores). A core computes
 * the compartments of its segment's dendritic nodes that its own synapses or accumulator
 * elements need, from the messages it receives and its neurons' synaptic outputs:
 *
 * - a stream element costs one add per dendritic input that reads it and needs it on
 *   the core, as its message is processed (`messageAdds`);
 * - every other input of a dendritic node (another node's output, or the synaptic output
 *   of a post-synaptic add) costs one add per element the core needs, counted per frame
 *   on the aggregated values (`countDendrites`).
 *
 * Summed over cores this equals the functional count wherever each element is needed by
 * exactly one core; cores that share an element (a pooling window split across
 * partitions, a fully connected layer on several cores after a global pool) each add it,
 * and an element no core needs (a row a strided pool never reads) is not sent or added.
 */
import type { Partition } from '../../chip/mapper.js';
import { addSynapticReach, PartSums, partsByRow, synapseGeometry } from '../../chip/routing.js';
import type { Segment } from '../../chip/segments.js';
import { Growable } from '../../growable.js';
import { makeDeltaKernel } from '../../model/evnet/delta-kernels.js';
import type { EvPlan, NodeStep } from '../../model/evnet/plan.js';
import { DeltaList } from '../../model/evnet/sparse.js';

/** For each element of a tensor, the cores (indices into the segment's `cores`) that need it: CSR. */
export interface Needers {
  offsets: Int32Array;
  q: Int32Array;
}

export interface DendriteCounter {
  /** Inputs added per frame on aggregated values, with the cores that need each element. */
  inputs: { tensor: number; needers: Needers }[];
  /**
   * Per segment input stream (as seg.inputs): for each element, a core index once per
   * dendritic input that reads the stream and needs the element there (null: none).
   */
  messageAdds: (Needers | null)[];
}

/**
 * What each of `cores` (one partition each, `parts`) needs of the segment's dendritic
 * nodes, found by probing every element of each node input through its node (back from
 * the accumulator's and the synapses' needs); null when the segment has no such node.
 */
export function dendriteCounter(plan: EvPlan, seg: Segment, parts: readonly Partition[], cores: Int32Array, accOwn: Int32Array): DendriteCounter | null {
  const chain = [...seg.pre, ...seg.post];
  if (chain.length === 0) return null;
  const streams = new Set(seg.inputs);
  const nc = cores.length;
  const size = (t: number): number => plan.tensors[t]!.size;
  const qOfCore = new Map<number, number>();
  cores.forEach((c, q) => qOfCore.set(c, q));
  // Per tensor, what its readers need so far; merged once its producer is reached.
  const needs = new Map<number, Needers[]>();
  const need = (t: number, n: Needers): void => {
    const l = needs.get(t);
    if (l) l.push(n);
    else needs.set(t, [n]);
  };
  const stamp = new Int32Array(nc).fill(-1);
  const build = (n: number, each: (e: number, push: (q: number) => void) => void): Needers => {
    const offsets = new Int32Array(n + 1);
    const q = new Growable((k) => new Int32Array(k));
    for (let e = 0; e < n; e++) {
      each(e, (x) => {
        if (stamp[x] !== e) {
          stamp[x] = e;
          q.push(x);
        }
      });
      offsets[e + 1] = q.n;
    }
    stamp.fill(-1);
    return { offsets, q: q.take() };
  };
  const neededOf = (t: number): Needers => {
    const l = needs.get(t) ?? [];
    if (l.length === 1) return l[0]!;
    return build(size(t), (e, push) => {
      for (const n of l) for (let k = n.offsets[e]!; k < n.offsets[e + 1]!; k++) push(n.q[k]!);
    });
  };
  // The accumulator needs its owned elements (post-synaptic nodes are elementwise).
  need(seg.acc.in, build(size(seg.acc.in), (e, push) => {
    const q = qOfCore.get(accOwn[e]!);
    if (q !== undefined) push(q);
  }));
  // The synapses need the input elements that reach a partition of the core.
  const rowParts = partsByRow(seg, parts);
  const nIds = Math.max(0, ...parts.map((p) => p.id)) + 1;
  const reach = new PartSums(nIds);
  const qOfPart = new Int32Array(nIds);
  for (const p of parts) qOfPart[p.id] = qOfCore.get(p.core)!;
  for (const sy of seg.synaptic) {
    const t = sy.ins[0]!;
    if (streams.has(t)) continue;
    const geo = synapseGeometry(plan, sy);
    need(t, build(size(t), (e, push) => {
      reach.clear();
      addSynapticReach(geo, e, rowParts, reach);
      for (let i = 0; i < reach.n; i++) push(qOfPart[reach.ids[i]!]!);
    }));
  }
  // Back through the chain: an input element is needed where it feeds a needed output.
  const inputs: DendriteCounter['inputs'] = [];
  const perStream = new Map<number, Needers[]>();
  for (let k = chain.length - 1; k >= 0; k--) {
    const step = chain[k]!;
    const out = neededOf(step.out);
    for (let j = 0; j < step.ins.length; j++) {
      const t = step.ins[j]!;
      const needers = probeEach(plan, step, j, build, out);
      if (streams.has(t)) perStream.set(t, [...(perStream.get(t) ?? []), needers]);
      else {
        inputs.push({ tensor: t, needers });
        need(t, needers);
      }
    }
  }
  const messageAdds = seg.inputs.map((t) => {
    const l = perStream.get(t);
    if (!l) return null;
    // One entry per reading input (an element read twice costs two adds).
    const offsets = new Int32Array(size(t) + 1);
    const q = new Growable((n) => new Int32Array(n));
    for (let e = 0; e < size(t); e++) {
      for (const n of l) for (let i = n.offsets[e]!; i < n.offsets[e + 1]!; i++) q.push(n.q[i]!);
      offsets[e + 1] = q.n;
    }
    return { offsets, q: q.take() };
  });
  return { inputs, messageAdds };
}

/** The cores needing each element of `step`'s input `slot`: those needing an output it feeds (probed alone, value 1). */
function probeEach(
  plan: EvPlan, step: NodeStep, slot: number,
  build: (n: number, each: (e: number, push: (q: number) => void) => void) => Needers, out: Needers,
): Needers {
  // Structural: an element the probe's value 1 cancels to zero is still read (see routing.ts).
  const kernel = makeDeltaKernel(plan.graph, step.node, { keepZeros: true });
  const ins = step.ins.map((t) => new DeltaList(plan.tensors[t]!.size));
  const o = new DeltaList(plan.tensors[step.out]!.size);
  const inp = ins[slot]!;
  return build(inp.capacity, (e, push) => {
    inp.n = 0;
    inp.push(e, 1);
    if (kernel) kernel.run(ins, o);
    else {
      o.n = 0;
      o.push(e, 1);
    }
    for (let i = 0; i < o.n; i++) {
      const x = o.idx[i]!;
      for (let k = out.offsets[x]!; k < out.offsets[x + 1]!; k++) push(out.q[k]!);
    }
  });
}

/** Adds each core's per-frame dendritic adds into `out[slots[q]]`, from this frame's lists. */
export function countDendrites(counter: DendriteCounter, lists: Map<number, DeltaList>, slots: Int32Array, out: Float64Array): void {
  for (const { tensor, needers } of counter.inputs) {
    const l = lists.get(tensor)!;
    const { offsets, q } = needers;
    for (let e = 0; e < l.n; e++) {
      const x = l.idx[e]!;
      for (let k = offsets[x]!; k < offsets[x + 1]!; k++) out[slots[q[k]!]!]++;
    }
  }
}

/** The adds of stream element `s` as a message to core `q`: the reading inputs that need it there. */
export function messageAddsOf(n: Needers, s: number, q: number): number {
  let c = 0;
  for (let k = n.offsets[s]!; k < n.offsets[s + 1]!; k++) if (n.q[k] === q) c++;
  return c;
}
