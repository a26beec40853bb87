/**
 * Delta-domain kernels: synaptic nodes scatter each nonzero input delta over exactly
 * the (output, weight) pairs it reaches; other linear nodes remap or sum deltas. Inputs
 * are processed in ascending source index, so every output receives its contributions
 * in that order (DESIGN §3) whatever the sparsity pattern.
 */
import { avgDivisor, reachTable, spatialOf, type ReachTable } from '../geometry.js';
import type { AffineOp, AvgPoolOp, ConvOp, DenseOp, Graph, GraphNode } from '../ir.js';
import { concatMap, padMap, resizeMap, transposeMap } from '../dense/ops.js';
import { DeltaBuilder, StampSet, type DeltaList } from './sparse.js';

export interface DeltaKernel {
  /** MACs (synaptic) or adds (other linear nodes) done by the last `run`. */
  macs: number;
  adds: number;
  run(ins: DeltaList[], out: DeltaList): void;
}

/** Scratch floats one row tile may hold: 128 KiB, so a tile stays in L2 while it is scattered and emitted. */
const TILE_FLOATS = 32 * 1024;

/**
 * Conv scatter, tiled by output rows. Pass 1 marks the touched output positions and
 * buckets the input deltas by the row tiles they reach; pass 2 scatters each tile's
 * sources (ascending, so every output still receives its contributions in ascending
 * source order) into a tile-sized channels-last scratch and emits the tile while it
 * is cache-resident, straight into its final slot of the ascending NCHW output list.
 */
export class ConvScatter implements DeltaKernel {
  macs = 0;
  adds = 0;
  private readonly wt: Float32Array;
  private readonly ry: ReachTable;
  private readonly rx: ReachTable;
  private readonly scratch: Float32Array;
  private readonly touched: StampSet[];
  private readonly h: number;
  private readonly w: number;
  private readonly oh: number;
  private readonly ow: number;
  private readonly coutG: number;
  private readonly cinG: number;
  private readonly tileRows: number;
  private readonly nTiles: number;
  /** Per input row: first and last tile its taps reach (−1 when none). */
  private readonly tileLo: Int32Array;
  private readonly tileHi: Int32Array;
  private readonly tileOwned: Uint8Array;
  private readonly bucketStart: Int32Array;
  private readonly bucketFill: Int32Array;
  private bucket: Int32Array;

  /** Output rows this kernel computes (all when null): a chip actor's own rows. */
  private readonly rowMask: Uint8Array;

