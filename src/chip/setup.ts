/**
 * Everything static about one network on one chip, built identically by the
 * coordinator and by every actor from (graph, chip, options): the mapping, routes,
 * which core owns each element of each value tensor, the phase-2 trigger index of
 * each gate neuron, and each core's upstream cores (whose frame.end tokens it awaits).
 */
import { EvsimError } from '../errors.js';
import { spatialOf } from '../model/geometry.js';
import type { Graph, Op } from '../model/ir.js';
import { buildPlan, type EvPlan, type GateStep, type NodeStep } from '../model/evnet/plan.js';
import { mapNetwork, type Mapping, type MapOptions } from './mapper.js';
import { buildRoutes, segmentOwners, type StreamRoutes } from './routing.js';
import type { Segment } from './segments.js';
import type { ChipSpec } from './spec.js';

/** Core id used for the input sensor on tile (0, 0). */
export const SENSOR = -1;

export interface ChipSetup {
  plan: EvPlan;
  chip: ChipSpec;
  mapping: Mapping;
  routes: Map<number, StreamRoutes>;
  /** Per value tensor (and gate stream): owning core of every element. */
  owner: Map<number, Int32Array>;
  /** Per gate stream: phase-2 trigger (accumulator index) of every neuron. */
  trigger: Map<number, Int32Array>;
  /** The gate reading the network input (run by the sensor). */
  inputGate: GateStep;
  /** Per core: upstream cores, ascending (SENSOR first when fed by the input). */
  upstream: Int32Array[];
  /** Cores owning elements of the network output. */
  outputCores: Int32Array;
  /** Cores fed by the sensor (their frame k−1 end admits frame k). */
  inputCores: Int32Array;
  /**
   * Per accumulator (output tensor) with shadow rows: for each element, the cores that
   * also accumulate it as a shadow row (CSR; mapper.ts `s1`).
   */
  shadows: Map<number, { offsets: Int32Array; cores: Int32Array }>;
}

/** Each accumulator element's shadowing cores, for the segments whose partitions have shadow rows. */
function shadowMaps(plan: EvPlan, mapping: Mapping): ChipSetup['shadows'] {
  const out: ChipSetup['shadows'] = new Map();
  for (const seg of mapping.segments) {
    const parts = mapping.partitions.filter((p) => p.segment === seg.id && p.s1 > p.r1);
    if (parts.length === 0) continue;
    const size = plan.tensors[seg.acc.out]!.size;
    const plane = seg.rows * seg.cols;
    // A counting pass, then a filling one (a million elements on ResNet's stem).
    const each = (f: (i: number, core: number) => void): void => {
      for (const p of parts) {
        for (let ch = p.c0; ch < p.c1; ch++) for (let i = ch * plane + p.r1 * seg.cols; i < ch * plane + p.s1 * seg.cols; i++) f(i, p.core);
      }
    };
    const offsets = new Int32Array(size + 1);
    each((i) => offsets[i + 1]++);
    for (let i = 0; i < size; i++) offsets[i + 1] += offsets[i]!;
    const fill = offsets.slice(0, size);
    const cores = new Int32Array(offsets[size]!);
    each((i, core) => (cores[fill[i]!++] = core));
    out.set(seg.acc.out, { offsets, cores });
  }
  return out;
}

/**
 * The EvNet plan of a graph, built once per graph: it depends on the network alone, so
 * setups of one model on different chips (a sweep over chip sizes) share it, and with
 * it what is cached per plan (each accumulator's starting values, a dense pass of the
 * network on its constants).
 */
const plans = new WeakMap<Graph, EvPlan>();
export function planOf(graph: Graph): EvPlan {
  let p = plans.get(graph);
  if (!p) plans.set(graph, (p = buildPlan(graph)));
  return p;
}

/**
 * What a plan's value nodes do to ownership and phase-2 order, whatever the chip: per
 * value tensor, the trigger (accumulator index) of each element, and the input element
 * whose owner owns each output element (null: the same element). Built once per plan:
 * a setup then only gathers owners through it (a max pool's window scan used to run
 * again for every mapping).
 */
interface ValueMaps {
  trigger: Map<number, Int32Array>;
  from: Map<number, Int32Array | null>;
}

const valueMaps = new WeakMap<EvPlan, ValueMaps>();

function valueMapsOf(plan: EvPlan, segments: readonly Segment[]): ValueMaps {
  let m = valueMaps.get(plan);
  if (m) return m;
  m = { trigger: new Map(), from: new Map() };
  for (const seg of segments) {
    const size = plan.tensors[seg.acc.out]!.size;
    const trig = new Int32Array(size);
    for (let i = 0; i < size; i++) trig[i] = i;
    m.trigger.set(seg.acc.out, trig);
    for (const v of seg.values) {
      const inTrig = m.trigger.get(v.ins[0]!)!;
      const op = v.node.op;
      // Owner and trigger arrays are read-only, so an elementwise node shares its input's.
      const r = op.kind === 'maxpool' ? maxpoolMaps(plan, v, op, inTrig) : op.kind === 'softmax' ? softmaxMaps(op, inTrig) : { from: null, trig: inTrig };
      m.trigger.set(v.out, r.trig);
      m.from.set(v.out, r.from);
    }
    for (const gt of seg.gates) m.trigger.set(gt.out, m.trigger.get(gt.in)!);
  }
  valueMaps.set(plan, m);
  return m;
}

