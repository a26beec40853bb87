/**
 * The functional EvNet: runs a converted network frame by frame on the sparse
 * kernels and counts every operation of DESIGN §4 per layer and per frame.
 */
import { EvsimError } from '../../errors.js';
import { denseMacsOf, weightBytesOf } from '../ir.js';
import { makeDeltaKernel, type DeltaKernel } from './delta-kernels.js';
import { Gate } from './gate.js';
import { accumulatorOffsets, bnGammaForGate, buildPlan, type EvPlan, type GateStep, type PlanStep } from './plan.js';
import { formatPolicy, parsePolicy, type Policy, type PolicySpec } from './policy.js';
import { DeltaList, IndexList } from './sparse.js';
import { accumulateLoop, accumulateRelu, addLoop } from './accumulate.js';
import { makeValueKernel, type ValueKernel } from './value-kernels.js';

/** Per-gate overrides from the config, keyed by gate name (see `evsim inspect`). */
export interface LayerOverride {
  threshold?: number;
  /** A policy without `reset:N` (reset is network-wide). */
  policy?: string;
  /** One threshold per channel; replaces `threshold` for this gate. */
  channelThresholds?: number[];
}

export interface EvnetOptions {
  threshold: number;
  policy: PolicySpec;
  bnGamma?: boolean;
  layers?: Record<string, LayerOverride>;
}

export type LayerKind = 'input' | 'gate' | 'acc' | 'node';

/** A row of the layer table: every gate, accumulator and node of the EvNet. */
export interface LayerInfo {
  id: number;
  name: string;
  kind: LayerKind;
  /** IR op kind for nodes, 'gate'/'accumulator' otherwise. */
  op: string;
  onnxOp: string;
  domain: 'value' | 'delta';
  shape: number[];
  denseMacs: number;
  weightBytes: number;
  stateBytes: number;
  /** Gates: threshold summary and policy. */
  threshold: number | null;
  policy: string | null;
}

/** Counts of one frame, summed over layers (DESIGN §4). */
export interface FrameCounts {
  frame: number;
  flush: boolean;
  macs: number;
  denseMacs: number;
  adds: number;
  transmissions: number;
  gateUpdates: number;
  accUpdates: number;
  overheadAdds: number;
  overheadCompares: number;
  overheadLoadStore: number;
}

/**
 * DESIGN §4's overhead convention (the EvNet authors'): an accumulator costs 1 add and
 * 2 loads/stores per updated neuron; a gate 2u + t adds, u compares and 4u + 2t
 * loads/stores for u updated neurons and t transmissions. For one frame or a run's totals.
 */
export function overheadOf(accUpdates: number, gateUpdates: number, transmissions: number): { adds: number; compares: number; loadStore: number } {
  return {
    adds: accUpdates + 2 * gateUpdates + transmissions,
    compares: gateUpdates,
    loadStore: 2 * accUpdates + 4 * gateUpdates + 2 * transmissions,
  };
}

/** Per-layer counts of the last frame, indexed by layer id. */
export interface LayerCounts {
  macs: Float64Array;
  adds: Float64Array;
  updates: Float64Array;
  transmissions: Float64Array;
}

/**
 * Builds the gate of a plan step with its threshold per element (global or per-layer
 * h, per-channel thresholds, bn_gamma) and policy. Shared by the functional engine and
 * the chip actors so both gate identically.
 */
