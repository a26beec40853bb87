/**
 * Delta-domain kernels: synaptic nodes scatter each nonzero input delta over exactly
 * the (output, weight) pairs it reaches; other linear nodes remap or sum deltas. Inputs
 * are processed in ascending source index, so every output receives its contributions
 * in that order (DESIGN §3) whatever the sparsity pattern.
 */
import { avgDivisor, reachTable, spatialOf, type ReachTable } from '../geometry.js';
import type { AffineOp, AvgPoolOp, DenseOp, Graph, GraphNode } from '../ir.js';
import { concatMap, linearResizeTable, padMap, resizeMap, transposeMap } from '../dense/ops.js';
import { ConvScatter } from './conv-scatter.js';
import { DeltaBuilder, StampSet, type DeltaList } from './sparse.js';

export { ConvScatter };

export interface DeltaKernel {
  /** MACs (synaptic) or adds (other linear nodes) done by the last `run`. */
  macs: number;
  adds: number;
  run(ins: DeltaList[], out: DeltaList): void;
}

/** Gemm/MatMul scatter: input element (m, k) adds x·W[k, :] to output row m. */
export class DenseScatter implements DeltaKernel {
  macs = 0;
  adds = 0;
  private readonly scratch: Float32Array;
  private readonly rows: StampSet;
  constructor(private readonly op: DenseOp) {
    this.scratch = new Float32Array(op.m * op.n);
    this.rows = new StampSet(op.m);
  }
  run(ins: DeltaList[], out: DeltaList): void {
    const inp = ins[0]!;
    const op = this.op;
    // The loops live in plain functions: V8 then optimises them whole, not on-stack in
    // the middle of a first call (that code deoptimised at its first exit, every call).
    scatterRows(inp.idx, inp.val, inp.n, op.m, op.k, op.n, op.transA, op.weight, this.scratch, this.rows);
    this.macs = inp.n * op.n;
    out.n = 0;
    drainRows(this.rows.sorted(), op.n, this.scratch, out);
    this.rows.clear();
  }
}

/** Adds x·W[k, :] into scratch row m for every input delta (m, k), in input order. */
function scatterRows(
  idx: Int32Array, val: Float32Array, count: number, m: number, k: number, n: number, transA: boolean,
  weight: Float32Array, scratch: Float32Array, rows: StampSet,
): void {
  for (let e = 0; e < count; e++) {
    const s = idx[e]!;
    const v = val[e]!;
    let row: number;
    let kk: number;
    if (transA) {
      kk = (s / m) | 0;
      row = s - kk * m;
    } else {
      row = (s / k) | 0;
      kk = s - row * k;
    }
    rows.add(row);
    let wi = kk * n;
    let oi = row * n;
    const end = oi + n;
    const end4 = oi + (n & ~3);
    while (oi < end4) {
      scratch[oi] += weight[wi]! * v;
      scratch[oi + 1] += weight[wi + 1]! * v;
      scratch[oi + 2] += weight[wi + 2]! * v;
      scratch[oi + 3] += weight[wi + 3]! * v;
      oi += 4;
      wi += 4;
    }
    while (oi < end) scratch[oi++] += weight[wi++]! * v;
  }
}

/** The nonzero sums of the touched rows, ascending, into `out`; the rows are left zero. */
function drainRows(rows: Int32Array, n: number, scratch: Float32Array, out: DeltaList): void {
  for (let r = 0; r < rows.length; r++) {
    const base = rows[r]! * n;
    for (let j = 0; j < n; j++) {
      const val = scratch[base + j]!;
      if (val !== 0) {
        scratch[base + j] = 0;
        out.push(base + j, val);
      }
    }
  }
}

/** Sum or difference of two delta streams: a merge of two ascending lists. */
export class AddMerge implements DeltaKernel {
  macs = 0;
  adds = 0;
  constructor(private readonly sign: number, private readonly keepZeros = false) {}
  run(ins: DeltaList[], out: DeltaList): void {
    const a = ins[0]!;
    const b = ins[1]!;
    out.n = mergeLoop(a.idx, a.val, a.n, b.idx, b.val, b.n, this.sign, out.idx, out.val, this.keepZeros);
    this.adds = a.n + b.n;
  }
}

/** The merge of two ascending delta lists, b scaled by sign, exact zeros dropped unless kept; returns the output length. */
function mergeLoop(
  ai: Int32Array, av: Float32Array, na: number, bi: Int32Array, bv: Float32Array, nb: number, sign: number,
  oi: Int32Array, ov: Float32Array, keepZeros: boolean,
): number {
  let i = 0;
  let j = 0;
  let m = 0;
  while (i < na || j < nb) {
    const x = i < na ? ai[i]! : 0x7fffffff;
    const y = j < nb ? bi[j]! : 0x7fffffff;
    let v: number;
    let at: number;
    if (x === y) {
      at = x;
      v = av[i++]! + sign * bv[j++]!;
    } else if (x < y) {
      at = x;
      v = av[i++]!;
    } else {
      at = y;
      v = sign * bv[j++]!;
    }
    const f = Math.fround(v);
    oi[m] = at;
    ov[m] = f;
    m += +(f !== 0 || keepZeros);
  }
  return m;
}

