/**
 * EvNet conversion (DESIGN §3): infer the value/delta domain of every tensor, insert
 * one gate per value tensor that a linear node consumes and one accumulator per delta
 * tensor that a nonlinear node (or the network output) consumes, and compute each
 * accumulator's constant offset (biases, BN shifts, pad values) for the flush.
 */
import { evalNode } from '../dense/executor.js';
import { buildMaps } from '../dense/ops.js';
import { opClass, type Graph, type GraphNode, type OpClass } from '../ir.js';

export type Domain = 'value' | 'delta';

export interface PlanTensor {
  id: number;
  name: string;
  shape: number[];
  size: number;
  domain: Domain;
}

export interface GateStep {
  kind: 'gate';
  name: string;
  /** Value tensor read. */
  in: number;
  /** Delta tensor written. */
  out: number;
}

export interface AccStep {
  kind: 'acc';
  name: string;
  in: number;
  out: number;
}

export interface NodeStep {
  kind: 'node';
  node: GraphNode;
  cls: OpClass;
  ins: number[];
  out: number;
}

export type PlanStep = GateStep | AccStep | NodeStep;

export interface EvPlan {
  graph: Graph;
  tensors: PlanTensor[];
  steps: PlanStep[];
  /** Network input (value) tensor. */
  input: number;
  /** Network output in the value domain. */
  output: number;
}

export function buildPlan(g: Graph): EvPlan {
  const producer = new Map<number, GraphNode>();
  for (const n of g.nodes) producer.set(n.output, n);
  const tensors: PlanTensor[] = g.tensors.map((t, id) => {
    const p = producer.get(id);
    const domain: Domain = p === undefined || opClass(p.op) === 'nonlinear' ? 'value' : 'delta';
    return { id, name: t.name, shape: [...t.shape], size: t.size, domain };
  });
  const steps: PlanStep[] = [];
  const gateOf = new Map<number, number>();
  const accOf = new Map<number, number>();
  const converterName = (t: number): string => producer.get(t)?.name ?? g.tensors[t]!.name;

  const inDomain = (t: number, want: Domain): number => {
    const have = tensors[t]!.domain;
    if (have === want) return t;
    const cache = want === 'delta' ? gateOf : accOf;
    const hit = cache.get(t);
    if (hit !== undefined) return hit;
    const id = tensors.length;
    tensors.push({ id, name: `${tensors[t]!.name}${want === 'delta' ? '.delta' : '.acc'}`, shape: [...tensors[t]!.shape], size: tensors[t]!.size, domain: want });
    cache.set(t, id);
    steps.push(want === 'delta'
      ? { kind: 'gate', name: converterName(t), in: t, out: id }
      : { kind: 'acc', name: converterName(t), in: t, out: id });
    return id;
  };

  for (const node of g.nodes) {
    const cls = opClass(node.op);
    const want: Domain = cls === 'nonlinear' ? 'value' : 'delta';
    const ins = node.inputs.map((t) => inDomain(t, want));
    steps.push({ kind: 'node', node, cls, ins, out: node.output });
  }
  const output = inDomain(g.output, 'value');
  return { graph: g, tensors, steps, input: g.input, output };
}

/**
 * The constant part of every accumulator: the linear subgraph feeding it evaluated
 * densely with every gate sending zero. Frame 0 sets a = offset + W·x.
 */
export function accumulatorOffsets(plan: EvPlan): Map<number, Float32Array> {
  const g = plan.graph;
  const memo = new Map<number, Float32Array>();
  const producerStep = new Map<number, PlanStep>();
  for (const s of plan.steps) producerStep.set(s.out, s);
  const offsetOf = (t: number): Float32Array => {
    const hit = memo.get(t);
    if (hit) return hit;
    const s = producerStep.get(t)!;
    const out = new Float32Array(plan.tensors[t]!.size);
    if (s.kind === 'node') {
      const ins = s.ins.map(offsetOf);
      evalNode(g, s.node, ins, out, buildMaps(s.node.op, s.node.inputs.map((i) => g.tensors[i]!.shape)));
    }
    // A gate output sends nothing at the offset evaluation: zeros.
    memo.set(t, out);
    return out;
  };
  const result = new Map<number, Float32Array>();
  for (const s of plan.steps) if (s.kind === 'acc') result.set(s.out, offsetOf(s.in));
  return result;
}

/**
 * γ of the BatchNorm feeding a gate, found by walking back through channel-preserving
 * value nodes (activations, MaxPool) to the accumulator and the node that produced
 * its delta tensor. Null when there is none.
 */
export function bnGammaForGate(plan: EvPlan, gate: GateStep): Float32Array | null {
  const byOut = new Map<number, PlanStep>();
  for (const s of plan.steps) byOut.set(s.out, s);
  let t = gate.in;
  for (;;) {
    const s = byOut.get(t);
    if (!s) return null;
    if (s.kind === 'acc') {
      t = s.in;
      continue;
    }
    if (s.kind !== 'node') return null;
    const op = s.node.op;
    if (op.kind === 'unary' || op.kind === 'maxpool') {
      t = s.ins[0]!;
      continue;
    }
    if (op.kind === 'conv' || op.kind === 'dense' || op.kind === 'affine') return op.bnGamma;
    return null;
  }
}