/** A max pool output is owned with its window's first input and triggered by the window's last trigger. */
function maxpoolMaps(plan: EvPlan, v: NodeStep, op: Extract<Op, { kind: 'maxpool' }>, inTrig: Int32Array): { from: Int32Array; trig: Int32Array } {
  const { h, w } = spatialOf(plan.tensors[v.ins[0]!]!.shape);
  const { c, h: oh, w: ow } = spatialOf(plan.tensors[v.out]!.shape);
  const from = new Int32Array(c * oh * ow);
  const trig = new Int32Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const oi = (ch * oh + oy) * ow + ox;
        const y0 = Math.min(h - 1, Math.max(0, oy * op.strideH - op.padT));
        const x0 = Math.min(w - 1, Math.max(0, ox * op.strideW - op.padL));
        from[oi] = (ch * h + y0) * w + x0;
        let mx = -1;
        for (let ky = 0; ky < op.kh; ky++) {
          const iy = oy * op.strideH - op.padT + ky * op.dilH;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < op.kw; kx++) {
            const ix = ox * op.strideW - op.padL + kx * op.dilW;
            if (ix >= 0 && ix < w) mx = Math.max(mx, inTrig[(ch * h + iy) * w + ix]!);
          }
        }
        trig[oi] = mx;
      }
    }
  }
  return { from, trig };
}

/** A softmax keeps ownership; each output waits for the last trigger of its row. */
function softmaxMaps(op: Extract<Op, { kind: 'softmax' }>, inTrig: Int32Array): { from: null; trig: Int32Array } {
  const trig = new Int32Array(inTrig.length);
  for (let r = 0; r < op.outer * op.inner; r++) {
    const oo = Math.floor(r / op.inner);
    const ii = r - oo * op.inner;
    let mx = -1;
    for (let j = 0; j < op.len; j++) mx = Math.max(mx, inTrig[(oo * op.len + j) * op.inner + ii]!);
    for (let j = 0; j < op.len; j++) trig[(oo * op.len + j) * op.inner + ii] = mx;
  }
  return { from: null, trig };
}

function gather(src: Int32Array, idx: Int32Array): Int32Array {
  const out = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = src[idx[i]!]!;
  return out;
}

/** Per core: the cores (SENSOR for the input) whose neurons send it messages, ascending. */
function upstreamOf(plan: EvPlan, routes: Map<number, StreamRoutes>, owner: Map<number, Int32Array>, nCores: number): Int32Array[] {
  const up: Set<number>[] = Array.from({ length: nCores }, () => new Set<number>());
  // Neighbouring neurons mostly share their owner: a core's last source seen skips most adds.
  const lastSrc = new Int32Array(nCores).fill(SENSOR - 1);
  for (const r of routes.values()) {
    const own = owner.get(r.stream);
    if (!own) {
      throw new EvsimError('BAD_MODEL', `tensor ${plan.tensors[r.stream]!.name} is computed from the network input by a nonlinear node outside any layer (the sensor sends only the input itself); this network cannot be mapped onto a chip yet (use --chip ideal)`);
    }
    for (let s = 0; s < own.length; s++) {
      const src = own[s]!;
      for (let k = r.offsets[s]!; k < r.offsets[s + 1]!; k++) {
        const dst = r.core[k]!;
        if (lastSrc[dst] !== src) {
          lastSrc[dst] = src;
          up[dst]!.add(src);
        }
      }
    }
  }
  return up.map((set) => Int32Array.from([...set].sort((a, b) => a - b)));
}

export function buildChipSetup(graph: Graph, chip: ChipSpec, opts: MapOptions = {}): ChipSetup {
  const plan = planOf(graph);
  const mapping = mapNetwork(plan, chip, opts);
  const routes = buildRoutes(plan, mapping);
  const inputGate = plan.steps.find((s): s is GateStep => s.kind === 'gate' && s.in === plan.input);
  if (!inputGate) throw new EvsimError('BAD_MODEL', `${graph.name}: the network input feeds only nonlinear nodes (the sensor sends the input itself, through its gate, to a linear node such as a Conv or Gemm); this network cannot be mapped onto a chip yet (use --chip ideal)`);

  const maps = valueMapsOf(plan, mapping.segments);
  const owner = new Map<number, Int32Array>();
  for (const seg of mapping.segments) {
    const own = segmentOwners(seg, mapping.partitions.filter((p) => p.segment === seg.id), plan.tensors[seg.acc.out]!.size, SENSOR);
    owner.set(seg.acc.out, own);
    owner.set(seg.acc.in, own);
    for (const v of seg.values) {
      const inOwn = owner.get(v.ins[0]!)!;
      const from = maps.from.get(v.out)!;
      owner.set(v.out, from ? gather(inOwn, from) : inOwn);
    }
    for (const gt of seg.gates) owner.set(gt.out, owner.get(gt.in)!);
  }
  owner.set(inputGate.out, new Int32Array(plan.tensors[inputGate.out]!.size).fill(SENSOR));

  const upstream = upstreamOf(plan, routes, owner, mapping.cores.length);
  const outOwn = owner.get(plan.output);
  if (!outOwn) throw new EvsimError('BAD_MODEL', `${graph.name}: the network output is not computed by a mapped layer`);
  const outputCores = Int32Array.from([...new Set(outOwn)].filter((c) => c >= 0).sort((a, b) => a - b));
  const inputRoutes = routes.get(inputGate.out);
  const inputCores = Int32Array.from([...new Set(inputRoutes ? inputRoutes.core : [])].sort((a, b) => a - b));
  // Frames enter when the input cores are done with the last one: without any, none would.
  if (inputCores.length === 0) throw new EvsimError('BAD_MODEL', `${graph.name}: no mapped layer reads the network input, so no core would start a frame; run it with --chip ideal`);
  return { plan, chip, mapping, routes, owner, trigger: maps.trigger, inputGate, upstream, outputCores, inputCores, shadows: shadowMaps(plan, mapping) };
}