export function createGate(plan: EvPlan, step: GateStep, opts: EvnetOptions, ov: LayerOverride | undefined): Gate {
const { shape, size } = plan.tensors[step.in]!;
  const where = `layers.${step.name}`;
  const base = ov?.threshold ?? opts.threshold;
  if (!(base >= 0)) throw new EvsimError('BAD_POLICY', `${where}.threshold must be ≥ 0, got ${base}`);
  const spec = ov?.policy ? overridePolicy(step, ov.policy) : opts.policy;
  if (ov?.policy && spec.resetEvery > 0) throw new EvsimError('BAD_POLICY', `${where}.policy: reset:N is network-wide; set it in the global policy`);
  const policy: Policy = { mode: spec.mode, memoryLoss: spec.memoryLoss, chunk: spec.chunk, sendAll: opts.policy.sendAll };
  const geo = gateGeometry(shape);
  const perChannel = new Float64Array(geo.channels).fill(base);
  if (ov?.channelThresholds) {
    if (ov.channelThresholds.length !== geo.channels) {
      throw new EvsimError('BAD_CONFIG', `${where}.channel_thresholds has ${ov.channelThresholds.length} entries; the gate has ${geo.channels} channels`);
    }
    ov.channelThresholds.forEach((v, c) => {
      if (!(v >= 0)) throw new EvsimError('BAD_POLICY', `${where}.channel_thresholds[${c}] must be ≥ 0, got ${v}`);
      perChannel[c] = v;
    });
  }
  if (opts.bnGamma) {
    const gamma = bnGammaForGate(plan, step);
    if (gamma && gamma.length === geo.channels) for (let c = 0; c < geo.channels; c++) perChannel[c] = perChannel[c]! * Math.abs(gamma[c]!);
  }
  // Name the setting that holds a bad value: the run's threshold, or this gate's own.
  const global = ov?.threshold === undefined && !ov?.channelThresholds;
  const setting = global ? 'the run\'s threshold (--threshold, or threshold: in a config)' : `${where}: the threshold`;
  // Thresholds are float32 (DESIGN §3): 1e39 would be an infinity, and under rounding
  // 1e-46 a zero whose 1/h is infinite (every value sent as NaN).
  const c = perChannel.findIndex((v) => Math.fround(v) === Infinity);
  if (c >= 0) {
    const given = ov?.channelThresholds ? ov.channelThresholds[c]! : base;
    const who = ov?.channelThresholds ? `${where}.channel_thresholds[${c}]` : setting;
    // Given within range, it can still leave it once bn_gamma scales it by |γ|.
    if (Math.fround(given) === Infinity) throw new EvsimError('BAD_POLICY', `${who} is ${given}, beyond float32; give at most 3.4e38`);
    const g = perChannel[c]! / given;
    throw new EvsimError('BAD_POLICY', `${who} ${given} times |γ| ${g} of channel ${c} (bn_gamma) is ${perChannel[c]}, beyond float32; give at most ${(3.4e38 / g).toPrecision(2)}, or turn bn_gamma off`);
  }
  const zero = policy.mode === 'rounding' ? perChannel.find((v) => Math.fround(v) <= 0) : undefined;
  if (zero !== undefined) {
    const tiny = zero > 0 ? ` (${zero} is 0 in float32; give at least 1.4e-45)` : '';
    const who = global && (base <= 0 || !opts.bnGamma) ? `${setting}${base <= 0 ? ' is 0 but' : ':'}` : `${where}:`;
    throw new EvsimError('BAD_POLICY', `${who} the rounding policy needs a threshold > 0 (it rounds to multiples of h)${tiny}`);
  }
  const h = new Float32Array(size);
  for (let i = 0; i < size; i++) h[i] = perChannel[Math.floor(i / geo.inner) % geo.channels]!;
  return new Gate(size, h, policy, geo, step.name);
}

/** Looks up the override of a gate by its name or its tensor's name. */
/** A gate's own policy (config `layers.<gate>.policy`), parsed; a bad one is named by that field. */
export function overridePolicy(step: GateStep, text: string): PolicySpec {
  try {
    return parsePolicy(text);
  } catch (e) {
    throw new EvsimError('BAD_POLICY', `layers.${step.name}.policy: ${(e as Error).message}`);
  }
}

export function gateOverride(plan: EvPlan, step: GateStep, layers: Record<string, LayerOverride> | undefined): { key: string; ov: LayerOverride } | null {
  if (!layers) return null;
  if (layers[step.name]) return { key: step.name, ov: layers[step.name]! };
  const t = plan.tensors[step.in]!.name;
  return layers[t] ? { key: t, ov: layers[t]! } : null;
}

type Runner =
  | { kind: 'gate'; gate: Gate; step: GateStep; layer: number }
  | AccRunner
  | { kind: 'delta'; kernel: DeltaKernel; ins: DeltaList[]; out: DeltaList; layer: number }
  | { kind: 'alias'; in: number; layer: number }
  | ValueRunner
  | { kind: 'accRelu'; acc: AccRunner; relu: ValueRunner; aBits: Int32Array; yBits: Int32Array };

