/**
 * The EvNet gate (DESIGN §3): per neuron, b (last value seen) and d (change not yet
 * sent), float32. Later frames: c = x − b; d += c; b = x; p = d·[|d| > h]; d −= p
 * (or d = 0 under memory loss). Only positions whose value changed are visited.
 */
import { EvsimError } from '../../errors.js';
import { roundHalfEven, type Policy } from './policy.js';
import { StampSet, type DeltaList, type IndexList } from './sparse.js';

export interface GateGeometry {
  /** Channels (dim 1, or the feature dim of a [1, F] tensor) and elements per channel. */
  channels: number;
  inner: number;
}

export class Gate {
  readonly b: Float32Array;
  readonly d: Float32Array;
  /** Threshold per element (per-channel thresholds and bn_gamma already applied). */
  readonly h: Float32Array;
  /** Counts of the last `run`. */
  updates = 0;
  transmissions = 0;
  /** The threshold when every neuron has the same one (the usual case: one less array to stream), else −1. */
  private readonly uniformH: number;
  /** The bits of d, for the branch-free reset of a fired neuron. */
  private readonly dBits: Int32Array;
  private readonly chunks: StampSet | null;
  private readonly pending: StampSet | null;

  constructor(size: number, h: Float32Array, readonly policy: Policy, private readonly geo: GateGeometry, readonly name = 'gate') {
    this.b = new Float32Array(size);
    this.d = new Float32Array(size);
    this.dBits = new Int32Array(this.d.buffer);
    this.h = h;
    this.uniformH = h.length > 0 && h.every((v) => v === h[0]) ? h[0]! : -1;
    if (policy.chunk > 1) {
      const outer = size / (geo.channels * geo.inner);
      const nChunks = outer * Math.ceil(geo.channels / policy.chunk) * geo.inner;
      this.chunks = new StampSet(nChunks);
      this.pending = new StampSet(size);
    } else {
      this.chunks = null;
      this.pending = null;
    }
  }

  /**
   * A gate sends changes, and a change from or to ±Inf is undefined (after −Inf any
   * finite value would send +Inf and leave the accumulators NaN for good), so sending one
   * stops the run, naming the gate. Only what is sent is looked at (a NaN is never sent
   * after frame 0; the unary functions that make one from finite values check their own).
   */
  private checkSent(out: DeltaList): void {
    const at = firstNonFinite(out.val, out.n);
    if (at >= 0) {
      throw new EvsimError('BAD_MODEL', `gate '${this.name}' would send ${out.val[at]} (element ${out.idx[at]}); ${NON_FINITE_ADVICE}`);
    }
  }

  /** Frame 0 (and every reset): b = x, d = 0, the full value is sent. */
  flush(x: Float32Array, out: DeltaList): void {
    const { b, d } = this;
    out.n = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      b[i] = v;
      d[i] = 0;
      if (v !== 0 || this.policy.sendAll) out.push(i, v);
    }
    this.updates = x.length;
    this.transmissions = out.n;
    this.checkSent(out);
  }

  /** The flush restricted to the neurons `owned` (ascending), as one chip core does it. */
  flushOwned(x: Float32Array, owned: Int32Array, out: DeltaList): void {
    const { b, d } = this;
    out.n = 0;
    for (let k = 0; k < owned.length; k++) {
      const i = owned[k]!;
      const v = x[i]!;
      b[i] = v;
      d[i] = 0;
      if (v !== 0 || this.policy.sendAll) out.push(i, v);
    }
    this.updates = owned.length;
    this.transmissions = out.n;
    this.checkSent(out);
  }

  run(x: Float32Array, changed: IndexList, out: DeltaList): void {
    this.updates = changed.n;
    if (this.policy.mode === 'rounding') this.runRounding(x, changed, out);
    else if (this.chunks) this.runChunked(x, changed, out);
    else this.runThreshold(x, changed, out);
    this.transmissions = out.n;
    this.checkSent(out);
  }

  private runThreshold(x: Float32Array, changed: IndexList, out: DeltaList): void {
    out.n = this.uniformH >= 0
      ? thresholdLoopUniform(x, changed.idx, changed.n, this.b, this.d, this.dBits, this.uniformH, this.policy.memoryLoss, out.idx, out.val)
      : thresholdLoop(x, changed.idx, changed.n, this.b, this.d, this.dBits, this.h, this.policy.memoryLoss, out.idx, out.val);
  }

  /** Sigma-Delta: send (round(k·x_t) − round(k·x_{t−1}))/k with k = 1/h. */
  private runRounding(x: Float32Array, changed: IndexList, out: DeltaList): void {
    const { b, h } = this;
    out.n = 0;
    for (let k = 0; k < changed.n; k++) {
      const i = changed.idx[k]!;
      const q = 1 / h[i]!;
      const p = Math.fround((roundHalfEven(q * x[i]!) - roundHalfEven(q * b[i]!)) / q);
      b[i] = x[i]!;
      if (p !== 0) out.push(i, p);
    }
  }

  /** Chunks of C consecutive channels at one position fire when mean |d| > mean h. */
  private runChunked(x: Float32Array, changed: IndexList, out: DeltaList): void {
    const { b, d, h } = this;
    const C = this.policy.chunk;
    const { channels, inner } = this.geo;
    const perC = Math.ceil(channels / C);
    const chunks = this.chunks!;
    const pending = this.pending!;
    for (let k = 0; k < changed.n; k++) {
      const i = changed.idx[k]!;
      const c = Math.fround(x[i]! - b[i]!);
      d[i] = d[i]! + c;
      b[i] = x[i]!;
      const row = (i / inner) | 0;
      const o = (row / channels) | 0;
      const ch = row - o * channels;
      chunks.add((o * perC + ((ch / C) | 0)) * inner + (i - row * inner));
    }
    const list = chunks.sorted();
    for (let k = 0; k < list.length; k++) {
      const id = list[k]!;
      const q = (id / inner) | 0;
      const pos = id - q * inner;
      const o = (q / perC) | 0;
      const c0 = (q - o * perC) * C;
      const c1 = Math.min(c0 + C, channels);
      const base = o * channels * inner + pos;
      let sumD = 0;
      let sumH = 0;
      for (let c = c0; c < c1; c++) {
        const i = base + c * inner;
        sumD += Math.abs(d[i]!);
        sumH += h[i]!;
      }
      const fire = sumD > sumH; // mean |d| > mean h over the same chunk
      for (let c = c0; c < c1; c++) {
        const i = base + c * inner;
        if (fire && d[i] !== 0) pending.add(i);
        else if (!fire && this.policy.memoryLoss) d[i] = 0;
      }
    }
    chunks.clear();
    out.n = 0;
    const fired = pending.sorted();
    for (let k = 0; k < fired.length; k++) {
      const i = fired[k]!;
      out.push(i, d[i]!);
      d[i] = 0;
    }
    pending.clear();
  }
}

