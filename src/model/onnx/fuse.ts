/**
 * Graph rewrites after import that exporters make necessary. PyTorch (before opset 20)
 * writes the exact GELU as five nodes, 0.5 · x · (1 + erf(x / √2)); taken literally, the
 * division and the "+ 1" are linear nodes, so the EvNet would gate x, accumulate x / √2
 * again, gate erf(…) and accumulate 1 + erf(…) before multiplying — extra gates on the
 * same neurons, and a product of two layers that a chip cannot map. The pattern is run
 * as the one elementwise GELU it is (as ONNX Runtime's graph optimiser does).
 */
import type { AffineOp, Graph, GraphNode, Op } from '../ir.js';

/** True when `op` is an affine node with the same scale and shift everywhere. */
function uniformAffine(op: Op, scale: (s: number) => boolean, shift: number): op is AffineOp {
  if (op.kind !== 'affine' || op.bnGamma !== null) return false;
  const s = op.scale[0]!;
  return scale(s) && op.scale.every((v) => v === s) && op.shift.every((v) => v === shift);
}

/**
 * Replaces every exact-GELU pattern by a unary 'gelu' node, in place; the replaced
 * nodes are left unread for the importer's pruning. Matches x / √2 (or x · 1/√2),
 * erf, + 1, then x · (…) · 0.5 in either order of the two products.
 */
export function fuseGelu(g: Graph): void {
  const readers = new Map<number, GraphNode[]>();
  for (const n of g.nodes) for (const t of n.inputs) readers.set(t, [...(readers.get(t) ?? []), n]);
  const onlyReader = (t: number): GraphNode | null => {
    const r = readers.get(t);
    return t !== g.output && r && r.length === 1 ? r[0]! : null;
  };
  const invSqrt2 = (s: number): boolean => Math.abs(s - Math.SQRT1_2) < 1e-6;
  const half = (s: number): boolean => s === 0.5;
  const one = (s: number): boolean => s === 1;
  for (const erf of g.nodes) {
    if (erf.op.kind !== 'unary' || erf.op.fn !== 'erf') continue;
    const div = g.nodes.find((n) => n.output === erf.inputs[0]);
    if (!div || !uniformAffine(div.op, invSqrt2, 0) || onlyReader(div.output) !== erf) continue;
    const x = div.inputs[0]!;
    const plus1 = onlyReader(erf.output);
    if (!plus1 || !uniformAffine(plus1.op, one, 1)) continue;
    const mul = onlyReader(plus1.output);
    if (!mul || mul.op.kind !== 'mul') continue;
    const other = mul.inputs[0] === plus1.output ? mul.inputs[1]! : mul.inputs[0]!;
    let last: GraphNode | null;
    if (other === x) {
      // (x · (1 + erf)) · 0.5
      last = onlyReader(mul.output);
      if (!last || !uniformAffine(last.op, half, 0)) continue;
    } else {
      // (x · 0.5) · (1 + erf)
      const halfX = g.nodes.find((n) => n.output === other);
      if (!halfX || halfX.inputs[0] !== x || !uniformAffine(halfX.op, half, 0) || onlyReader(halfX.output) !== mul) continue;
      last = mul;
    }
    last.op = { kind: 'unary', fn: 'gelu', a: 0, b: 0 };
    last.inputs = [x];
    last.onnxOp = 'Gelu';
    last.name = `${erf.name} (GELU)`;
  }
}