  constructor(private readonly op: ConvOp, inShape: readonly number[], outShape: readonly number[], rows: Uint8Array | null = null) {
    const { h, w } = spatialOf(inShape);
    const { h: oh, w: ow } = spatialOf(outShape);
    this.rowMask = rows ?? new Uint8Array(oh).fill(1);
    this.h = h;
    this.w = w;
    this.oh = oh;
    this.ow = ow;
    this.coutG = (op.cout / op.group) | 0;
    this.cinG = (op.cin / op.group) | 0;
    this.ry = reachTable(h, oh, op.kh, op.strideH, op.padT, op.dilH);
    this.rx = reachTable(w, ow, op.kw, op.strideW, op.padL, op.dilW);
    // [cin][kh][kw][coutG]: the weights one input element needs are contiguous.
    const { kh, kw } = op;
    const coutG = this.coutG;
    const cinG = this.cinG;
    this.wt = new Float32Array(op.weight.length);
    for (let co = 0; co < op.cout; co++) {
      const g = Math.floor(co / coutG);
      for (let cl = 0; cl < cinG; cl++) {
        const ci = g * cinG + cl;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            this.wt[((ci * kh + ky) * kw + kx) * coutG + (co - g * coutG)] = op.weight[((co * cinG + cl) * kh + ky) * kw + kx]!;
          }
        }
      }
    }
    this.tileRows = Math.min(oh, Math.max(1, Math.floor(TILE_FLOATS / (ow * op.cout))));
    this.nTiles = Math.ceil(oh / this.tileRows);
    this.scratch = new Float32Array(this.tileRows * ow * op.cout);
    this.touched = Array.from({ length: op.group }, () => new StampSet(oh * ow));
    this.tileLo = new Int32Array(h).fill(-1);
    this.tileHi = new Int32Array(h).fill(-1);
    for (let iy = 0; iy < h; iy++) {
      for (let a = this.ry.offsets[iy]!; a < this.ry.offsets[iy + 1]!; a++) {
        const t = Math.floor(this.ry.out[a]! / this.tileRows);
        if (this.tileLo[iy] === -1 || t < this.tileLo[iy]!) this.tileLo[iy] = t;
        if (t > this.tileHi[iy]!) this.tileHi[iy] = t;
      }
    }
    this.tileOwned = new Uint8Array(this.nTiles);
    for (let r = 0; r < oh; r++) if (this.rowMask[r]) this.tileOwned[Math.floor(r / this.tileRows)] = 1;
    this.bucketStart = new Int32Array(this.nTiles + 1);
    this.bucketFill = new Int32Array(this.nTiles);
    this.bucket = new Int32Array(0);
  }

  run(ins: DeltaList[], out: DeltaList): void {
    const inp = ins[0]!;
    const { ry, rx, tileLo, tileHi, cinG } = this;
    const hw = this.h * this.w;
    const w = this.w;
    const ow = this.ow;
    const nT = this.nTiles;
    const start = this.bucketStart;
    // Pass 1: touched positions per group, and bucket sizes per tile.
    start.fill(0);
    let entries = 0;
    for (let e = 0; e < inp.n; e++) {
      const s = inp.idx[e]!;
      const ci = Math.floor(s / hw);
      const rem = s - ci * hw;
      const iy = Math.floor(rem / w);
      const ix = rem - iy * w;
      const lo = tileLo[iy]!;
      if (lo < 0 || rx.offsets[ix] === rx.offsets[ix + 1]) continue;
      for (let t = lo; t <= tileHi[iy]!; t++) start[t + 1]++;
      entries += tileHi[iy]! - lo + 1;
      const ts = this.touched[Math.floor(ci / cinG)]!;
      for (let a = ry.offsets[iy]!; a < ry.offsets[iy + 1]!; a++) {
        const oy = ry.out[a]!;
        if (!this.rowMask[oy]) continue;
        const row = oy * ow;
        for (let b = rx.offsets[ix]!; b < rx.offsets[ix + 1]!; b++) ts.add(row + rx.out[b]!);
      }
    }
    for (let t = 0; t < nT; t++) start[t + 1] += start[t]!;
    if (this.bucket.length < entries) this.bucket = new Int32Array(Math.max(entries, 2 * this.bucket.length));
    const bucket = this.bucket;
    const fill = this.bucketFill;
    for (let t = 0; t < nT; t++) fill[t] = start[t]!;
    for (let e = 0; e < inp.n; e++) {
      const s = inp.idx[e]!;
      const rem = s % hw;
      const iy = Math.floor(rem / w);
      const lo = tileLo[iy]!;
      if (lo < 0 || rx.offsets[rem - iy * w] === rx.offsets[rem - iy * w + 1]) continue;
      for (let t = lo; t <= tileHi[iy]!; t++) bucket[fill[t]!++] = e;
    }
    // Output slots: group g, channel cl, k-th touched position → base_g + cl·n_g + k.
    const sortedPos: Int32Array[] = [];
    const base: number[] = [];
    let total = 0;
    for (let g = 0; g < this.op.group; g++) {
      const sp = this.touched[g]!.sorted();
      sortedPos.push(sp);
      base.push(total);
      total += sp.length * this.coutG;
    }
    // Pass 2: scatter and emit tile by tile.
    const next = new Int32Array(this.op.group);
    let macs = 0;
    let zeros = false;
    for (let t = 0; t < nT; t++) {
      const r0 = t * this.tileRows;
      const r1 = Math.min(r0 + this.tileRows, this.oh);
      if (this.tileOwned[t]) {
        macs += scatterConvTile(
          inp.idx, inp.val, bucket, start[t]!, start[t + 1]!, this.wt, this.scratch,
          ry.offsets, ry.tap, ry.out, rx.offsets, rx.tap, rx.out,
          hw, w, ow, this.op.cout, this.coutG, cinG, this.op.kh, this.op.kw, r0, r1, this.rowMask,
        );
      }
      for (let g = 0; g < this.op.group; g++) {
        const sp = sortedPos[g]!;
        const k0 = next[g]!;
        let k1 = k0;
        const endPos = r1 * ow;
        while (k1 < sp.length && sp[k1]! < endPos) k1++;
        next[g] = k1;
        if (k1 > k0 && emitTile(this.scratch, sp, k0, k1, r0 * ow, this.op.cout, this.coutG, g * this.coutG, this.oh * ow, base[g]!, sp.length, out.idx, out.val)) zeros = true;
      }
    }
    for (const ts of this.touched) ts.clear();
    this.macs = macs;
    out.n = zeros ? compactZeros(out.idx, out.val, total) : total;
  }
}

