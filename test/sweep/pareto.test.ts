/**
 * The Pareto front against independent computations: a brute-force check of the
 * definition over every pair, the classic sort-and-scan algorithm in two dimensions,
 * and small fronts worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { objectiveValue, paretoFront, parseObjectives, type Objective } from '../../src/sweep/pareto.js';
import { mulberry32 } from '../helpers/rng.js';
import { bruteForceFront } from '../helpers/pareto.js';

/** Two objectives, both minimised: sort by x (then y), keep each point lower than all before it. */
function sortAndScan(rows: number[][]): number[] {
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]![0]! - rows[b]![0]! || rows[a]![1]! - rows[b]![1]!);
  const front: number[] = [];
  let bestY = Infinity;
  let lastX = NaN;
  let lastY = NaN;
  for (const i of order) {
    const [x, y] = rows[i] as [number, number];
    // Exact duplicates of a front point are on the front too (neither dominates).
    if (y < bestY || (x === lastX && y === lastY)) {
      front.push(i);
      bestY = Math.min(bestY, y);
      lastX = x;
      lastY = y;
    }
  }
  return front.sort((a, b) => a - b);
}

describe('paretoFront', () => {
  it('matches the brute-force definition on random sets (2–4 objectives, with ties)', () => {
    const rand = mulberry32(2024);
    for (let trial = 0; trial < 200; trial++) {
      const k = 2 + (trial % 3);
      const n = 1 + Math.floor(rand() * 40);
      // Coarse values make ties and duplicates common.
      const rows = Array.from({ length: n }, () => Array.from({ length: k }, () => Math.floor(rand() * 6)));
      expect(paretoFront(rows, Array(k).fill('min'))).toEqual(bruteForceFront(rows));
    }
  });

  it('matches sort-and-scan in two dimensions', () => {
    const rand = mulberry32(7);
    for (let trial = 0; trial < 100; trial++) {
      const rows = Array.from({ length: 60 }, () => [Math.floor(rand() * 20), Math.floor(rand() * 20)]);
      expect(paretoFront(rows, ['min', 'min'])).toEqual(sortAndScan(rows));
    }
  });

  it('maximised objectives are mirrored', () => {
    const rand = mulberry32(11);
    for (let trial = 0; trial < 50; trial++) {
      const rows = Array.from({ length: 30 }, () => [rand(), rand(), rand()]);
      const mirrored = rows.map(([a, b, c]) => [a!, -b!, c!]);
      expect(paretoFront(rows, ['min', 'max', 'min'])).toEqual(bruteForceFront(mirrored));
    }
  });

  it('hand-worked fronts', () => {
    // (energy, latency): (1,9) (2,5) (4,4) are the front; (3,6) is beaten by (2,5); (5,9) by all three.
    expect(paretoFront([[1, 9], [3, 6], [2, 5], [5, 9], [4, 4]], ['min', 'min'])).toEqual([0, 2, 4]);
    // (energy ↓, accuracy ↑): (2, 0.97) beats (3, 0.95); (1, 0.90) and (4, 0.98) stay.
    expect(paretoFront([[2, 0.97], [3, 0.95], [1, 0.9], [4, 0.98]], ['min', 'max'])).toEqual([0, 2, 3]);
    // A point missing an objective (failed, or no latency on `ideal`) takes no part.
    expect(paretoFront([[1, null], [2, 2], [3, 1]], ['min', 'min'])).toEqual([1, 2]);
    expect(paretoFront([], ['min', 'min'])).toEqual([]);
  });

  it('values equal but for rounding are equal: a point as good in one and worse in the other is dominated (was: on the front)', () => {
    // Same work on two core sizes: energies 2013548 and 2013547.9999999998 pJ (the same
    // sums in another order), latency 110 k vs 113 k ns. Only the first is on the front.
    expect(paretoFront([[2013548, 110_000], [2013547.9999999998, 113_000]], ['min', 'min'])).toEqual([0]);
    // Equal in every objective: neither dominates.
    expect(paretoFront([[2013548, 110_000], [2013547.9999999998, 110_000]], ['min', 'min'])).toEqual([0, 1]);
    // A real difference, however small against the value, still counts (1e-6 relative).
    expect(paretoFront([[1_000_000, 5], [999_999, 6]], ['min', 'min'])).toEqual([0, 1]);
    // Three points each within rounding of the next in two objectives: a tolerance between
    // pairs let each dominate the next in a cycle (an empty front); rounded values cannot.
    const V = 1e6;
    const t = 6e-4;
    expect(paretoFront([[V, V + 1.5 * t, V + 3 * t], [V + 3 * t, V, V + 1.5 * t], [V + 1.5 * t, V + 3 * t, V]], ['min', 'min', 'min']).length).toBeGreaterThan(0);
  });

  it('objective names map to columns and directions', () => {
    expect(parseObjectives(['energy_pj', 'error', 'accuracy']).map((o) => [o.column, o.direction])).toEqual([
      ['energy_pj', 'min'], ['output_error', 'min'], ['accuracy', 'max'],
    ]);
    expect(() => parseObjectives(['energy_pj'])).toThrow(/at least two/);
    expect(() => parseObjectives(['energy_pj', 'joules'])).toThrow(/unknown objective 'joules'/);
    expect(() => parseObjectives(['macs', 'error', 'macs'])).toThrow(/objective 'macs' is given twice/);
  });

  it('per-frame objectives divide the total by the point\'s frames; a missing or zero frame count gives no value', () => {
    const [perFrame, total] = parseObjectives(['energy_pj_per_frame', 'energy_pj']) as [Objective, Objective];
    expect(objectiveValue(perFrame, { energy_pj: 300, frames: 4 })).toBe(75);
    expect(objectiveValue(total, { energy_pj: 300, frames: 4 })).toBe(300);
    expect(objectiveValue(perFrame, { energy_pj: 300, frames: 0 })).toBeNull();
    expect(objectiveValue(perFrame, { energy_pj: null, frames: 4 })).toBeNull();
    expect(objectiveValue(total, { energy_pj: Number.NaN })).toBeNull();
  });
});

