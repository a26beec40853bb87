/**
 * The error against the dense network (DESIGN §4: rmse, max |Δ|, rel_rmse = rmse /
 * rms(dense outputs)), on outputs worked by hand.
 */
import { describe, expect, it } from 'vitest';
import { ErrorMeter } from '../../src/runtime/result.js';

function errorOf(pairs: [number[], number[]][]) {
  const m = new ErrorMeter();
  for (const [got, ref] of pairs) m.add(Float32Array.from(got), Float32Array.from(ref));
  return m.result();
}

describe('ErrorMeter', () => {
  it('over two frames: errors 1, −1, 0, 2 → rmse √(6/4); dense 0, 4, 2, 2 → rms √(24/4); rel = 1/2', () => {
    const e = errorOf([[[1, 3], [0, 4]], [[2, 4], [2, 2]]]);
    expect(e.rmse).toBeCloseTo(Math.sqrt(1.5), 12);
    expect(e.max_abs).toBe(2);
    expect(e.rel_rmse).toBeCloseTo(0.5, 12);
  });

  it('equal outputs: 0 everywhere, also when the dense outputs are all 0', () => {
    expect(errorOf([[[1, -2], [1, -2]]])).toEqual({ rmse: 0, max_abs: 0, rel_rmse: 0 });
    expect(errorOf([[[0, 0], [0, 0]]])).toEqual({ rmse: 0, max_abs: 0, rel_rmse: 0 });
  });

  it('dense outputs all 0 and an error: rel_rmse is undefined (null), not 0 (was: 0, "no error")', () => {
    const e = errorOf([[[3, 0], [0, 0]]]);
    expect(e.rmse).toBeCloseTo(Math.sqrt(9 / 2), 12);
    expect(e.max_abs).toBe(3);
    expect(e.rel_rmse).toBeNull();
  });
});
