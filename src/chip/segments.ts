/**
 * Cuts an EvNet plan into segments, the unit the mapper places (DESIGN §5): the
 * neurons of one synaptic node (or, with none, the elements of an accumulator), the
 * accumulator they feed, the value-domain nodes that follow it and the gates that end
 * that chain. Delta-domain linear nodes in front of the synapses are dendritic work of
 * the consuming cores.
 */
import { EvsimError } from '../errors.js';
import { spatialOf } from '../model/geometry.js';
import { fanIn as synapticFanIn } from '../model/ir.js';
import type { AccStep, EvPlan, GateStep, NodeStep, PlanStep } from '../model/evnet/plan.js';

export interface Segment {
  id: number;
  /** Synaptic nodes whose (same-shaped) outputs sum into the neurons; empty = accumulator-only. */
  synaptic: NodeStep[];
  /** Delta-domain linear nodes before the synapses (dendritic adds in the consuming cores). */
  pre: NodeStep[];
  /** Elementwise delta nodes between the synapses and the accumulator (e.g. a residual Add). */
  post: NodeStep[];
  acc: AccStep;
  /** Value-domain nodes owned by the neurons, in plan order. */
  values: NodeStep[];
  gates: GateStep[];
  /** Gate streams read (delta tensor ids produced by gates). */
  inputs: number[];
  /** Neuron grid: channels × rows × cols (dense layers: n × m × 1, `denseGrid`). */
  denseGrid: boolean;
  channels: number;
  rows: number;
  cols: number;
  /** Partition rows must start at multiples of this (a following pooling window). */
  rowAlign: number;
  /** Rows cannot be split (a value node mixes rows, e.g. an overlapping pool or a softmax). */
  rowsWhole: boolean;
  /** Channels cannot be split (a value node mixes channels, e.g. a softmax over them). */
  channelsWhole: boolean;
  /** The value node that keeps rows or channels whole, for messages ('' when none does). */
  wholeBecause: string;
  /**
   * An overlapping max pool's vertical window, when it is what keeps the rows whole and
   * the rows may instead be split with shadow rows (mapper.ts: a channel larger than a
   * core): each partition also accumulates the rows below it that its windows read.
   */
  halo: { kh: number; stride: number; pad: number; dil: number; outRows: number } | null;
  /** Inputs one neuron reads: the sum of its synaptic nodes' fan-ins. */
  fanIn: number;
  /**
   * A relay: the neurons of a synaptic node whose output reaches the next synaptic node
   * through linear nodes only (a linear bottleneck, a ConvTranspose into a Concat), with
   * the elementwise nodes on top of it (a residual Add) when the stream is read there.
   * They hold no accumulator: each frame they send their summed input, the delta the
   * functional run passes on, as the stream `acc.in` (= `acc.out`).
   */
  relay: boolean;
}

function unsupported(msg: string): EvsimError {
  return new EvsimError('BAD_MODEL', `${msg}; this network cannot be mapped onto a chip yet (use --chip ideal)`);
}

