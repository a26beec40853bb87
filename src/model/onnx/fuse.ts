/**
 * Graph rewrites after import that exporters make necessary. PyTorch (before opset 20)
 * writes the exact GELU as five nodes, 0.5 · x · (1 + erf(x / √2)); taken literally, the
 * division and the "+ 1" are linear nodes, so the EvNet would gate x, accumulate x / √2
 * again, gate erf(…) and accumulate 1 + erf(…) before multiplying — extra gates on the
 * same neurons, and a product of two layers that a chip cannot map. The pattern is run
 * as the one elementwise GELU it is (as ONNX Runtime's graph optimiser does); so is the
 * tanh approximation (approximate='tanh'), written as nine.
 */
import type { AffineOp, Graph, GraphNode, Op } from '../ir.js';

/** True when `op` is an affine node with the same scale and shift everywhere. */
function uniformAffine(op: Op, scale: (s: number) => boolean, shift: number): op is AffineOp {
  if (op.kind !== 'affine' || op.bnGamma !== null) return false;
  const s = op.scale[0]!;
  return scale(s) && op.scale.every((v) => v === s) && op.shift.every((v) => v === shift);
}

/**
 * Replaces every GELU pattern by a unary 'gelu' node, in place; the replaced nodes are
 * left unread for the importer's pruning. The exact form: x / √2 (or x · 1/√2), erf;
 * the tanh form: x · x · x, · 0.044715, + x, · √(2/π), tanh; then for both + 1 and
 * x · (…) · 0.5, in either order of the two products.
 */
export function fuseGelu(g: Graph): void {
  const readers = new Map<number, GraphNode[]>();
  for (const n of g.nodes) for (const t of n.inputs) readers.set(t, [...(readers.get(t) ?? []), n]);
  const onlyReader = (t: number): GraphNode | null => {
    const r = readers.get(t);
    return t !== g.output && r && r.length === 1 ? r[0]! : null;
  };
  const producer = (t: number): GraphNode | undefined => g.nodes.find((n) => n.output === t);
  const near = (want: number) => (s: number): boolean => Math.abs(s - want) < 1e-6;
  const half = (s: number): boolean => s === 0.5;
  const one = (s: number): boolean => s === 1;
  const plainMul = (n: GraphNode | undefined | null): n is GraphNode => !!n && n.op.kind === 'mul' && !n.op.bcast;

  /** erf(x/√2): x, or null. */
  const exactCore = (erf: GraphNode): number | null => {
    const div = producer(erf.inputs[0]!);
    if (!div || !uniformAffine(div.op, near(Math.SQRT1_2), 0) || onlyReader(div.output) !== erf) return null;
    return div.inputs[0]!;
  };
  /** tanh(√(2/π)·(x + 0.044715·x·x·x)): x, or null. */
  const tanhCore = (tanh: GraphNode): number | null => {
    const scaled = producer(tanh.inputs[0]!);
    if (!scaled || !uniformAffine(scaled.op, near(Math.sqrt(2 / Math.PI)), 0) || onlyReader(scaled.output) !== tanh) return null;
    const sum = producer(scaled.inputs[0]!);
    if (!sum || sum.op.kind !== 'add' || sum.op.sign !== 1 || onlyReader(sum.output) !== scaled) return null;
    for (const [xi, ci] of [[0, 1], [1, 0]] as const) {
      const x = sum.inputs[xi]!;
      const cube = producer(sum.inputs[ci]!);
      if (!cube || !uniformAffine(cube.op, near(0.044715), 0) || onlyReader(cube.output) !== sum) continue;
      const x3 = producer(cube.inputs[0]!);
      if (!plainMul(x3) || onlyReader(x3.output) !== cube) continue;
      const x2t = x3.inputs[0] === x ? x3.inputs[1]! : x3.inputs[1] === x ? x3.inputs[0]! : -1;
      const x2 = x2t >= 0 ? producer(x2t) : undefined;
      if (plainMul(x2) && x2.inputs[0] === x && x2.inputs[1] === x && onlyReader(x2.output) === x3) return x;
    }
    return null;
  };

  for (const core of g.nodes) {
    if (core.op.kind !== 'unary' || (core.op.fn !== 'erf' && core.op.fn !== 'tanh')) continue;
    const tanhForm = core.op.fn === 'tanh';
    const x = tanhForm ? tanhCore(core) : exactCore(core);
    if (x === null) continue;
    const plus1 = onlyReader(core.output);
    if (!plus1 || !uniformAffine(plus1.op, one, 1)) continue;
    const mul = onlyReader(plus1.output);
    if (!plainMul(mul)) continue;
    const other = mul.inputs[0] === plus1.output ? mul.inputs[1]! : mul.inputs[0]!;
    let last: GraphNode | null;
    if (other === x) {
      // (x · (1 + f)) · 0.5
      last = onlyReader(mul.output);
      if (!last || !uniformAffine(last.op, half, 0)) continue;
    } else {
      // (x · 0.5) · (1 + f)
      const halfX = producer(other);
      if (!halfX || halfX.inputs[0] !== x || !uniformAffine(halfX.op, half, 0) || onlyReader(halfX.output) !== mul) continue;
      last = mul;
    }
    last.op = { kind: 'unary', fn: 'gelu', a: tanhForm ? 1 : 0, b: 0 };
    last.inputs = [x];
    last.onnxOp = 'Gelu';
    last.name = `${core.name} (GELU)`;
  }
}
