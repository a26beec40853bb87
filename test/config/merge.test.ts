/** deepMerge: a chip file over its preset, a sweep point over its base. */
import { describe, expect, it } from 'vitest';
import { deepMerge } from '../../src/config/merge.js';

describe('deepMerge', () => {
  it('merges objects key by key, replaces anything else, and shares nothing with its inputs', () => {
    const base = { core: { neurons: 1024, queue_depth: 64 }, mesh: { width: 8, height: 4 }, name: 'loihi' };
    const over = { core: { neurons: 64 }, mesh: 'auto', costs: { synop: { energy_pj: 1 } } };
    const out = deepMerge(base, over) as Record<string, Record<string, unknown>>;
    expect(out).toEqual({ core: { neurons: 64, queue_depth: 64 }, mesh: 'auto', name: 'loihi', costs: { synop: { energy_pj: 1 } } });
    out.costs!.synop = 0;
    expect(over.costs.synop).toEqual({ energy_pj: 1 });
    expect(deepMerge([1, 2], [3])).toEqual([3]);
  });

  it('a __proto__ key stays a plain key (for the schema to refuse); no prototype changes, here or globally', () => {
    const out = deepMerge({ core: { neurons: 1 } }, JSON.parse('{"__proto__": {"neurons": 5}, "core": {"__proto__": {"x": 1}}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out).sort()).toEqual(['__proto__', 'core']);
    expect(Object.keys(out.core as object).sort()).toEqual(['__proto__', 'neurons']);
    expect(({} as Record<string, unknown>).neurons).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('an inherited name in the base (toString) is no key of it: the value is taken as it is', () => {
    expect(deepMerge({}, { toString: { a: 1 } })).toEqual({ toString: { a: 1 } });
  });
});