export function buildSegments(plan: EvPlan): Segment[] {
  const byOut = new Map<number, PlanStep>();
  const readers = new Map<number, PlanStep[]>();
  for (const s of plan.steps) {
    byOut.set(s.out, s);
    const ins = s.kind === 'node' ? s.ins : [s.in];
    for (const t of ins) readers.set(t, [...(readers.get(t) ?? []), s]);
  }
  const isElementwise = (s: NodeStep): boolean => {
    const k = s.node.op.kind;
    return k === 'add' || k === 'affine' || k === 'reshape';
  };
  /** True when a synaptic node lies beneath `s` through elementwise nodes only. */
  const synapseBeneath = (s: NodeStep, heads: ReadonlySet<NodeStep>): boolean => {
    for (const t of s.ins) {
      const b = byOut.get(t);
      if (!b || b.kind !== 'node' || heads.has(b)) continue;
      if (b.cls === 'synaptic' || (isElementwise(b) && synapseBeneath(b, heads))) return true;
    }
    return false;
  };
  // Relay heads: a synaptic node, or the elementwise node on top of synaptic ones (a
  // residual Add after a linear bottleneck), whose output another segment reads as a
  // stream — it is reached behind a non-elementwise linear node or another synapse, so
  // nobody accumulates it. Found while building; the build restarts until none is new
  // (a segment built earlier may have walked into a head found later).
  const stepIndex = new Map<PlanStep, number>(plan.steps.map((st, i) => [st, i]));
  const order = (a: PlanStep, b: PlanStep): number => stepIndex.get(a)! - stepIndex.get(b)!;
  const relayHeads = new Set<NodeStep>();
  let segments: Segment[] = [];
  for (let pass = 0; ; pass++) {
    if (pass > plan.steps.length) throw new Error('internal: relay heads do not settle');
    const known = relayHeads.size;
    segments = buildPass(relayHeads);
    if (relayHeads.size === known) break;
  }
  // A synapse in two segments would be applied twice.
  const ownerOf = new Map<NodeStep, Segment>();
  for (const sg of segments) {
    for (const sy of sg.synaptic) {
      const other = ownerOf.get(sy);
      if (other) throw unsupported(`the output of '${sy.node.name}' is accumulated in '${other.acc.name}' and also rearranged (Concat, pooling, Resize) or fed to another synaptic node in '${sg.acc.name}'`);
      ownerOf.set(sy, sg);
    }
    // An accumulator reading a relay stream as it is: the stream's head is accumulated directly elsewhere.
    if (!sg.relay && sg.inputs.includes(sg.acc.in)) {
      const h = byOut.get(sg.acc.in) as NodeStep;
      throw unsupported(`the output of '${h.node.name}' is accumulated directly and also rearranged (Concat, pooling, Resize) or fed to another synaptic node before accumulating`);
    }
  }
  // Plan order, so a relay runs before the segments reading its stream.
  segments.sort((a, b) => order(byOut.get(a.acc.out)!, byOut.get(b.acc.out)!));
  segments.forEach((sg, i) => (sg.id = i));
  return segments;

  function buildPass(relayHeads: Set<NodeStep>): Segment[] {
    const segments: Segment[] = [];
    const heads: (AccStep | NodeStep)[] = [...plan.steps.filter((s): s is AccStep => s.kind === 'acc'), ...relayHeads];
    const register = (s: NodeStep): void => {
      if (relayHeads.has(s)) return;
      relayHeads.add(s);
      heads.push(s);
    };
    for (let h = 0; h < heads.length; h++) {
      const head = heads[h]!;
      const relay = head.kind === 'node';
      const acc: AccStep = relay ? { kind: 'acc', name: head.node.name, in: head.out, out: head.out } : head;
      // Walk back from the accumulator through delta-domain nodes to the streams (gates and
      // relays). A synaptic node reached through elementwise nodes only (add, affine,
      // reshape) is the segment's own, and those nodes are post-synaptic (neurons and
      // accumulator elements stay one to one); the others are dendritic work on streams.
      const synaptic: NodeStep[] = [];
      const pre: NodeStep[] = [];
      const post: NodeStep[] = [];
      const inputs = new Set<number>();
      const visit = (t: number, own: boolean): boolean => {
        const s = byOut.get(t);
        if (!s || s.kind === 'gate') {
          inputs.add(t);
          return false;
        }
        if (s.kind !== 'node') throw unsupported(`tensor ${plan.tensors[t]!.name} feeds an accumulator from another accumulator`);
        if (s !== head && relayHeads.has(s)) {
          inputs.add(t);
          return false;
        }
        if (s.cls === 'synaptic') {
          if (!own) {
            register(s);
            inputs.add(t);
            return false;
          }
          if (!synaptic.includes(s)) synaptic.push(s);
          for (const i of s.ins) visit(i, false);
          return true;
        }
        const elementwise = isElementwise(s);
        if (!own && elementwise && synapseBeneath(s, relayHeads)) {
          register(s);
          inputs.add(t);
          return false;
        }
        let below = false;
        for (const i of s.ins) below = visit(i, own && elementwise) || below;
        const list = below ? post : pre;
        if (!list.includes(s)) list.push(s);
        return below;
      };
      // A relay head is its own segment's: a synapse, or the elementwise node on top of some.
      visit(acc.in, true);
      synaptic.sort(order);
      pre.sort(order);
      post.sort(order);
      // Post-synaptic nodes are elementwise by construction: below any other node, a synapse is a relay's.
      const accSize = plan.tensors[acc.in]!.size;
      for (const sy of synaptic) {
        if (plan.tensors[sy.out]!.size !== accSize) throw unsupported(`synaptic node '${sy.node.name}' and accumulator '${acc.name}' differ in size`);
      }
      // Forward from the accumulator through value nodes to the gates.
      const values: NodeStep[] = [];
      const gates: GateStep[] = [];
      const frontier = [acc.out];
      const seen = new Set<number>();
      while (frontier.length > 0) {
        const t = frontier.pop()!;
        if (seen.has(t)) continue;
        seen.add(t);
        for (const r of readers.get(t) ?? []) {
          if (r.kind === 'gate') gates.push(r);
          else if (r.kind === 'node' && r.cls === 'nonlinear') {
            if (!values.includes(r)) values.push(r);
            frontier.push(r.out);
          }
        }
      }
      values.sort(order);
      gates.sort(order);
      // The neuron grid is the synaptic nodes' output: a Flatten or Reshape between them and
      // the accumulator keeps every element's flat index, and partitions follow conv rows.
      const accShape = plan.tensors[acc.in]!.shape;
      const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
      const synShapes = synaptic.map((sy) => plan.tensors[sy.out]!.shape);
      for (const [i, sh] of synShapes.entries()) {
        if (!sameShape(sh, synShapes[0]!)) throw unsupported(`synaptic nodes '${synaptic[0]!.node.name}' [${synShapes[0]}] and '${synaptic[i]!.node.name}' [${sh}] feed accumulator '${acc.name}' in different shapes`);
      }
      const shape = synShapes[0] ?? accShape;
      const reshaped = !sameShape(shape, accShape);
      let channels: number;
      let rows: number;
      let cols: number;
      const dense = synaptic[0]?.node.op;
      if (dense?.kind === 'dense') {
        // A Gemm/MatMul's output is [m, n] whatever rank it is written with ([1, m, n]).
        channels = dense.n;
        rows = dense.m;
        cols = 1;
      } else if (shape.length >= 3) {
        const sp = spatialOf(shape);
        channels = sp.c;
        rows = sp.h;
        cols = sp.w;
      } else {
        channels = shape[shape.length - 1] ?? 1;
        rows = shape.length === 2 ? shape[0]! : 1;
        cols = 1;
      }
      let rowAlign = 1;
      let rowsWhole = false;
      let channelsWhole = false;
      let wholeBecause = '';
      const because = (v: NodeStep, why: string): void => {
        wholeBecause ||= `'${v.node.name}' ${why}`;
      };
      for (const v of values) {
        const op = v.node.op;
        if (op.kind === 'maxpool' && reshaped) {
          // Its windows are in the accumulator's shape, not the grid's: keep them on one core.
          rowsWhole = true;
          channelsWhole = true;
          because(v, 'pools a reshaped output');
        } else if (op.kind === 'maxpool') {
          // Windows must not overlap (their span, dilation included, fits in the stride).
          // Pools in a row multiply: a second 2×2 pool's window spans 4 accumulator rows.
          if ((op.kh - 1) * op.dilH + 1 <= op.strideH && op.padT === 0) rowAlign *= op.strideH;
          else {
            rowsWhole = true;
            because(v, 'pools overlapping or padded windows');
          }
        } else if (op.kind === 'softmax') {
          rowsWhole = true;
          channelsWhole = true;
          because(v, op.log ? 'is a log-softmax' : 'is a softmax');
        } else if (op.kind === 'mul') {
          const other = v.ins.find((t) => !seen.has(t));
          if (other !== undefined) throw unsupported(`'${v.node.name}' multiplies values of two different layers`);
          if (op.bcast) throw unsupported(`'${v.node.name}' multiplies values of different shapes (broadcasting)`);
        }
      }
      // Shadow rows instead of whole rows: one overlapping max pool on the accumulator's
      // own grid, elementwise nodes around it, synapses fed straight by streams (no
      // dendritic nodes, whose needs would have to follow the shadows too).
      let halo: Segment['halo'] = null;
      const pools = values.filter((v) => v.node.op.kind === 'maxpool');
      if (rowsWhole && !channelsWhole && !relay && pools.length === 1 && pre.length === 0 && post.length === 0 && synaptic.length > 0
        && synaptic.every((sy) => sy.node.op.kind === 'conv') && values.every((v) => v.node.op.kind === 'maxpool' || v.node.op.kind === 'unary')) {
        const op = pools[0]!.node.op as Extract<NodeStep['node']['op'], { kind: 'maxpool' }>;
        halo = { kh: op.kh, stride: op.strideH, pad: op.padT, dil: op.dilH, outRows: spatialOf(plan.tensors[pools[0]!.out]!.shape).h };
      }
      let fanIn = 0;
      for (const sy of synaptic) {
        const op = sy.node.op;
        if (op.kind === 'conv' || op.kind === 'dense') fanIn += synapticFanIn(op);
      }
      segments.push({
        id: segments.length, synaptic, pre, post, acc, values, gates, inputs: [...inputs].sort((a, b) => a - b),
        denseGrid: shape.length < 3 || dense?.kind === 'dense', channels, rows, cols, rowAlign, rowsWhole, channelsWhole, wholeBecause, halo, fanIn, relay,
      });
    }
    return segments;
  }
}

/**
 * True when a synaptic node's input is aggregated by dendritic arithmetic first (an
 * average pool, a sum of streams, a linear Resize): its synapses then act on the
 * aggregated values once per frame, not per incoming message.
 */
export function isAggregated(seg: Segment, syn: NodeStep): boolean {
  const byOut = new Map(seg.pre.map((n) => [n.out, n] as const));
  const stack = [...syn.ins];
  while (stack.length > 0) {
    const n = byOut.get(stack.pop()!);
    if (!n) continue;
    const k = n.node.op.kind;
    // Several inputs summed into one element: a pool window, a sum of streams, a linear Resize.
    if (k === 'avgpool' || k === 'add' || (n.node.op.kind === 'resize' && n.node.op.linear)) return true;
    stack.push(...n.ins);
  }
  return false;
}