/** Scatters the bucketed sources of one row tile [r0, r1); returns the MACs done. */
function scatterConvTile(
  idx: Int32Array, val: Float32Array, bucket: Int32Array, b0: number, b1: number, wt: Float32Array, scratch: Float32Array,
  yOff: Int32Array, yTap: Int32Array, yOut: Int32Array, xOff: Int32Array, xTap: Int32Array, xOut: Int32Array,
  hw: number, w: number, ow: number, cout: number, coutG: number, cinG: number, kh: number, kw: number, r0: number, r1: number,
  rowMask: Uint8Array,
): number {
  let macs = 0;
  const vec4 = coutG & ~3;
  const p0 = r0 * ow;
  for (let q = b0; q < b1; q++) {
    const e = bucket[q]!;
    const s = idx[e]!;
    const v = val[e]!;
    const ci = Math.floor(s / hw);
    const rem = s - ci * hw;
    const iy = Math.floor(rem / w);
    const ix = rem - iy * w;
    const coBase = Math.floor(ci / cinG) * coutG;
    const y1 = yOff[iy + 1]!;
    const x0 = xOff[ix]!;
    const x1 = xOff[ix + 1]!;
    for (let a = yOff[iy]!; a < y1; a++) {
      const oy = yOut[a]!;
      if (oy < r0 || oy >= r1 || !rowMask[oy]) continue;
      const wRow = (ci * kh + yTap[a]!) * kw;
      const pRow = oy * ow - p0;
      for (let b = x0; b < x1; b++) {
        let wi = (wRow + xTap[b]!) * coutG;
        let oi = (pRow + xOut[b]!) * cout + coBase;
        const end4 = oi + vec4;
        const end = oi + coutG;
        while (oi < end4) {
          scratch[oi] += wt[wi]! * v;
          scratch[oi + 1] += wt[wi + 1]! * v;
          scratch[oi + 2] += wt[wi + 2]! * v;
          scratch[oi + 3] += wt[wi + 3]! * v;
          oi += 4;
          wi += 4;
        }
        while (oi < end) scratch[oi++] += wt[wi++]! * v;
        macs += coutG;
      }
    }
  }
  return macs;
}

/**
 * Moves one tile's sums (touched positions sp[k0..k1) of one group) from the scratch
 * into their output slots and zeroes the scratch. Returns true when a sum was 0.
 */
function emitTile(
  scratch: Float32Array, sp: Int32Array, k0: number, k1: number, p0: number, cout: number, coutG: number, coBase: number,
  ohw: number, slotBase: number, np: number, outIdx: Int32Array, outVal: Float32Array,
): boolean {
  let zeros = false;
  for (let cl = 0; cl < coutG; cl++) {
    const co = coBase + cl;
    const chan = co * ohw;
    let slot = slotBase + cl * np + k0;
    for (let k = k0; k < k1; k++) {
      const p = sp[k]!;
      const si = (p - p0) * cout + co;
      const v = scratch[si]!;
      scratch[si] = 0;
      if (v === 0) zeros = true;
      outIdx[slot] = chan + p;
      outVal[slot++] = v;
    }
  }
  return zeros;
}

/** Removes exact zeros (contributions that cancelled) from the first n entries; returns the new length. */
function compactZeros(idx: Int32Array, val: Float32Array, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = val[i]!;
    if (v !== 0) {
      idx[m] = idx[i]!;
      val[m++] = v;
    }
  }
  return m;
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
    const { m, k, n, transA, weight } = this.op;
    const scratch = this.scratch;
    for (let e = 0; e < inp.n; e++) {
      const s = inp.idx[e]!;
      const v = inp.val[e]!;
      let row: number;
      let kk: number;
      if (transA) {
        kk = (s / m) | 0;
        row = s - kk * m;
      } else {
        row = (s / k) | 0;
        kk = s - row * k;
      }
      this.rows.add(row);
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
    this.macs = inp.n * n;
    out.n = 0;
    const rows = this.rows.sorted();
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
    this.rows.clear();
  }
}

/** Sum or difference of two delta streams: a merge of two ascending lists. */
export class AddMerge implements DeltaKernel {
  macs = 0;
  adds = 0;
  constructor(private readonly sign: number) {}
  run(ins: DeltaList[], out: DeltaList): void {
    const [a, b] = [ins[0]!, ins[1]!];
    const sign = this.sign;
    let i = 0;
    let j = 0;
    out.n = 0;
    while (i < a.n || j < b.n) {
      const x = i < a.n ? a.idx[i]! : 0x7fffffff;
      const y = j < b.n ? b.idx[j]! : 0x7fffffff;
      let v: number;
      let at: number;
      if (x === y) {
        at = x;
        v = a.val[i++]! + sign * b.val[j++]!;
      } else if (x < y) {
        at = x;
        v = a.val[i++]!;
      } else {
        at = y;
        v = sign * b.val[j++]!;
      }
      const f = Math.fround(v);
      if (f !== 0) out.push(at, f);
    }
    this.adds = a.n + b.n;
  }
}

