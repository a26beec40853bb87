/**
 * Pareto plots of sweeps that share one SQLite file: each sweep draws at its own default
 * path once the file holds several, and a sweep with nothing to draw removes only its own
 * earlier plot, never another sweep's (or any other file) at that path.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPlotPath, isPlotOf, markPlot } from '../../src/sweep/plot-file.js';
import { sweep } from '../../src/sweep/run.js';
import type { SweepSpec } from '../../src/sweep/spec.js';
import { writeNpy } from '../../src/workloads/npy.js';
import { ROOT } from '../helpers/cli.js';

const GEMM = join(ROOT, 'test', 'fixtures', 'onnx', 'gemm_trans.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-sweep-plot-'));
const frames = join(tmp, 'frames.npy');
writeNpy(frames, { shape: [2, 6], data: new Float32Array(12).map((_, i) => i / 4) });

/** Two points that complete. */
const good = (name: string): SweepSpec => ({ name, base: { model: GEMM, frames, chip: 'loihi' }, grid: { 'policy.threshold': [0.1, 0.3] } });
/** Two points that fail: 1 or 2 neurons per core on one tile of 4 cores cannot hold the gemm's 4 + 4 neurons and its input. */
const failing = (name: string): SweepSpec => ({
  name, base: { model: GEMM, frames, chip: { preset: 'loihi', mesh: { width: 1, height: 1 } } }, grid: { 'chip.core.neurons': [1, 2] },
});

describe('plot paths and owners', () => {
  it('the default is beside the file, with the sweep name once the file holds another sweep', () => {
    expect(defaultPlotPath('/d/s.sqlite', 'a', false)).toBe('/d/s.pareto.svg');
    expect(defaultPlotPath('/d/s.sqlite', 'a', true)).toBe('/d/s.a.pareto.svg');
    expect(defaultPlotPath('/d/s.db', 'b', true)).toBe('/d/s.b.pareto.svg');
  });

  it('a plot is its sweep\'s in its file only', () => {
    const f = join(tmp, 'marked.svg');
    writeFileSync(f, markPlot('<svg xmlns="http://www.w3.org/2000/svg"><g/></svg>', { sweep: 'a', file: '/d/"s".sqlite' }));
    expect(readFileSync(f, 'utf8')).toMatch(/^<svg data-evsim-sweep="a" data-evsim-file="\/d\/&quot;s&quot;\.sqlite" xmlns=/);
    expect(isPlotOf(f, { sweep: 'a', file: '/d/"s".sqlite' })).toBe(true);
    expect(isPlotOf(f, { sweep: 'b', file: '/d/"s".sqlite' })).toBe(false);
    expect(isPlotOf(f, { sweep: 'a', file: '/d/t.sqlite' })).toBe(false);
    expect(isPlotOf(join(tmp, 'missing.svg'), { sweep: 'a', file: '/d/s.sqlite' })).toBe(false);
  });
});

describe('two sweeps in one file', () => {
  const out = join(tmp, 'shared.sqlite');
  const plain = join(tmp, 'shared.pareto.svg');

  it("a sweep whose points all fail leaves the other sweep's plot alone, and draws at its own path", async () => {
    const a = await sweep(good('a'), { out, workers: 1 });
    // Alone in the file: the plot at the unnamed default.
    expect(a.svg).toBe(plain);
    const drawn = readFileSync(plain, 'utf8');
    expect(drawn).toMatch(/^<svg[\s\S]*Pareto front[\s\S]*<\/svg>$/);

    const b = await sweep(failing('b'), { out, workers: 1 });
    expect([b.failed, b.svg]).toEqual([2, null]);
    expect(b.frontNote).toMatch(/no point completed/);
    // a's plot is untouched; b had nothing to draw at its own path.
    expect(readFileSync(plain, 'utf8')).toBe(drawn);
    expect(existsSync(join(tmp, 'shared.b.pareto.svg'))).toBe(false);
  });

  it("once the file holds both, a's plot moves to the named path (its unnamed one goes, being a's)", async () => {
    const again = await sweep(good('a'), { out, workers: 1 });
    expect(again.ran).toBe(0);
    expect(again.svg).toBe(join(tmp, 'shared.a.pareto.svg'));
    expect(readFileSync(again.svg!, 'utf8')).toMatch(/Pareto front/);
    expect(existsSync(plain)).toBe(false);
  });

  it("an --svg given to a sweep with nothing to draw keeps a file that is not this sweep's plot", async () => {
    const user = join(tmp, 'mine.svg');
    writeFileSync(user, '<svg/>');
    await sweep(failing('b'), { out, workers: 1, svg: user });
    expect(readFileSync(user, 'utf8')).toBe('<svg/>');
    // Nor another sweep's plot.
    await sweep(failing('b'), { out, workers: 1, svg: join(tmp, 'shared.a.pareto.svg') });
    expect(readFileSync(join(tmp, 'shared.a.pareto.svg'), 'utf8')).toMatch(/Pareto front/);
  });
});

describe('a plot drawn before owner marks', () => {
  it("is removed as this sweep's when the file holds it alone and it has nothing to draw; an unmarked file of another title stays", async () => {
    const out = join(tmp, 'legacy.sqlite');
    const plot = join(tmp, 'legacy.pareto.svg');
    expect((await sweep(good('c'), { out, workers: 1 })).svg).toBe(plot);
    const unmark = (): void => writeFileSync(plot, readFileSync(plot, 'utf8').replace(/ data-evsim-sweep="[^"]*" data-evsim-file="[^"]*"/, ''));
    unmark();
    expect(readFileSync(plot, 'utf8')).not.toMatch(/data-evsim/);
    // No labels, so no accuracy: nothing to draw.
    const again = await sweep(good('c'), { out, workers: 1, pareto: ['accuracy', 'macs'] });
    expect(again.svg).toBeNull();
    expect(existsSync(plot)).toBe(false);
    writeFileSync(plot, '<svg xmlns="http://www.w3.org/2000/svg"><text>mine: my own drawing</text></svg>');
    await sweep(good('c'), { out, workers: 1, pareto: ['accuracy', 'macs'] });
    expect(existsSync(plot)).toBe(true);
  });
});