type AccRunner = { kind: 'acc'; in: number; out: number; offset: Float32Array; layer: number };
type ValueRunner = {
  kind: 'value'; kernel: ValueKernel; xs: Float32Array[]; changed: IndexList[]; y: Float32Array; yChanged: IndexList; layer: number;
  /** A ReLU of one input: fusable with the accumulator feeding it. */
  relu: boolean;
};

/** A gate tensor's channels (axis 1) and positions (the axes after it), as chunk:C groups them. */
export function gateGeometry(shape: readonly number[]): { channels: number; inner: number } {
  if (shape.length <= 1) return { channels: shape[0] ?? 1, inner: 1 };
  return { channels: shape[1]!, inner: shape.slice(2).reduce((a, b) => a * b, 1) };
}

export class EvnetEngine {
  readonly plan: EvPlan;
  readonly layers: LayerInfo[] = [];
  readonly counts: LayerCounts;
  readonly gates: Gate[] = [];
  private readonly values: Float32Array[] = [];
  private readonly changed: IndexList[] = [];
  private readonly deltas: DeltaList[] = [];
  private readonly runners: Runner[] = [];
  private readonly resetEvery: number;
  private readonly denseMacsPerFrame: number;
  private frameIndex = 0;

  constructor(plan: EvPlan, opts: EvnetOptions) {
    this.plan = plan;
    const g = plan.graph;
    this.resetEvery = opts.policy.resetEvery;
    for (const t of plan.tensors) {
      if (t.domain === 'value') {
        this.values[t.id] = new Float32Array(t.size);
        this.changed[t.id] = new IndexList(t.size);
      } else {
        this.deltas[t.id] = new DeltaList(t.size);
      }
    }
    const offsets = accumulatorOffsets(plan);
    const overrides = opts.layers ?? {};
    const inputT = plan.tensors[plan.input]!;
    this.layers.push(this.layerRow(inputT.name, 'input', 'input', '', 'value', inputT.shape));

    for (const step of plan.steps) {
      const id = this.layers.length;
      if (step.kind === 'gate') {
        const t = plan.tensors[step.in]!;
        const hit = gateOverride(plan, step, overrides);
        const ov = hit?.ov;
        const gate = createGate(plan, step, opts, ov);
        this.gates.push(gate);
        const row = this.layerRow(step.name, 'gate', 'gate', '', 'delta', t.shape);
        row.stateBytes = 8 * t.size;
        row.threshold = ov?.threshold ?? opts.threshold;
        row.policy = formatPolicy({ ...gate.policy, resetEvery: opts.policy.resetEvery });
        this.layers.push(row);
        this.runners.push({ kind: 'gate', gate, step, layer: id });
      } else if (step.kind === 'acc') {
        const t = plan.tensors[step.in]!;
        const row = this.layerRow(step.name, 'acc', 'accumulator', '', 'value', t.shape);
        row.stateBytes = 4 * t.size;
        this.layers.push(row);
        this.runners.push({ kind: 'acc', in: step.in, out: step.out, offset: offsets.get(step.out)!, layer: id });
      } else {
        const node = step.node;
        const t = plan.tensors[step.out]!;
        const row = this.layerRow(node.name, 'node', node.op.kind, node.onnxOp, t.domain, t.shape);
        row.denseMacs = denseMacsOf(node, g);
        row.weightBytes = weightBytesOf(node.op);
        this.layers.push(row);
        if (step.cls === 'nonlinear') {
          // Operand arrays built once: a fresh array per call would also vary its map
          // between interpreter and optimized code, and the inlined kernel would deopt.
          this.runners.push({
            kind: 'value', kernel: makeValueKernel(g, node), layer: id,
            xs: step.ins.map((i) => this.values[i]!), changed: step.ins.map((i) => this.changed[i]!),
            y: this.values[step.out]!, yChanged: this.changed[step.out]!,
            relu: node.op.kind === 'unary' && node.op.fn === 'relu' && step.ins.length === 1,
          });
        } else {
          const kernel = makeDeltaKernel(g, node, { keepZeros: opts.policy.sendAll === true });
          if (kernel) {
            this.runners.push({ kind: 'delta', kernel, ins: step.ins.map((i) => this.deltas[i]!), out: this.deltas[step.out]!, layer: id });
          } else {
            // Reshape: same flat indices, so the output shares the input's list.
            this.deltas[step.out] = this.deltas[step.ins[0]!]!;
            this.runners.push({ kind: 'alias', in: step.ins[0]!, layer: id });
          }
        }
      }
    }
    checkOverrides(plan, overrides);
    this.fuseAccRelu();
    const n = this.layers.length;
    this.counts = { macs: new Float64Array(n), adds: new Float64Array(n), updates: new Float64Array(n), transmissions: new Float64Array(n) };
    this.denseMacsPerFrame = this.layers.reduce((s, l) => s + l.denseMacs, 0);
  }

