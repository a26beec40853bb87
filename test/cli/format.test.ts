/** Number formatting of the CLI's tables. */
import { describe, expect, it } from 'vitest';
import { distinctDigits, fmtDuration, fmtSi, workersNote } from '../../src/cli/format.js';

describe('distinctDigits', () => {
  it('adds digits until different values read differently (a Pareto front of two meshes)', () => {
    // 2.666925… G and 2.666983… G: "2.67 G" and "2.667 G" twice, "2.6669 G" vs "2.6670 G".
    const e = [2666925433.8, 2666983441.8, 2676834571.8];
    expect(distinctDigits(e, fmtSi)).toBe(5);
    expect(e.map((v) => fmtSi(v, 5))).toEqual(['2.6669 G', '2.6670 G', '2.6768 G']);
  });

  it('keeps three digits when they already tell the values apart, and equal values stay equal', () => {
    expect(distinctDigits([1.5e6, 2.5e6, 2.5e6], fmtSi)).toBe(3);
    expect(distinctDigits([], fmtSi)).toBe(3);
  });

  it('values alike to 10 digits are one value (rounding noise), written in 3 digits (was: 2.01354800000 M, 12 digits)', () => {
    // Two runs of the same work, energies summed in another order: 2013548 and 2013547.9999999998 pJ.
    expect(distinctDigits([2013548, 2013547.9999999998], fmtSi)).toBe(3);
    expect(distinctDigits([1, 1 + 1e-15], (v, d) => v.toPrecision(d))).toBe(3);
  });

  it('reads values alike exactly when they are alike to 10 digits, not merely as many groups (was: two different values as 5.000 k)', () => {
    // 1234.5 ± 1e-9 are one value to 10 digits; 5000.0001 and 5000.0002 are two. At 4 digits
    // the first pair reads 1.234 k / 1.235 k and the second 5.000 k twice: four texts for
    // four... but the wrong ones. The first digits that group them right: 8 (1.2345000 k
    // twice, 5.0000001 k, 5.0000002 k).
    const v = [1234.5 - 1e-9, 1234.5 + 1e-9, 5000.0001, 5000.0002];
    const d = distinctDigits(v, fmtSi);
    expect(d).toBe(8);
    expect(v.map((x) => fmtSi(x, d))).toEqual(['1.2345000 k', '1.2345000 k', '5.0000001 k', '5.0000002 k']);
  });

  it('stops at 10 digits', () => {
    // 1 and 1 + 1e-9 differ at the 10th digit: still told apart, by 10.
    expect(distinctDigits([1, 1 + 1e-9], (v, d) => v.toPrecision(d))).toBe(10);
  });
});

describe('fmtSi', () => {
  it('takes the prefix of the value as rounded (was: 999.7 as 1.00e+3, 999999.7 as 1.00e+3 k)', () => {
    expect([fmtSi(999.7), fmtSi(-999.7), fmtSi(999_999.7), fmtSi(999.4), fmtSi(1000.2)]).toEqual(['1.00 k', '-1.00 k', '1.00 M', '999', '1.00 k']);
    // Told apart, they read as what they are.
    const w = [999.7, 1000.2, 999_999.7];
    expect(w.map((x) => fmtSi(x, distinctDigits(w, fmtSi)))).toEqual(['999.7', '1.000 k', '1.000 M']);
    // 999995 to 5 digits is 1.0000 M: the quotient 999.995, rounded on its own, read 0.99999 M
    // (the same figure as 999990's 999.99 k, in another notation).
    const v = [999_995, 999_990];
    expect(v.map((x) => fmtSi(x, distinctDigits(v, fmtSi)))).toEqual(['1.0000 M', '999.99 k']);
  });
});

describe('fmtDuration', () => {
  it('seconds, minutes and seconds, hours and minutes', () => {
    expect([0, 42.4, 59.6, 185, 3599, 3600, 7620].map(fmtDuration)).toEqual(['0 s', '42 s', '1 min 00 s', '3 min 05 s', '59 min 59 s', '1 h 00 min', '2 h 07 min']);
  });
});

describe('workersNote', () => {
  it('notes more workers than CPUs (beyond the default 2), naming both', () => {
    expect(workersNote(undefined, 2)).toBeNull();
    expect(workersNote(2, 1)).toBeNull(); // the default's 2 on one CPU: no note
    expect(workersNote(4, 4)).toBeNull();
    expect(workersNote(100, 2)).toBe('note: --workers 100 on 2 CPUs: the results are the same, but each worker is a thread with its own copy of the simulator, so more than 2 only add time and memory');
    expect(workersNote(3, 1)).toMatch(/^note: --workers 3 on 1 CPU: /);
  });
});
