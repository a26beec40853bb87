/**
 * `evsim sweep` exit codes and messages: repeated options and unwritable outputs are
 * refused before any point runs, a sweep that ranks nothing exits 1 saying why, and
 * messages name the sweep's own settings (not `evsim run` flags).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/workloads/npy.js';
import { cliIn, expectBadInput, ROOT } from '../helpers/cli.js';

const FIX = join(ROOT, 'test', 'fixtures', 'onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-sweep-cli-'));
const evsim = cliIn(tmp);

const frames = join(tmp, 'frames.npy');
writeNpy(frames, { shape: [2, 6], data: new Float32Array(12).map((_, i) => i / 4) });

/** A sweep file of `body` lines after a gemm_trans base (frames [2, 6]). */
function sweepFile(name: string, body = '', chip = 'loihi'): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nbase: { model: ${join(FIX, 'gemm_trans.onnx')}, frames: ${frames}, chip: ${chip} }\n${body}`);
  return file;
}

describe('options', () => {
  const file = sweepFile('opts', 'grid:\n  policy.threshold: [0.1, 0.2]\n');

  it('a repeated option exits 2 naming it', async () => {
    expectBadInput(await evsim('sweep', file, '--out', join(tmp, 'a.sqlite'), '--out', join(tmp, 'b.sqlite')), /^evsim: --out given 2 times; give it once$/);
    expectBadInput(await evsim('sweep', file, '--pareto', 'energy_pj,error', '--pareto', 'macs,error'), /^evsim: --pareto given 2 times/);
    expect(existsSync(join(tmp, 'a.sqlite'))).toBe(false);
  });

  it('an --svg in a missing folder exits 2 before any point runs', async () => {
    const out = join(tmp, 'svg.sqlite');
    expectBadInput(await evsim('sweep', file, '--out', out, '--svg', join(tmp, 'nowhere', 'front.svg')), /--svg .*front\.svg: folder .*nowhere does not exist/);
    expect(existsSync(out)).toBe(false);
    // Another kind of picture by its name: refused, not an SVG under a .png name.
    expectBadInput(await evsim('sweep', file, '--out', out, '--svg', join(tmp, 'front.png')), /^evsim: --svg .*front\.png: the Pareto plot is an SVG drawing; give a \.svg path$/);
    expect(existsSync(out)).toBe(false);
  });

  it('an --svg that is an input of a point, or the sweep file, exits 2 and leaves it alone', async () => {
    expectBadInput(await evsim('sweep', file, '--out', join(tmp, 'o.sqlite'), '--svg', frames), /the Pareto plot \(--svg\) .*frames\.npy is also the frames of point 1; .*choose another path/);
    expectBadInput(await evsim('sweep', file, '--svg', file), /--svg .*opts\.yaml is also the sweep file/);
    expect(existsSync(join(tmp, 'o.sqlite'))).toBe(false);
    expect(readFileSync(frames).length).toBe(128 + 12 * 4);
  });

  it("an --svg that is a point's chip file exits 2 and leaves it alone", async () => {
    const chip = join(tmp, 'mychip.yaml');
    writeFileSync(chip, 'preset: loihi\n');
    const f = join(tmp, 'chipfile.yaml');
    writeFileSync(f, `name: chipfile\nbase: { model: ${join(FIX, 'gemm_trans.onnx')}, frames: ${frames}, chip: ${chip} }\ngrid:\n  policy.threshold: [0.1, 0.2]\n`);
    expectBadInput(await evsim('sweep', f, '--out', join(tmp, 'cf.sqlite'), '--svg', chip), /--svg\) .*mychip\.yaml is also the chip file of the sweep/);
    expect(readFileSync(chip, 'utf8')).toBe('preset: loihi\n');
  });

  it('a non-finite threshold (.inf per layer, .nan in a grid) exits 2 naming the path (was: .inf ran as no override)', async () => {
    expectBadInput(await evsim('sweep', sweepFile('inf', 'grid:\n  policy.layers./Relu: [{}, {threshold: .inf}]\n'), '--out', join(tmp, 'inf.sqlite')), /threshold must be finite/);
    expectBadInput(await evsim('sweep', sweepFile('nan', 'grid:\n  policy.threshold: [.nan]\n'), '--out', join(tmp, 'nan.sqlite')), /grid\.policy\.threshold\.0 is NaN; give a number$/);
  });

  it('an --out in a missing folder names --out, not --trace', async () => {
    const r = await evsim('sweep', file, '--out', join(tmp, 'nowhere', 's.sqlite'));
    expectBadInput(r, /sweep file .*s\.sqlite: folder .*nowhere does not exist; create it or pass --out elsewhere$/);
    expect(r.err).not.toMatch(/--trace/);
  });

  it("a bad pareto: in the file names pareto:, not --pareto", async () => {
    const r = await evsim('sweep', sweepFile('yaml-pareto', 'pareto: [energy_pj, speed]\n'), '--out', join(tmp, 'p.sqlite'));
    expectBadInput(r, /yaml-pareto\.yaml: pareto: unknown objective 'speed'/);
    expect(r.err).not.toMatch(/--pareto/);
  });
});

describe('a sweep that ranks nothing', () => {
  it('exits 1 when no point completed', async () => {
    // 4 neurons per core on one 1×1 tile (4 cores): the gemm's 4 + 4 neurons and its input need more.
    const file = sweepFile('none', 'grid:\n  chip.core.neurons: [1, 2]\n', '{ preset: loihi, mesh: { width: 1, height: 1 } }');
    // This sweep's plot of an earlier front (a point that fits, 1024 neurons a core) goes:
    // this run has none to show. (A file there that is not its plot would stay: plot-file.test.ts.)
    const earlier = join(tmp, 'none-earlier.yaml');
    writeFileSync(earlier, readFileSync(file, 'utf8').replace(/chip\.core\.neurons: \[1, 2\]/, 'chip.core.neurons: [1024]'));
    const plot = join(tmp, 'none.pareto.svg');
    expect((await evsim('sweep', earlier, '--out', join(tmp, 'none.sqlite'))).code).toBe(0);
    expect(readFileSync(plot, 'utf8')).toMatch(/^<svg data-evsim-sweep="none" /);
    const r = await evsim('sweep', file, '--out', join(tmp, 'none.sqlite'));
    expect(r.code).toBe(1);
    expect(existsSync(plot)).toBe(false);
    expect(r.out).toMatch(/none: 2 points — 2 run now, 0 already in .*, 2 failed/);
    expect(r.err.trimEnd().split('\n').at(-1)).toMatch(/^evsim: sweep none: no point completed \(2 of 2 failed\): there is nothing to rank$/);
    // Without a terminal: a line to begin, then one per point with the time so far and left.
    const lines = r.err.trimEnd().split('\n');
    expect(lines[0]).toBe('sweep: running 2 points');
    expect(lines[1]).toMatch(/^\[1\/2 \d+ s, ETA \d+ s\] point \d \(chip\.core\.neurons=\d\) failed: /);
    expect(lines[2]).toMatch(/^\[2\/2 \d+ s\] point \d /);
  });

  it('on ideal only: energy or latency objectives exit 2 before any point runs; the default ranks macs against error', async () => {
    const file = sweepFile('ideal', 'grid:\n  policy.threshold: [0.1, 0.5]\n', 'ideal');
    const out = join(tmp, 'ideal.sqlite');
    const r = await evsim('sweep', file, '--out', out, '--pareto', 'energy_pj,latency_ns');
    expect(r.code).toBe(2);
    expect(r.err.trimEnd()).toMatch(/^evsim: .*every point runs on a chip without costs or limits \(ideal\), which has no energy_pj or latency_ns; rank on others, e\.g\. --pareto macs,error/);
    expect(r.err).not.toMatch(/\n./);
    expect(existsSync(out)).toBe(false);
    const again = await evsim('sweep', file, '--out', out);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/2 points — 2 run now, 0 already in/);
    expect(again.out).toMatch(/Pareto front over macs, error/);
  });

});