  private layerRow(name: string, kind: LayerKind, op: string, onnxOp: string, domain: 'value' | 'delta', shape: number[]): LayerInfo {
    return { id: this.layers.length, name, kind, op, onnxOp, domain, shape: [...shape], denseMacs: 0, weightBytes: 0, stateBytes: 0, threshold: null, policy: null };
  }

  /**
   * An accumulator whose only reader is a ReLU runs fused with it: one pass over the
   * delta list updates a and y together (same adds, same counts), instead of a pass
   * that lists the changed a and a second one that reads them back.
   */
  private fuseAccRelu(): void {
    const readers = new Map<number, number>();
    const read = (t: number): void => void readers.set(t, (readers.get(t) ?? 0) + 1);
    for (const s of this.plan.steps) {
      if (s.kind === 'node') s.ins.forEach(read);
      else read(s.in);
    }
    read(this.plan.output);
    const rs = this.runners;
    for (let i = 0; i + 1 < rs.length; i++) {
      const acc = rs[i]!;
      const relu = rs[i + 1]!;
      if (acc.kind !== 'acc' || relu.kind !== 'value' || !relu.relu) continue;
      const a = this.values[acc.out]!;
      if (relu.xs[0] !== a || readers.get(acc.out) !== 1) continue;
      const y = relu.y;
      rs.splice(i, 2, { kind: 'accRelu', acc, relu, aBits: new Int32Array(a.buffer, a.byteOffset, a.length), yBits: new Int32Array(y.buffer, y.byteOffset, y.length) });
    }
  }

  get output(): Float32Array {
    return this.values[this.plan.output]!;
  }

  get frame(): number {
    return this.frameIndex;
  }

  /** Runs the next frame and returns its counts. */
  step(frame: Float32Array): FrameCounts {
    const t = this.frameIndex++;
    const flush = t === 0 || (this.resetEvery > 0 && t % this.resetEvery === 0);
    const c = this.counts;
    c.macs.fill(0);
    c.adds.fill(0);
    c.updates.fill(0);
    c.transmissions.fill(0);
    const x = this.values[this.plan.input]!;
    const xc = this.changed[this.plan.input]!;
    if (flush) {
      x.set(frame);
      xc.fillAll();
    } else {
      xc.n = 0;
      for (let i = 0; i < x.length; i++) {
        const v = frame[i]!;
        if (v !== x[i]) {
          x[i] = v;
          xc.push(i);
        }
      }
    }
    c.updates[0] = xc.n;
    const fc: FrameCounts = {
      frame: t, flush, macs: 0, denseMacs: this.denseMacsPerFrame, adds: 0, transmissions: 0,
      gateUpdates: 0, accUpdates: 0, overheadAdds: 0, overheadCompares: 0, overheadLoadStore: 0,
    };
    for (const r of this.runners) {
      switch (r.kind) {
        case 'gate': {
          const { gate, step } = r;
          const out = this.deltas[step.out]!;
          if (flush) gate.flush(this.values[step.in]!, out);
          else gate.run(this.values[step.in]!, this.changed[step.in]!, out);
          c.updates[r.layer] = gate.updates;
          c.transmissions[r.layer] = gate.transmissions;
          fc.gateUpdates += gate.updates;
          fc.transmissions += gate.transmissions;
          break;
        }
        case 'acc': {
          const n = this.accumulate(r.in, r.out, r.offset, flush);
          c.updates[r.layer] = n;
          fc.accUpdates += n;
          break;
        }
        case 'delta': {
          r.kernel.run(r.ins, r.out);
          c.macs[r.layer] = r.kernel.macs;
          c.adds[r.layer] = r.kernel.adds;
          fc.macs += r.kernel.macs;
          fc.adds += r.kernel.adds;
          break;
        }
        case 'value': {
          r.kernel.run(r.xs, r.changed, r.y, r.yChanged, flush);
          c.updates[r.layer] = r.yChanged.n;
          break;
        }
        case 'accRelu': {
          const { acc, relu } = r;
          let n: number;
          if (flush) {
            n = this.accumulate(acc.in, acc.out, acc.offset, true);
            relu.kernel.run(relu.xs, relu.changed, relu.y, relu.yChanged, true);
          } else {
            const d = this.deltas[acc.in]!;
            relu.yChanged.n = accumulateRelu(d.idx, d.val, d.n, relu.xs[0]!, r.aBits, r.yBits, relu.yChanged.idx);
            n = d.n;
          }
          c.updates[acc.layer] = n;
          fc.accUpdates += n;
          c.updates[relu.layer] = relu.yChanged.n;
          break;
        }
        case 'alias': {
          // Reshape moves no data, but DESIGN §4 counts every linear node's inputs.
          const n = this.deltas[r.in]!.n;
          c.adds[r.layer] = n;
          fc.adds += n;
          break;
        }
      }
    }
    const o = overheadOf(fc.accUpdates, fc.gateUpdates, fc.transmissions);
    fc.overheadAdds = o.adds;
    fc.overheadCompares = o.compares;
    fc.overheadLoadStore = o.loadStore;
    return fc;
  }