/** x·scale on deltas; the shift is an offset and only enters at the flush. */
export class AffineScale implements DeltaKernel {
  macs = 0;
  adds = 0;
  constructor(private readonly op: AffineOp, private readonly keepZeros = false) {}
  run(ins: DeltaList[], out: DeltaList): void {
    const inp = ins[0]!;
    const scale = this.op.scale;
    const keep = this.keepZeros;
    out.n = 0;
    for (let e = 0; e < inp.n; e++) {
      const i = inp.idx[e]!;
      const v = Math.fround(inp.val[e]! * scale[i]!);
      // A dense run keeps a zero it was sent, not one a zero scale makes (no synapse
      // behind it: the chip routes no message there).
      if (v !== 0 || (keep && scale[i] !== 0)) out.push(i, v);
    }
    this.adds = inp.n;
  }
}

/** Average pooling as a scatter of v / divisor into every window holding the input. */
export class AvgPoolScatter implements DeltaKernel {
  macs = 0;
  adds = 0;
  private readonly ry: ReachTable;
  private readonly rx: ReachTable;
  private readonly inv: Float32Array;
  private readonly builder: DeltaBuilder;
  private readonly h: number;
  private readonly w: number;
  private readonly oh: number;
  private readonly ow: number;
  constructor(op: AvgPoolOp, inShape: readonly number[], outShape: readonly number[], keepZeros = false) {
    const { h, w } = spatialOf(inShape);
    const { c, h: oh, w: ow } = spatialOf(outShape);
    this.h = h;
    this.w = w;
    this.oh = oh;
    this.ow = ow;
    this.ry = reachTable(h, oh, op.kh, op.strideH, op.padT, op.dilH);
    this.rx = reachTable(w, ow, op.kw, op.strideW, op.padL, op.dilW);
    this.inv = new Float32Array(oh * ow);
    for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) this.inv[y * ow + x] = 1 / avgDivisor(op, h, w, y, x, op.countIncludePad);
    this.builder = new DeltaBuilder(c * oh * ow, keepZeros);
  }
  run(ins: DeltaList[], out: DeltaList): void {
    const inp = ins[0]!;
    const { ry, rx, inv, builder, w, ow } = this;
    const hw = this.h * w;
    const ohw = this.oh * ow;
    for (let e = 0; e < inp.n; e++) {
      const s = inp.idx[e]!;
      const v = inp.val[e]!;
      const c = (s / hw) | 0;
      const rem = s - c * hw;
      const iy = (rem / w) | 0;
      const ix = rem - iy * w;
      for (let a = ry.offsets[iy]!; a < ry.offsets[iy + 1]!; a++) {
        const oy = ry.out[a]!;
        for (let b = rx.offsets[ix]!; b < rx.offsets[ix + 1]!; b++) {
          const p = oy * ow + rx.out[b]!;
          builder.add(c * ohw + p, v * inv[p]!);
        }
      }
    }
    builder.emit(out);
    this.adds = inp.n;
  }
}

/** Index remaps (Transpose, Pad, Concat, nearest Resize): each input delta lands on fixed outputs. */
export class RemapScatter implements DeltaKernel {
  macs = 0;
  adds = 0;
  private readonly builder: DeltaBuilder;
  /** Per input: CSR of input element → output elements. */
  private readonly offsets: Int32Array[];
  private readonly targets: Int32Array[];
  /** Per input, a weight per target (a linear Resize), or null: copies. */
  private readonly weights: (Float32Array | null)[];
  constructor(outSize: number, maps: { offsets: Int32Array; targets: Int32Array; weights?: Float32Array }[], keepZeros = false) {
    this.builder = new DeltaBuilder(outSize, keepZeros);
    this.offsets = maps.map((m) => m.offsets);
    this.targets = maps.map((m) => m.targets);
    this.weights = maps.map((m) => m.weights ?? null);
  }
  run(ins: DeltaList[], out: DeltaList): void {
    const b = this.builder;
    let adds = 0;
    ins.forEach((inp, k) => {
      const off = this.offsets[k]!;
      const tg = this.targets[k]!;
      const wt = this.weights[k];
      for (let e = 0; e < inp.n; e++) {
        const s = inp.idx[e]!;
        const v = inp.val[e]!;
        // An element the node never reads (outside a Slice, between a downsampling
        // Resize's samples) costs nothing: DESIGN §4's adds are per input element taken.
        if (off[s + 1]! > off[s]!) adds++;
        // A zero weight (a linear Resize sampling exactly on an input) reaches nothing.
        if (wt) for (let t = off[s]!; t < off[s + 1]!; t++) { if (wt[t] !== 0) b.add(tg[t]!, v * wt[t]!); }
        else for (let t = off[s]!; t < off[s + 1]!; t++) b.add(tg[t]!, v);
      }
    });
    b.emit(out);
    this.adds = adds;
  }
}

