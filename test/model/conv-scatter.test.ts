/**
 * The sparse Conv kernel against the contract of DESIGN §3 written out naively: every
 * nonzero input delta, in ascending flat NCHW index, adds w·v to each output it
 * reaches, with float32 rounding after every add; outputs listed ascending, exact
 * zeros dropped; MACs = (output, weight) pairs really reached. Both inner loops (the
 * wasm SIMD one and its JS twin) must match that bit for bit, on random geometries
 * (groups, strides, dilation, asymmetric padding, row masks of a chip actor) and on
 * small-integer data where contributions cancel exactly.
 */
import { describe, expect, it } from 'vitest';
import { ConvScatter } from '../../src/model/evnet/conv-scatter.js';
import { DeltaList } from '../../src/model/evnet/sparse.js';
import type { ConvOp } from '../../src/model/ir.js';
import { naiveOutLen } from '../helpers/naive.js';
import { mulberry32, randInt, type Rng } from '../helpers/rng.js';

interface Case {
  op: ConvOp;
  h: number;
  w: number;
  oh: number;
  ow: number;
  rows: Uint8Array | null;
}

function randomCase(rng: Rng, integers: boolean): Case | null {
  const group = [1, 1, 2, 3][randInt(rng, 0, 3)]!;
  const cinG = randInt(rng, 1, 5);
  // Channel counts around the kernel's blocks of 16, 8 and 2, and odd ones.
  const coutG = [1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 33][randInt(rng, 0, 10)]!;
  const kh = randInt(rng, 1, 3);
  const kw = randInt(rng, 1, 3);
  const [strideH, strideW, dilH, dilW] = [randInt(rng, 1, 3), randInt(rng, 1, 2), randInt(rng, 1, 2), randInt(rng, 1, 2)];
  const [padT, padL, padB, padR] = [randInt(rng, 0, 2), randInt(rng, 0, 2), randInt(rng, 0, 2), randInt(rng, 0, 1)];
  const h = randInt(rng, 1, 9);
  const w = randInt(rng, 1, 9);
  const oh = naiveOutLen(h, kh, strideH, padT, padB, dilH);
  const ow = naiveOutLen(w, kw, strideW, padL, padR, dilW);
  if (oh < 1 || ow < 1) return null;
  const weight = new Float32Array(group * coutG * cinG * kh * kw);
  for (let i = 0; i < weight.length; i++) {
    weight[i] = rng() < 0.1 ? 0 : integers ? randInt(rng, -3, 3) : rng() * 4 - 2;
  }
  const op: ConvOp = {
    kind: 'conv', cin: group * cinG, cout: group * coutG, kh, kw, strideH, strideW, padT, padL, padB, padR, dilH, dilW, group,
    weight, bias: null, bnGamma: null,
  };
  const rows = rng() < 0.3 ? Uint8Array.from({ length: oh }, () => (rng() < 0.5 ? 1 : 0)) : null;
  return { op, h, w, oh, ow, rows };
}

function randomDeltas(rng: Rng, size: number, density: number, integers: boolean): DeltaList {
  const l = new DeltaList(size);
  for (let i = 0; i < size; i++) {
    if (rng() >= density) continue;
    const v = integers ? randInt(rng, -2, 2) : rng() * 3 - 1.5;
    if (v !== 0) l.push(i, v);
  }
  return l;
}

/** The contract, literally: scatter in ascending source order into a Float32Array. */
function reference(c: Case, inp: DeltaList): { idx: number[]; val: number[]; macs: number; zeros: number } {
  const { op, h, w, oh, ow, rows } = c;
  const cinG = op.cin / op.group;
  const coutG = op.cout / op.group;
  const acc = new Float32Array(op.cout * oh * ow);
  const touched = new Uint8Array(op.cout * oh * ow);
  let macs = 0;
  for (let e = 0; e < inp.n; e++) {
    const s = inp.idx[e]!;
    const v = inp.val[e]!;
    const ci = Math.floor(s / (h * w));
    const iy = Math.floor((s % (h * w)) / w);
    const ix = s % w;
    const g = Math.floor(ci / cinG);
    for (let ky = 0; ky < op.kh; ky++) {
      const ny = iy + op.padT - ky * op.dilH;
      if (ny < 0 || ny % op.strideH !== 0 || ny / op.strideH >= oh) continue;
      const oy = ny / op.strideH;
      if (rows && !rows[oy]) continue;
      for (let kx = 0; kx < op.kw; kx++) {
        const nx = ix + op.padL - kx * op.dilW;
        if (nx < 0 || nx % op.strideW !== 0 || nx / op.strideW >= ow) continue;
        const ox = nx / op.strideW;
        for (let cl = 0; cl < coutG; cl++) {
          const co = g * coutG + cl;
          const o = (co * oh + oy) * ow + ox;
          acc[o] = acc[o]! + op.weight[((co * cinG + (ci - g * cinG)) * op.kh + ky) * op.kw + kx]! * v;
          touched[o] = 1;
          macs++;
        }
      }
    }
  }
  const idx: number[] = [];
  const val: number[] = [];
  let zeros = 0;
  for (let o = 0; o < acc.length; o++) {
    if (!touched[o]) continue;
    if (acc[o] === 0) {
      zeros++;
    } else {
      idx.push(o);
      val.push(acc[o]!);
    }
  }
  return { idx, val, macs, zeros };
}

describe('ConvScatter: bit-identical to the ascending-source scatter (DESIGN §3)', () => {
  for (const kernel of ['wasm', 'js'] as const) {
    it.each([
      ['random floats', false, 11],
      ['small integers (exact cancellations)', true, 12],
    ] as const)(`${kernel} inner loop, %s`, (_name, integers, seed) => {
      const rng = mulberry32(seed);
      let cases = 0;
      let cancelled = 0;
      while (cases < 150) {
        const c = randomCase(rng, integers);
        if (!c) continue;
        cases++;
        const k = new ConvScatter(c.op, [1, c.op.cin, c.h, c.w], [1, c.op.cout, c.oh, c.ow], c.rows, { kernel });
        const size = c.op.cin * c.h * c.w;
        const out = new DeltaList(c.op.cout * c.oh * c.ow);
        // Several frames through the same kernel: its buffers are reused and may grow.
        for (const density of [0.05, 1, 0.3, 0.6]) {
          const inp = randomDeltas(rng, size, density, integers);
          k.run([inp], out);
          const ref = reference(c, inp);
          expect(k.macs).toBe(ref.macs);
          expect(Array.from(out.idx.subarray(0, out.n))).toEqual(ref.idx);
          // Bitwise: compare the float32 bit patterns.
          expect(new Int32Array(Float32Array.from(out.val.subarray(0, out.n)).buffer)).toEqual(new Int32Array(Float32Array.from(ref.val).buffer));
          cancelled += ref.zeros;
        }
      }
      // The integer data must really exercise the dropping of cancelled sums.
      if (integers) expect(cancelled).toBeGreaterThan(0);
    });
  }
});