/** x·scale on deltas; the shift is an offset and only enters at the flush. */
export class AffineScale implements DeltaKernel {
  macs = 0;
  adds = 0;
  constructor(private readonly op: AffineOp) {}
  run(ins: DeltaList[], out: DeltaList): void {
    const inp = ins[0]!;
    const scale = this.op.scale;
    out.n = 0;
    for (let e = 0; e < inp.n; e++) {
      const i = inp.idx[e]!;
      const v = Math.fround(inp.val[e]! * scale[i]!);
      if (v !== 0) out.push(i, v);
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
  constructor(op: AvgPoolOp, inShape: readonly number[], outShape: readonly number[]) {
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
    this.builder = new DeltaBuilder(c * oh * ow);
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
  constructor(outSize: number, maps: { offsets: Int32Array; targets: Int32Array }[]) {
    this.builder = new DeltaBuilder(outSize);
    this.offsets = maps.map((m) => m.offsets);
    this.targets = maps.map((m) => m.targets);
  }
  run(ins: DeltaList[], out: DeltaList): void {
    const b = this.builder;
    ins.forEach((inp, k) => {
      const off = this.offsets[k]!;
      const tg = this.targets[k]!;
      for (let e = 0; e < inp.n; e++) {
        const s = inp.idx[e]!;
        const v = inp.val[e]!;
        for (let t = off[s]!; t < off[s + 1]!; t++) b.add(tg[t]!, v);
      }
    });
    b.emit(out);
    this.adds = ins.reduce((a, l) => a + l.n, 0);
  }
}

/** CSR from a one-to-one input→output map. */
function oneToOne(map: Int32Array): { offsets: Int32Array; targets: Int32Array } {
  const offsets = new Int32Array(map.length + 1);
  for (let i = 0; i <= map.length; i++) offsets[i] = i;
  return { offsets, targets: map };
}

/** CSR inverse of an output→input gather map. */
function invertGather(gather: Int32Array, inSize: number): { offsets: Int32Array; targets: Int32Array } {
  const counts = new Int32Array(inSize + 1);
  for (let o = 0; o < gather.length; o++) counts[gather[o]! + 1]++;
  for (let i = 0; i < inSize; i++) counts[i + 1] += counts[i]!;
  const fill = counts.slice(0, inSize);
  const targets = new Int32Array(gather.length);
  for (let o = 0; o < gather.length; o++) targets[fill[gather[o]!]!++] = o;
  return { offsets: counts, targets };
}

/**
 * Builds the delta kernel of a linear or synaptic node (reshape is a pass-through:
 * null). `convRows` restricts a conv to the output rows a chip actor owns.
 */
export function makeDeltaKernel(g: Graph, node: GraphNode, convRows: Uint8Array | null = null): DeltaKernel | null {
  const op = node.op;
  const inShapes = node.inputs.map((t) => g.tensors[t]!.shape);
  const inSizes = node.inputs.map((t) => g.tensors[t]!.size);
  const outShape = g.tensors[node.output]!.shape;
  const outSize = g.tensors[node.output]!.size;
  switch (op.kind) {
    case 'conv': return new ConvScatter(op, inShapes[0]!, outShape, convRows);
    case 'dense': return new DenseScatter(op);
    case 'add': return new AddMerge(op.sign);
    case 'affine': return new AffineScale(op);
    case 'avgpool': return new AvgPoolScatter(op, inShapes[0]!, outShape);
    case 'reshape': return null;
    case 'transpose': return new RemapScatter(outSize, [invertGather(transposeMap(op, inShapes[0]!), inSizes[0]!)]);
    case 'resize': return new RemapScatter(outSize, [invertGather(resizeMap(op, inShapes[0]!), inSizes[0]!)]);
    case 'pad': return new RemapScatter(outSize, [oneToOne(padMap(op, inShapes[0]!))]);
    case 'concat': return new RemapScatter(outSize, inShapes.map((_, i) => oneToOne(concatMap(op.axis, inShapes, i))));
    default:
      throw new Error(`internal: ${op.kind} is not a delta-domain op`);
  }
}
