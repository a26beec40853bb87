/**
 * Sweep paths name own fields only: `__proto__`, `constructor` and `prototype` are refused
 * (set through a plain object they reached Object.prototype, so one bad sweep broke every
 * later one in the process), and members every object inherits (toString, hasOwnProperty)
 * are unknown paths, not fields.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isEvsimError } from '../../src/errors.js';
import { pathNames, setPath } from '../../src/sweep/paths.js';
import { expandSweep, pointSchema, type SweepSpec } from '../../src/sweep/spec.js';
import { writeNpy } from '../../src/workloads/npy.js';
import { cliIn, expectBadInput, ROOT } from '../helpers/cli.js';

const GEMM = join(ROOT, 'test', 'fixtures', 'onnx', 'gemm_trans.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-sweep-paths-'));
const frames = join(tmp, 'frames.npy');
writeNpy(frames, { shape: [2, 6], data: new Float32Array(12).map((_, i) => i / 4) });
const base = { model: GEMM, frames, chip: 'loihi' };
const evsim = cliIn(tmp);

/** What every object would inherit if a path had written to Object.prototype. */
const inherited = (): unknown[] => ['threshold', 'neurons', 'max_frames'].map((k) => (({}) as Record<string, unknown>)[k]);

function expansionError(spec: SweepSpec): { code: string; exitCode: number; message: string } {
  try {
    expandSweep(spec, { baseDir: tmp, name: 'p' });
  } catch (e) {
    if (isEvsimError(e)) return { code: e.code, exitCode: e.exitCode, message: e.message };
    throw e;
  }
  throw new Error('expected the expansion to fail');
}

afterEach(() => {
  // Were one to leak, the later tests (and files) would see it: clean up, then fail.
  const leaked = inherited();
  for (const k of ['threshold', 'neurons', 'max_frames']) delete (Object.prototype as Record<string, unknown>)[k];
  expect(leaked).toEqual([undefined, undefined, undefined]);
});

describe('prototype names', () => {
  it.each([
    ['policy.layers.__proto__.threshold', 0.2],
    ['policy.__proto__', { threshold: 0.3 }],
    ['chip.core.__proto__', { neurons: 64 }],
    ['policy.layers.relu0.__proto__', { threshold: 9 }],
    ['policy.layers.constructor', { threshold: 1 }],
    ['chip.prototype.neurons', 64],
  ])('grid path %s exits 2 as an unknown path and sets nothing on Object.prototype', (path, v) => {
    const e = expansionError({ name: 'p', base, grid: { [path]: [v] } });
    expect([e.code, e.exitCode]).toEqual(['BAD_CONFIG', 2]);
    expect(e.message).toMatch(new RegExp(`^sweep 'p': grid: unknown path '${path.replace(/\./g, '\\.')}': '(__proto__|constructor|prototype)' is not a field`));
    expect(inherited()).toEqual([undefined, undefined, undefined]);
  });

  it('a sweep after a refused one expands as usual (nothing leaked into later points)', () => {
    expansionError({ name: 'p', base, grid: { 'policy.layers.__proto__.threshold': [0.2] } });
    const ex = expandSweep({ name: 'ok', base, grid: { 'policy.threshold': [0.1, 0.2] } }, { baseDir: tmp, name: 'ok' });
    // The gemm has one gate per value tensor it reads; no per-layer override came from anywhere.
    expect(ex.points.map((p) => [p.threshold, p.layers])).toEqual([[0.1, {}], [0.2, {}]]);
  });

  it('setPath writes own properties only, even given a prototype name or a document that inherits fields', () => {
    expect(() => setPath({}, ['policy', '__proto__', 'threshold'], 1)).toThrow(/'__proto__' is not a name a sweep can set/);
    // A document whose prototype has a policy: the write makes the document's own, the prototype's stays.
    const proto = { policy: { threshold: 1 } };
    const doc = Object.create(proto) as Record<string, unknown>;
    setPath(doc, ['policy', 'threshold'], 2);
    expect(Object.hasOwn(doc, 'policy')).toBe(true);
    expect(doc.policy).toEqual({ threshold: 2 });
    expect(proto.policy.threshold).toBe(1);
  });

  it('a sweep file with such a path exits 2 in one line', async () => {
    const file = join(tmp, 'proto.yaml');
    writeFileSync(file, `name: proto\nbase: { model: ${GEMM}, frames: ${frames} }\ngrid:\n  policy.layers.__proto__.threshold: [0.2]\n`);
    expectBadInput(await evsim('sweep', file, '--out', join(tmp, 'proto.sqlite')), /^evsim: .*proto\.yaml: grid: unknown path 'policy\.layers\.__proto__\.threshold': '__proto__' is not a field/);
  });
});

