/**
 * The per-core message order of DESIGN §5, (arrival, source core, sequence): the fast
 * merge of per-source runs (a scan of the run heads for few sources, a heap for many)
 * against a plain comparator sort of the same messages, on random inputs with ties.
 */
import { describe, expect, it } from 'vitest';
import { mergeBySource, type MessageArrays } from '../../src/chip/timing.js';
import { mulberry32 } from '../helpers/rng.js';

function messages(seed: number, sources: number, perSource: number, disorder = false): { m: MessageArrays; n: number; srcIds: Int32Array } {
  const rnd = mulberry32(seed);
  // Source core ids ascending, not contiguous, with the sensor (−1) sometimes among them.
  const ids: number[] = [];
  let id = rnd() < 0.3 ? -1 : 0;
  for (let s = 0; s < sources; s++) {
    ids.push(id);
    id += 1 + Math.floor(rnd() * 5);
  }
  const bySource: [number, number, number][][] = [];
  for (const src of ids) {
    // A source sends in ascending neuron order, its messages leaving at rising times; arrival
    // times are coarse so that different sources tie often.
    const count = Math.floor(rnd() * perSource);
    let t = Math.floor(rnd() * 20);
    let seq = Math.floor(rnd() * 10);
    const run: [number, number, number][] = [];
    for (let i = 0; i < count; i++) {
      run.push([t, src, seq]);
      t += Math.floor(rnd() * 3);
      seq += 1 + Math.floor(rnd() * 3);
    }
    // Out of order: a run whose arrival times fall somewhere (the full-sort fallback).
    if (disorder && run.length > 2) run.reverse();
    bySource.push(run);
  }
  // Interleave the sources at random, each keeping its own order, as the routes deliver them.
  const rows: [number, number, number][] = [];
  const at = bySource.map(() => 0);
  for (;;) {
    const open = bySource.map((_, i) => i).filter((i) => at[i]! < bySource[i]!.length);
    if (open.length === 0) break;
    const i = open[Math.floor(rnd() * open.length)]!;
    rows.push(bySource[i]![at[i]!++]!);
  }
  const n = rows.length;
  const m: MessageArrays = {
    arrival: Float64Array.from(rows, (r) => r[0]), src: Int32Array.from(rows, (r) => r[1]), seq: Int32Array.from(rows, (r) => r[2]),
    synops: new Int32Array(n), dendrites: new Int32Array(n),
  };
  return { m, n, srcIds: Int32Array.from(ids) };
}

describe('messages merged by source', () => {
  for (const [sources, disorder] of [[1, false], [3, false], [4, false], [5, false], [9, false], [40, false], [3, true], [9, true]] as const) {
    it(`${sources} sources${disorder ? ', runs out of order (the fallback sort)' : ''}: the same order as sorting by (arrival, source, seq)`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const { m, n, srcIds } = messages(seed * 97 + sources, sources, 30, disorder);
        // A range in the middle of a larger order array, as per core in a segment.
        const pad = 3;
        const order = new Int32Array(n + 2 * pad).fill(-7);
        for (let i = 0; i < n; i++) order[pad + i] = i;
        const rank = new Int32Array(Math.max(0, ...Array.from(srcIds)) + 2);
        srcIds.forEach((s, r) => (rank[s + 1] = r));
        mergeBySource(m, order, pad, pad + n, srcIds, rank);
        const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => m.arrival[a]! - m.arrival[b]! || m.src[a]! - m.src[b]! || m.seq[a]! - m.seq[b]!);
        expect(Array.from(order.subarray(pad, pad + n))).toEqual(expected);
        expect(Array.from(order.subarray(0, pad))).toEqual([-7, -7, -7]);
        expect(Array.from(order.subarray(pad + n))).toEqual([-7, -7, -7]);
      }
    });
  }
});