/**
 * The threshold rule over the changed positions; returns how many fired. A plain
 * function over typed arrays that ends with its loop (V8 then optimizes it whole), and
 * without data-dependent branches: every position is written to the output slot `m`,
 * which only advances when the neuron fires, and a fired neuron's d is cleared to +0
 * through its bits.
 */
function thresholdLoop(
  x: Float32Array, list: Int32Array, n: number, b: Float32Array, d: Float32Array, dBits: Int32Array, h: Float32Array,
  memoryLoss: boolean, outIdx: Int32Array, outVal: Float32Array,
): number {
  let m = 0;
  if (memoryLoss) {
    for (let k = 0; k < n; k++) {
      const i = list[k]!;
      const xi = x[i]!;
      const di = Math.fround(d[i]! + Math.fround(xi - b[i]!));
      b[i] = xi;
      d[i] = 0;
      outIdx[m] = i;
      outVal[m] = di;
      m += +(Math.abs(di) > h[i]!);
    }
    return m;
  }
  for (let k = 0; k < n; k++) {
    const i = list[k]!;
    const xi = x[i]!;
    const di = Math.fround(d[i]! + Math.fround(xi - b[i]!));
    b[i] = xi;
    d[i] = di;
    const fire = +(Math.abs(di) > h[i]!);
    dBits[i] &= fire - 1; // fired: d − p with p = d, i.e. +0
    outIdx[m] = i;
    outVal[m] = di;
    m += fire;
  }
  return m;
}

/** thresholdLoop with one threshold for every neuron. */
function thresholdLoopUniform(
  x: Float32Array, list: Int32Array, n: number, b: Float32Array, d: Float32Array, dBits: Int32Array, h: number,
  memoryLoss: boolean, outIdx: Int32Array, outVal: Float32Array,
): number {
  let m = 0;
  if (memoryLoss) {
    for (let k = 0; k < n; k++) {
      const i = list[k]!;
      const xi = x[i]!;
      const di = Math.fround(d[i]! + Math.fround(xi - b[i]!));
      b[i] = xi;
      d[i] = 0;
      outIdx[m] = i;
      outVal[m] = di;
      m += +(Math.abs(di) > h);
    }
    return m;
  }
  for (let k = 0; k < n; k++) {
    const i = list[k]!;
    const xi = x[i]!;
    const di = Math.fround(d[i]! + Math.fround(xi - b[i]!));
    b[i] = xi;
    d[i] = di;
    const fire = +(Math.abs(di) > h);
    dBits[i] &= fire - 1; // fired: d − p with p = d, i.e. +0
    outIdx[m] = i;
    outVal[m] = di;
    m += fire;
  }
  return m;
}

/** What to do about a NaN or ±Inf activation (gates and value kernels say the same). */
export const NON_FINITE_ADVICE = 'an EvNet sends changes, which NaN and ±Inf leave undefined: keep this activation finite (clamp what feeds a Log, Reciprocal, Sqrt, Pow or Exp)';

/** The first of the n values holding NaN or ±Inf, or −1. */
export function firstNonFinite(v: Float32Array, n: number): number {
  // NaN fails every comparison, so this one catches NaN and both infinities.
  for (let k = 0; k < n; k++) if (!(Math.abs(v[k]!) < Infinity)) return k;
  return -1;
}
