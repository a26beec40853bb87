/**
 * The conventional network, frame by frame: every node computed in full. Baseline for
 * accuracy, operation counts (`dense_macs`) and wall time.
 */
import type { Graph, GraphNode } from '../ir.js';
import { avgPoolDense, buildMaps, convDense, denseDense, maxPoolDense, softmaxRow, unaryFn, type NodeMaps } from './ops.js';

/** Computes one node densely from its input tensors into `out`. */
export function evalNode(g: Graph, node: GraphNode, ins: Float32Array[], out: Float32Array, maps: NodeMaps): void {
  const op = node.op;
  const inShape = g.tensors[node.inputs[0]!]!.shape;
  const outShape = g.tensors[node.output]!.shape;
  const x = ins[0]!;
  switch (op.kind) {
    case 'conv': convDense(op, inShape, x, outShape, out); return;
    case 'dense': denseDense(op, x, out); return;
    case 'add': {
      const y = ins[1]!;
      if (op.sign === 1) for (let i = 0; i < out.length; i++) out[i] = x[i]! + y[i]!;
      else for (let i = 0; i < out.length; i++) out[i] = x[i]! - y[i]!;
      return;
    }
    case 'affine': for (let i = 0; i < out.length; i++) out[i] = x[i]! * op.scale[i]! + op.shift[i]!; return;
    case 'avgpool': avgPoolDense(op, inShape, x, outShape, out); return;
    case 'maxpool': maxPoolDense(op, inShape, x, outShape, out); return;
    case 'reshape': out.set(x); return;
    case 'transpose':
    case 'resize': {
      const wm = maps.weighted;
      if (wm) {
        for (let i = 0; i < out.length; i++) {
          let s = 0;
          for (let k = wm.offsets[i]!; k < wm.offsets[i + 1]!; k++) s += wm.wt[k]! * x[wm.src[k]!]!;
          out[i] = s;
        }
        return;
      }
      const m = maps.gather!;
      for (let i = 0; i < out.length; i++) out[i] = x[m[i]!]!;
      return;
    }
    case 'pad': {
      out.fill(op.value);
      const m = maps.scatter![0]!;
      for (let i = 0; i < x.length; i++) out[m[i]!] = x[i]!;
      return;
    }
    case 'concat':
      ins.forEach((t, k) => {
        const m = maps.scatter![k]!;
        for (let i = 0; i < t.length; i++) out[m[i]!] = t[i]!;
      });
      return;
    case 'unary': {
      const f = unaryFn(op);
      for (let i = 0; i < out.length; i++) out[i] = f(x[i]!, i);
      return;
    }
    case 'softmax':
      for (let o = 0; o < op.outer; o++) for (let i = 0; i < op.inner; i++) softmaxRow(op, x, out, o, i);
      return;
    case 'mul': {
      const y = ins[1]!;
      const [ma, mb] = op.bcast ?? [null, null];
      for (let i = 0; i < out.length; i++) out[i] = x[ma ? ma[i]! : i]! * y[mb ? mb[i]! : i]!;
      return;
    }
  }
}

export class DenseExecutor {
  readonly values: Float32Array[];
  private readonly maps: NodeMaps[];

  constructor(readonly graph: Graph) {
    this.values = graph.tensors.map((t) => new Float32Array(t.size));
    this.maps = graph.nodes.map((n) => buildMaps(n.op, n.inputs.map((i) => graph.tensors[i]!.shape)));
  }

  /** Runs one frame; returns the output tensor (a view owned by the executor). */
  run(frame: Float32Array): Float32Array {
    const g = this.graph;
    this.values[g.input]!.set(frame);
    for (const node of g.nodes) {
      evalNode(g, node, node.inputs.map((i) => this.values[i]!), this.values[node.output]!, this.maps[node.id]!);
    }
    return this.values[g.output]!;
  }
}