  /** a += Δ (a = offset + Δ at a flush); returns the number of updated neurons. */
  private accumulate(inT: number, outT: number, offset: Float32Array, flush: boolean): number {
    const delta = this.deltas[inT]!;
    const a = this.values[outT]!;
    const ch = this.changed[outT]!;
    if (flush) {
      a.set(offset);
      addLoop(delta.idx, delta.val, delta.n, a);
      ch.fillAll();
      return a.length;
    }
    ch.n = accumulateLoop(delta.idx, delta.val, delta.n, a, ch.idx);
    return delta.n;
  }

  /** Largest |d| − h over every gate neuron (≤ 0 means error retention holds). */
  retentionExcess(): number {
    let worst = -Infinity;
    for (const g of this.gates) {
      for (let i = 0; i < g.d.length; i++) worst = Math.max(worst, Math.abs(g.d[i]!) - g.h[i]!);
    }
    return worst;
  }

  /** Weight and state memory (DESIGN §4). */
  memory(): { weightBytes: number; stateBytes: number } {
    return {
      weightBytes: this.layers.reduce((s, l) => s + l.weightBytes, 0),
      stateBytes: this.layers.reduce((s, l) => s + l.stateBytes, 0),
    };
  }
}

export function createEngine(graph: EvPlan['graph'], opts: EvnetOptions): EvnetEngine {
  return new EvnetEngine(buildPlan(graph), opts);
}

export type { PlanStep };

/** Weight and state memory of a converted network (DESIGN §4). */
export function planMemory(plan: EvPlan): { weight_bytes: number; state_bytes: number } {
  let weights = 0;
  let state = 0;
  for (const s of plan.steps) {
    if (s.kind === 'node') weights += weightBytesOf(s.node.op);
    else if (s.kind === 'gate') state += 8 * plan.tensors[s.in]!.size;
    else state += 4 * plan.tensors[s.in]!.size;
  }
  return { weight_bytes: weights, state_bytes: state };
}

/** Every key of `layers` must name a gate (by gate or tensor name). */
export function checkOverrides(plan: EvPlan, layers: Record<string, LayerOverride> | undefined): void {
  if (!layers) return;
  const gates = plan.steps.filter((s): s is GateStep => s.kind === 'gate');
  const known = new Set(gates.flatMap((s) => [s.name, plan.tensors[s.in]!.name]));
  const unknown = Object.keys(layers).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new EvsimError('BAD_CONFIG', `layers.${unknown[0]}: no gate of that name; gates are: ${gates.map((s) => s.name).join(', ')}`);
  }
}
