/**
 * The sweep's per-thread caches of frames and reference outputs keep the most recently
 * used entries within a byte budget.
 */
import { describe, expect, it } from 'vitest';
import { RecentCache } from '../../src/recent-cache.js';

describe('RecentCache', () => {
  it('evicts the least recently used entries once the budget is passed, by hand', () => {
    const c = new RecentCache<string>(10);
    c.set('a', 'A', 4);
    c.set('b', 'B', 4);
    expect(c.get('a')).toBe('A'); // a is now the most recent: b goes first
    c.set('c', 'C', 4); // 12 > 10: b evicted, 8 left
    expect([c.has('a'), c.has('b'), c.has('c')]).toEqual([true, false, true]);
    c.set('a', 'A2', 6); // replacing a: 6 + 4 = 10, nothing evicted
    expect([c.get('a'), c.get('c')]).toEqual(['A2', 'C']);
    c.set('d', 'D', 1); // 11: a (least recent after the gets above) goes
    expect([c.has('a'), c.has('c'), c.has('d')]).toEqual([false, true, true]);
  });

  it('an entry larger than the budget stays alone until the next one', () => {
    const c = new RecentCache<number>(10);
    c.set('small', 1, 3);
    c.set('huge', 2, 50);
    expect([c.has('small'), c.get('huge')]).toEqual([false, 2]);
    c.set('next', 3, 1);
    expect([c.has('huge'), c.get('next')]).toEqual([false, 3]);
  });
});
