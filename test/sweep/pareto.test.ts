/**
 * The Pareto front against independent computations: a brute-force check of the
 * definition over every pair, the classic sort-and-scan algorithm in two dimensions,
 * and small fronts worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { paretoFront, parseObjectives } from '../../src/sweep/pareto.js';
import { mulberry32 } from '../../src/workloads/video.js';
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

  it('objective names map to columns and directions', () => {
    expect(parseObjectives(['energy_pj', 'error', 'accuracy']).map((o) => [o.column, o.direction])).toEqual([
      ['energy_pj', 'min'], ['output_error', 'min'], ['accuracy', 'max'],
    ]);
    expect(() => parseObjectives(['energy_pj'])).toThrow(/at least two/);
    expect(() => parseObjectives(['energy_pj', 'joules'])).toThrow(/unknown objective 'joules'/);
  });
});
