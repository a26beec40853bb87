/**
 * `sweep()` from plain JavaScript: a spec or options of the wrong kind is an EvsimError
 * (exit 2) naming the argument or option, not a TypeError from inside; objectives are
 * typed by name (ObjectiveName) and checked by name at run time.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvsimError } from '../../src/errors.js';
import { OBJECTIVES, parseObjectives, type ObjectiveName } from '../../src/sweep/pareto.js';
import { sweep, type SweepOptions } from '../../src/sweep/run.js';
import { loadSweepFile, type SweepSpec } from '../../src/sweep/spec.js';
import { writeNpy } from '../../src/workloads/npy.js';
import { ROOT } from '../helpers/cli.js';

const GEMM = join(ROOT, 'test', 'fixtures', 'onnx', 'gemm_trans.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-sweep-api-'));
const frames = join(tmp, 'frames.npy');
writeNpy(frames, { shape: [2, 6], data: new Float32Array(12).map((_, i) => i / 4) });
const spec: SweepSpec = { name: 'api', base: { model: GEMM, frames, chip: 'loihi' }, grid: { 'policy.threshold': [0.1, 0.2] } };
const out = join(tmp, 'api.sqlite');

/** The error sweep() rejects with, checked to be a bad-input EvsimError. */
async function usageError(run: () => Promise<unknown>): Promise<string> {
  const e = await run().then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(EvsimError);
  expect([(e as EvsimError).code, (e as EvsimError).exitCode]).toEqual(['BAD_USAGE', 2]);
  return (e as EvsimError).message;
}

describe('sweep() arguments', () => {
  it.each([
    [null, /^sweep\(\) takes a sweep file path or a spec object \{ name, base, grid, points \}, got null$/],
    [42, /got 42$/],
    ['', /got ""$/],
    [[{ base: {} }], /got \[\{"base":\{\}\}\]$/],
  ])('spec %j is refused naming what sweep() takes', async (bad, re) => {
    expect(await usageError(() => sweep(bad as unknown as SweepSpec, { out }))).toMatch(re);
  });

  it.each([
    [null, /^sweep\(\)'s options must be an object \{ out, workers, pareto, … \}, got null$/],
    [{ pareto: 'macs,error' }, /^pareto must be an array of objective names such as \['macs', 'error'\], got "macs,error"$/],
    [{ pareto: ['macs', 3] }, /^pareto must be an array of objective names/],
    [{ out: 7 }, /^out must be a non-empty string, got 7$/],
    [{ name: 7 }, /^name must be a non-empty string, got 7$/],
    [{ baseDir: null }, /^baseDir must be a non-empty string, got null$/],
    [{ svg: true }, /^svg must be a \.svg path, or null for no plot, got true$/],
    [{ workers: '2' }, /^workers \(--workers\) must be a positive integer, got "2"$/],
    [{ workers: 0 }, /^workers \(--workers\) must be a positive integer, got 0$/],
    [{ retryFailed: 'yes' }, /^retryFailed must be true or false, got "yes"$/],
    [{ onProgress: 'log' }, /^onProgress must be a function, got "log"$/],
    [{ onStart: {} }, /^onStart must be a function, got \{\}$/],
    [{ signal: { aborted: false } }, /^signal must be an AbortSignal, got \{"aborted":false\}$/],
  ])('options %j are refused naming the option, before anything is written', async (bad, re) => {
    // Each with an out of its own unless the case is about out (none of them may be made).
    const opts = bad === null ? null : { out: join(tmp, 'never.sqlite'), ...bad };
    expect(await usageError(() => sweep(spec, opts as unknown as SweepOptions))).toMatch(re);
    expect(existsSync(join(tmp, 'never.sqlite'))).toBe(false);
    expect(existsSync(out)).toBe(false);
  });

  it('objective names are own keys of the table: toString is an unknown objective', () => {
    expect(() => parseObjectives(['toString', 'macs'])).toThrow(/--pareto: unknown objective 'toString'; use energy_pj, /);
    expect(Object.keys(OBJECTIVES)).toContain('macs_per_frame');
  });

  it('pareto is typed by objective name (an unknown one is a type error, and still refused at run time)', async () => {
    const names: ObjectiveName[] = ['macs', 'error'];
    const typed: SweepOptions = { pareto: names, out };
    expect(typed.pareto).toEqual(['macs', 'error']);
    // @ts-expect-error 'speed' is not an objective
    const wrong: SweepOptions = { pareto: ['speed', 'macs'], out };
    expect(await usageError(() => sweep(spec, wrong))).toMatch(/unknown objective 'speed'/);
    // @ts-expect-error nor in a spec's pareto:
    const wrongSpec: SweepSpec = { ...spec, pareto: ['speed', 'macs'] };
    await expect(sweep(wrongSpec, { out })).rejects.toThrow(/pareto: unknown objective 'speed'/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('loadSweepFile() arguments', () => {
  // A number was read as an open file descriptor (fs takes both), then failed on its
  // path with a raw TypeError; a closed one said "cannot read sweep 5: EBADF". (The fd
  // here is one no test has open: reading an open pipe would block the test.)
  it.each([[987654], [null], [''], [Buffer.from('name: x')]])('%o is refused naming what it takes', (bad) => {
    let err: unknown = null;
    try {
      loadSweepFile(bad as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EvsimError);
    expect((err as EvsimError).code).toBe('BAD_USAGE');
    expect((err as EvsimError).message).toMatch(/^loadSweepFile\(\) takes the path of a sweep YAML file, got (987654|null|""|a Buffer of 7 bytes)$/);
  });
});