describe('__proto__ keys inside values', () => {
  // The schema rebuilds objects by assignment, which made such a key the value's
  // prototype: its settings were dropped without a word (the point ran with 256 neurons).
  it.each([
    ['a grid value', { name: 'p', base, grid: { 'chip.core': JSON.parse('[{"neurons": 256, "__proto__": {"neurons": 5}}]') as unknown[] } }, /^sweep 'p': grid\.chip\.core\[0\]\.__proto__: '__proto__' is not a key a sweep can hold; remove it/],
    ['a point', { name: 'p', base, points: [JSON.parse('{"__proto__": {"policy.threshold": 1}}') as Record<string, unknown>] }, /^sweep 'p': points\[0\]\.__proto__: '__proto__' is not a key/],
    ['the base', { name: 'p', base: { ...base, policy: JSON.parse('{"layers": {"__proto__": {"threshold": 1}}}') as object } }, /^sweep 'p': base\.policy\.layers\.__proto__: '__proto__' is not a key/],
  ])('in %s exits 2 naming where it is', (_what, spec, re) => {
    const e = expansionError(spec as SweepSpec);
    expect([e.code, e.exitCode]).toEqual(['BAD_CONFIG', 2]);
    expect(e.message).toMatch(re);
  });

  it('in a sweep file exits 2 in one line', async () => {
    const file = join(tmp, 'proto-value.yaml');
    writeFileSync(file, `name: pv\nbase: { model: ${GEMM}, frames: ${frames}, chip: loihi }\ngrid:\n  chip.core: [{ neurons: 256, __proto__: { neurons: 5 } }]\n`);
    expectBadInput(await evsim('sweep', file, '--out', join(tmp, 'pv.sqlite')), /^evsim: .*proto-value\.yaml: grid\.chip\.core\[0\]\.__proto__: '__proto__' is not a key evsim reads; remove it$/);
  });
});

describe('inherited members are not fields', () => {
  it.each([
    ['toString', "a point has no field 'toString' \\(it has model, "],
    ['policy.hasOwnProperty', "policy has no field 'hasOwnProperty' \\(it has name, threshold, bn_gamma, layers\\)"],
    ['chip.core.valueOf', "chip\\.core has no field 'valueOf'"],
  ])('%s is an unknown path', (path, why) => {
    expect(() => pathNames(pointSchema, path)).toThrow(new RegExp(`^unknown path '${path.replace(/\./g, '\\.')}': ${why}`));
    const e = expansionError({ name: 'p', base, points: [{ [path]: 1 }] });
    expect(e.message).toMatch(new RegExp(`^sweep 'p': points\\[0\\]: unknown path '${path.replace(/\./g, '\\.')}'`));
  });

  it('a base key such as toString is an unknown key with no run-config hint (the hints are own keys of their table)', () => {
    const e = expansionError({ name: 'p', base: { ...base, toString: 1, threshold: 0.1 } as SweepSpec['base'] });
    // threshold is a run-config key (its hint is given); toString is not one.
    expect(e.message).toMatch(/unknown keys 'toString', 'threshold' \(run-config keys; in a sweep: threshold → policy\.threshold\)$/);
  });
});