/** CSR from a one-to-one input→output map. */
function oneToOne(map: Int32Array): { offsets: Int32Array; targets: Int32Array } {
  const offsets = new Int32Array(map.length + 1);
  for (let i = 0; i <= map.length; i++) offsets[i] = i;
  return { offsets, targets: map };
}

/** CSR inverse of an output→input gather map. */
export function invertGather(gather: Int32Array, inSize: number): { offsets: Int32Array; targets: Int32Array } {
  return invertCsr(null, gather, inSize, null);
}

/** CSR inverse of a weighted gather (output → inputs with weights): input → outputs, ascending. */
function invertWeighted(t: { offsets: Int32Array; src: Int32Array; wt: Float32Array }, inSize: number): { offsets: Int32Array; targets: Int32Array; weights: Float32Array } {
  return invertCsr(t.offsets, t.src, inSize, t.wt) as { offsets: Int32Array; targets: Int32Array; weights: Float32Array };
}

/**
 * Counting-sort inverse of output → inputs (`offsets` null: one input per output), so each
 * input lists its outputs ascending, with their weights when `wt` is given.
 */
function invertCsr(offsets: Int32Array | null, src: Int32Array, inSize: number, wt: Float32Array | null): { offsets: Int32Array; targets: Int32Array; weights?: Float32Array } {
  const counts = new Int32Array(inSize + 1);
  for (let k = 0; k < src.length; k++) counts[src[k]! + 1]++;
  for (let i = 0; i < inSize; i++) counts[i + 1] += counts[i]!;
  const fill = counts.slice(0, inSize);
  const targets = new Int32Array(src.length);
  const weights = wt ? new Float32Array(src.length) : null;
  const nOut = offsets ? offsets.length - 1 : src.length;
  for (let o = 0; o < nOut; o++) {
    const k1 = offsets ? offsets[o + 1]! : o + 1;
    for (let k = offsets ? offsets[o]! : o; k < k1; k++) {
      const at = fill[src[k]!]!++;
      targets[at] = o;
      if (weights) weights[at] = wt![k]!;
    }
  }
  return weights ? { offsets: counts, targets, weights } : { offsets: counts, targets };
}

export interface DeltaKernelOptions {
  /** Restricts a conv to the output rows a chip actor owns (null: all rows). */
  convRows?: Uint8Array | null;
  /**
   * A linear node keeps the exact zeros it makes (a dense run: every neuron sends, zeros
   * included, and what the dendrites make of them still reaches the synapses as if nonzero).
   */
  keepZeros?: boolean;
}

/** Builds the delta kernel of a linear or synaptic node (reshape is a pass-through: null). */
export function makeDeltaKernel(g: Graph, node: GraphNode, opts: DeltaKernelOptions = {}): DeltaKernel | null {
  const op = node.op;
  const convRows = opts.convRows ?? null;
  const keep = opts.keepZeros ?? false;
  const inShapes = node.inputs.map((t) => g.tensors[t]!.shape);
  const inSizes = node.inputs.map((t) => g.tensors[t]!.size);
  const outShape = g.tensors[node.output]!.shape;
  const outSize = g.tensors[node.output]!.size;
  switch (op.kind) {
    case 'conv': return new ConvScatter(op, inShapes[0]!, outShape, convRows);
    case 'dense': return new DenseScatter(op);
    case 'add': return new AddMerge(op.sign, keep);
    case 'affine': return new AffineScale(op, keep);
    case 'avgpool': return new AvgPoolScatter(op, inShapes[0]!, outShape, keep);
    case 'reshape': return null;
    case 'transpose': return new RemapScatter(outSize, [invertGather(transposeMap(op, inShapes[0]!), inSizes[0]!)], keep);
    case 'resize': return new RemapScatter(outSize, [op.linear ? invertWeighted(linearResizeTable(op, inShapes[0]!), inSizes[0]!) : invertGather(resizeMap(op, inShapes[0]!), inSizes[0]!)], keep);
    case 'pad': return new RemapScatter(outSize, [oneToOne(padMap(op, inShapes[0]!))], keep);
    case 'concat': return new RemapScatter(outSize, inShapes.map((_, i) => oneToOne(concatMap(op.axis, inShapes, i))), keep);
    default:
      throw new Error(`internal: ${op.kind} is not a delta-domain op`);
  }
}