describe('the Pareto plot joins the front through points both neighbours dominate', () => {
  /** The dashed front line's vertices, in data order (the SVG path of the line mark). */
  async function frontPath(objs: string[], pts: [number, number][]): Promise<[number, number][]> {
    const { paretoSvg } = await import('../../src/sweep/plot.js');
    const objectives = parseObjectives(objs);
    const rows = pts.map(([a, b]) => ({ [objectives[0]!.column]: a, [objectives[1]!.column]: b, label: `${a},${b}` }));
    const svg = await paretoSvg('t', rows, new Set(pts.map((_, i) => i)), objectives);
    const d = /line mark[^>]*?\sd="([^"]+)"|\sd="([^"]+)"[^>]*?line mark/.exec(svg) ?? /<path[^>]*stroke-dasharray[^>]*\sd="([^"]+)"/.exec(svg);
    const path = d![1] ?? d![2]!;
    return [...path.matchAll(/[ML]([-\d.]+),([-\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  }

  it('accuracy (max) across, macs (min) up: from the lower point straight up, then across (step-before)', async () => {
    // (99.00 %, 7.89 M) and (99.25 %, 10.5 M): the corner is (99.00 %, 10.5 M).
    const v = await frontPath(['accuracy', 'macs'], [[0.99, 7.89e6], [0.9925, 10.5e6]]);
    expect(v.length).toBe(3);
    expect(v[1]![0]).toBeCloseTo(v[0]![0]!, 6); // up first: same x
    expect(v[1]![1]).toBeCloseTo(v[2]![1]!, 6); // then across at the second point's height
  });

  it('macs (min) across, error (min) up: across first, then down (step-after)', async () => {
    const v = await frontPath(['macs', 'error'], [[1e6, 0.2], [2e6, 0.1]]);
    expect(v.length).toBe(3);
    expect(v[1]![1]).toBeCloseTo(v[0]![1]!, 6); // across first: same y
    expect(v[1]![0]).toBeCloseTo(v[2]![0]!, 6);
  });
});
