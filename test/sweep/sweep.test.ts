/**
 * Sweeps end to end (the workers run the built JS in dist/, as `npm test` builds first):
 * grid expansion into sweep_points, resume, failed points, path validation, worker-count
 * independence, a point checked against a direct simulate() of the same configuration,
 * and the TypeScript example.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadChip } from '../../src/config/chip-config.js';
import type { EvsimError } from '../../src/errors.js';
import { simulate } from '../../src/simulate.js';
import { SqliteTraceSink } from '../../src/trace/sqlite-sink.js';
import { expandSweep } from '../../src/sweep/spec.js';
import { sweep, type SweepPoint } from '../../src/sweep/run.js';
import { writeNpy } from '../../src/workloads/npy.js';
import { syntheticVideo } from '../../src/workloads/video.js';
import { temporalMnist } from '../../src/workloads/temporal-mnist.js';
import { bruteForceFront } from '../helpers/pareto.js';
import { cliIn, expectBadInput, ROOT } from '../helpers/cli.js';
import { query } from '../helpers/sqlite.js';

const MODEL = join(ROOT, 'test', 'fixtures', 'onnx', 'resnet_block.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-sweep-'));

const evsim = cliIn(tmp);

const grid3x4 = `
name: grid
base:
  model: ${MODEL}
  workload: { kind: video, motion: minor, frames: 4 }
  chip: loihi
grid:
  policy.threshold: [0, 0.05, 0.2]
  chip.core.neurons: [64, 128, 256, 1024]
`;

describe('sweep grid', () => {
  const file = join(tmp, 'grid.yaml');
  const out = join(tmp, 'grid.sqlite');
  writeFileSync(file, grid3x4);
  let first: Awaited<ReturnType<typeof sweep>>;
  let firstMs = 0;

  it('a 3 × 4 grid gives 12 sweep_points rows with distinct parameters and results', async () => {
    const t0 = performance.now();
    first = await sweep(file, { out, workers: 2, svg: null });
    firstMs = performance.now() - t0;
    expect(first.total).toBe(12);
    expect(first.ran).toBe(12);
    expect(first.failed).toBe(0);
    const rows = await query(out, "SELECT * FROM sweep_points WHERE sweep = 'grid' ORDER BY idx");
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.status === 'completed' && typeof r.run_id === 'number')).toBe(true);
    // Parameters as columns, and as JSON.
    const pairs = new Set(rows.map((r) => `${r.policy_threshold}/${r.chip_core_neurons}`));
    expect(pairs.size).toBe(12);
    for (const r of rows) {
      const p = JSON.parse(String(r.params_json)) as Record<string, number>;
      expect(p['policy.threshold']).toBe(r.policy_threshold);
      expect(p['chip.core.neurons']).toBe(r.chip_core_neurons);
    }
    // Results differ point to point: energy and latency depend on threshold and core size.
    expect(new Set(rows.map((r) => `${r.energy_pj}/${r.latency_ns}`)).size).toBe(12);
    // Cartesian order: the last grid key varies fastest.
    expect(rows.slice(0, 4).map((r) => r.chip_core_neurons)).toEqual([64, 128, 256, 1024]);
    expect(rows.slice(0, 4).every((r) => r.policy_threshold === 0)).toBe(true);
    // h = 0 reproduces the dense network (DESIGN §3), so its error is float noise.
    for (const r of rows.filter((x) => x.policy_threshold === 0)) expect(r.rel_rmse as number).toBeLessThan(1e-5);
    for (const r of rows.filter((x) => x.policy_threshold === 0.2)) expect(r.rel_rmse as number).toBeGreaterThan(1e-4);
    // Every point's run is in the same file, complete.
    const runs = await query(out, 'SELECT r.status, COUNT(f.frame) AS n FROM runs r JOIN frames f USING (run_id) GROUP BY r.run_id');
    expect(runs).toHaveLength(12);
    expect(runs.every((r) => r.status === 'completed' && r.n === 4)).toBe(true);
    // Each point's run carries the scores its row has (replayed from the worker's recording).
    const scored = await query(out, 'SELECT p.rel_rmse AS p_rel, r.rel_rmse AS r_rel, p.max_abs AS p_max, r.max_abs AS r_max, r.accuracy FROM sweep_points p JOIN runs r USING (run_id)');
    expect(scored).toHaveLength(12);
    for (const r of scored) expect([r.r_rel, r.r_max, r.accuracy]).toEqual([r.p_rel, r.p_max, null]);
  });

  it('the front is the brute-force front of the stored rows (energy, latency, error)', async () => {
    const rows = await query(out, "SELECT label, energy_pj, latency_ns, output_error FROM sweep_points WHERE sweep = 'grid' ORDER BY idx");
    const expected = bruteForceFront(rows.map((r) => [r.energy_pj as number, r.latency_ns as number, r.output_error as number])).map((i) => rows[i]!.label);
    expect(first.objectives).toEqual(['energy_pj', 'latency_ns', 'error']);
    expect(first.front.map((p) => p.label)).toEqual(expected);
    const two = await sweep(file, { out, pareto: ['energy_pj', 'rel_rmse'], svg: join(tmp, 'front.svg') });
    const exp2 = bruteForceFront(two.points.map((p) => [p.energy_pj!, p.rel_rmse!])).map((i) => two.points[i]!.label);
    expect(two.front.map((p) => p.label)).toEqual(exp2);
    expect(two.front.length).toBeLessThan(12);
    expect(readFileSync(join(tmp, 'front.svg'), 'utf8')).toMatch(/^<svg[\s\S]*Pareto front[\s\S]*<\/svg>$/);
  });

  it('running it again adds no row and runs nothing', async () => {
    const t0 = performance.now();
    const again = await sweep(file, { out, workers: 2, svg: null });
    const ms = performance.now() - t0;
    expect(again.ran).toBe(0);
    expect(again.skipped).toBe(12);
    const rows = await query(out, 'SELECT COUNT(*) AS n FROM sweep_points');
    expect(rows[0]!.n).toBe(12);
    expect((await query(out, 'SELECT COUNT(*) AS n FROM runs'))[0]!.n).toBe(12);
    expect(again.points.map((p) => p.energy_pj)).toEqual(first.points.map((p) => p.energy_pj));
    expect(ms).toBeLessThan(firstMs / 2);
  });

  it('one point equals a direct simulate() of the same configuration', async () => {
    const p = first.points.find((x) => x.params['policy.threshold'] === 0.05 && x.params['chip.core.neurons'] === 128)!;
    const chip = loadChip('loihi');
    chip.core.neurons = 128;
    const video = syntheticVideo({ frames: 4, channels: 3, height: 16, width: 16, motion: 'minor', seed: 1 });
    const r = await simulate({ model: MODEL, frames: video, threshold: 0.05, chip, mesh: 'auto', compareDense: true, inProcess: true });
    expect(p.macs).toBe(r.totals.macs);
    expect(p.transmissions).toBe(r.totals.transmissions);
    expect(p.energy_pj).toBe(r.totals.energy_pj);
    expect(p.latency_ns).toBe(r.totals.latency_ns);
    expect(p.cores).toBe(r.cores);
    expect(p.rel_rmse).toBe(r.error_vs_dense!.rel_rmse);
    expect(p.throughput_fps).toBeCloseTo(4 / (r.totals.latency_ns * 1e-9), 6);
  });

  it("a point's trace rows in the sweep file equal those simulate() writes directly", async () => {
    const spec = { name: 'rows', trace_level: 'cores' as const, base: { model: MODEL, workload: { kind: 'video' as const, motion: 'minor' as const, frames: 4 }, chip: 'loihi' }, grid: { 'policy.threshold': [0.05] } };
    const swOut = join(tmp, 'rows.sqlite');
    const sw = await sweep(spec, { out: swOut, workers: 1, svg: null });
    expect(sw.points[0]!.status).toBe('completed');
    const direct = join(tmp, 'rows-direct.sqlite');
    const video = syntheticVideo({ frames: 4, channels: 3, height: 16, width: 16, motion: 'minor', seed: 1 });
    await simulate({ model: MODEL, frames: video, threshold: 0.05, chip: 'loihi', mesh: 'auto', inProcess: true, trace: new SqliteTraceSink(direct, 'cores', 'test') });
    for (const [table, order] of [['frames', 'frame'], ['layer_frames', 'frame, layer_id'], ['core_frames', 'frame, core_id'], ['layers', 'layer_id'], ['cores', 'core_id']]) {
      const strip = (rows: Record<string, unknown>[]) => rows.map(({ run_id: _r, ...rest }) => rest);
      const a = strip(await query(swOut, `SELECT * FROM ${table} WHERE run_id = ${sw.points[0]!.run_id} ORDER BY ${order}`));
      const b = strip(await query(direct, `SELECT * FROM ${table} ORDER BY ${order}`));
      expect(a.length, table).toBeGreaterThan(0);
      expect(a, table).toEqual(b);
    }
  });

  it('results do not depend on the number of workers', async () => {
    const one = await sweep(file, { out: join(tmp, 'grid-1.sqlite'), workers: 1, svg: null });
    const key = (p: SweepPoint): string => JSON.stringify([p.label, p.macs, p.transmissions, p.energy_pj, p.latency_ns, p.rel_rmse, p.pareto]);
    expect(one.points.map(key)).toEqual(first.points.map(key));
  });
});

describe('interruption', () => {
  it('an aborted sweep keeps its finished points; the next run does only the rest', async () => {
    const file = join(tmp, 'abort.yaml');
    writeFileSync(file, grid3x4.replace('name: grid', 'name: abort').replace('frames: 4', 'frames: 12'));
    const out = join(tmp, 'abort.sqlite');
    const ac = new AbortController();
    const first = await sweep(file, { out, workers: 2, svg: null, signal: ac.signal, onProgress: () => ac.abort() });
    expect(first.interrupted).toBe(true);
    const done = first.points.filter((p) => p.status === 'completed').length;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(12);
    // Points running at the stop end interrupted (their frames stored); the rest never started.
    const cut = first.points.filter((p) => p.status === 'interrupted');
    expect(first.points.filter((p) => p.status === 'pending')).toHaveLength(12 - done - cut.length);
    for (const p of cut) expect((await query(out, `SELECT status FROM runs WHERE run_id = ${p.run_id}`))[0]!.status).toBe('interrupted');
    const rest = await sweep(file, { out, workers: 2, svg: null });
    expect(rest.interrupted).toBe(false);
    expect(rest.skipped).toBe(done);
    expect(rest.ran).toBe(12 - done);
    expect((await query(out, 'SELECT COUNT(*) AS n FROM sweep_points'))[0]!.n).toBe(12);
    expect((await query(out, "SELECT COUNT(*) AS n FROM runs WHERE status = 'completed'"))[0]!.n).toBe(12);
  });
});

describe('interruption while the dense reference is computed', () => {
  it('stops within a moment, leaving every point pending', async () => {
    // 20000 frames of resnet_block's dense network take about 8 s on the main thread.
    const frames = join(tmp, 'long-ref.npy');
    writeNpy(frames, { shape: [20000, 3, 16, 16], data: new Float32Array(20000 * 768).map((_, i) => (i % 97) / 97) });
    const spec = { name: 'long-ref', base: { model: MODEL, frames }, grid: { 'policy.threshold': [0.1, 0.2] } };
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const t0 = performance.now();
    const r = await sweep(spec, { out: join(tmp, 'long-ref.sqlite'), workers: 1, svg: null, signal: ac.signal });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(r.interrupted).toBe(true);
    expect(r.ran).toBe(0);
    expect(r.points.map((p) => p.status)).toEqual(['pending', 'pending']);
  });
});

describe('one sweep per file', () => {
  it('a second sweep on a file being written exits 2; a lock left by a dead process is taken over', async () => {
    const file = join(tmp, 'lock.yaml');
    writeFileSync(file, grid3x4.replace('name: grid', 'name: lock'));
    const out = join(tmp, 'lock.sqlite');
    const first = sweep(file, { out, workers: 1, svg: null });
    for (let i = 0; i < 500 && !existsSync(`${out}.lock`); i++) await new Promise((r) => setTimeout(r, 10));
    await expect(sweep(file, { out, workers: 1, svg: null })).rejects.toThrow(/lock\.sqlite is being written by another sweep \(process \d+\)/);
    // Another name of the same file (a symbolic link, made before or after the file is) shares its lock.
    const link = join(tmp, 'lock-link.sqlite');
    symlinkSync(out, link);
    await expect(sweep(file, { out: link, workers: 1, svg: null })).rejects.toThrow(/lock-link\.sqlite is being written by another sweep/);
    expect((await first).ran).toBe(12);
    expect(existsSync(`${out}.lock`)).toBe(false);
    // A lock whose process died, or whose pid now belongs to another process (a container
    // restarted: same pid, other start time), is taken over. No process has id 2^22 + 1.
    const host = hostname();
    for (const dead of [{ host, pid: 2 ** 22 + 1, start: '1' }, { host, pid: process.pid, start: 'not-this-process' }]) {
      writeFileSync(`${out}.lock`, JSON.stringify(dead));
      expect((await sweep(file, { out, workers: 1, svg: null })).skipped).toBe(12);
      expect(existsSync(`${out}.lock`)).toBe(false);
    }
    // A lock evsim did not write (empty: a writer mid-way would look the same) is not taken.
    writeFileSync(`${out}.lock`, '');
    await expect(sweep(file, { out, workers: 1, svg: null })).rejects.toThrow(/has a lock evsim did not write/);
    expect(existsSync(`${out}.lock`)).toBe(true);
  });

  it('a file with a second hard link is not written through either name (was: two sweeps through the names both ran and corrupted it)', async () => {
    const file = join(tmp, 'hard.yaml');
    writeFileSync(file, grid3x4.replace('name: grid', 'name: hard'));
    const out = join(tmp, 'hard.sqlite');
    expect((await sweep(file, { out, workers: 1, svg: null })).failed).toBe(0);
    const other = join(tmp, 'hard-link.sqlite');
    linkSync(out, other);
    const before = readFileSync(out);
    for (const name of [out, other]) {
      const e = await sweep(file, { out: name, workers: 1, svg: null }).then(() => null, (x: unknown) => x as EvsimError);
      expect(e?.code).toBe('BAD_TRACE');
      expect(e?.message).toMatch(/has 2 names \(hard links\): SQLite keeps a journal beside each name/);
    }
    // Runs too: a trace is a SQLite file the same way.
    const fix = join(ROOT, 'test', 'fixtures', 'onnx');
    const run = await simulate({ model: join(fix, 'mlp.onnx'), frames: join(fix, 'mlp.input.npy'), chip: 'ideal', trace: other }).then(() => null, (x: unknown) => x as EvsimError);
    expect(run?.message).toMatch(/has 2 names \(hard links\)/);
    expect(readFileSync(out).equals(before)).toBe(true);
  });
});

describe('a progress callback that throws', () => {
  it('stops the sweep, which rejects with the callback\'s own error; what ran is kept and a re-run does the rest (was: every point ran, then a sweep-file error)', async () => {
    const file = join(tmp, 'cb.yaml');
    writeFileSync(file, grid3x4.replace('name: grid', 'name: cb'));
    const out = join(tmp, 'cb.sqlite');
    const bug = new Error('my callback bug');
    let calls = 0;
    await expect(sweep(file, { out, workers: 1, svg: null, onProgress: () => { calls++; throw bug; } })).rejects.toBe(bug);
    expect(calls).toBe(1);
    const stored = await query(out, "SELECT status, COUNT(*) AS n FROM sweep_points GROUP BY status ORDER BY status");
    const completed = Number(stored.find((r) => r.status === 'completed')?.n ?? 0);
    expect(completed).toBeGreaterThanOrEqual(1);
    expect(completed).toBeLessThan(12);
    const again = await sweep(file, { out, workers: 1, svg: null });
    expect(again.skipped).toBe(completed);
    expect(again.ran + again.skipped).toBe(12);
  });
});

describe('points of different lengths', () => {
  it('ranked on totals: a note names them and the per-frame objectives; ranked per frame: no note, front from totals ÷ frames', async () => {
    const file = join(tmp, 'lengths.yaml');
    writeFileSync(file, `${grid3x4.replace('name: grid', 'name: lengths').replace('chip.core.neurons: [64, 128, 256, 1024]', 'max_frames: [2, 4]')}`);
    const out = join(tmp, 'lengths.sqlite');
    const totals = await sweep(file, { out, workers: 1, svg: null });
    expect(totals.lengthNote).toBe('points ran different numbers of frames (2 to 4), and energy_pj, latency_ns are totals over a point\'s frames, so shorter points look better; rank on energy_pj_per_frame, mean_latency_ns instead');
    const perFrame = await sweep(file, { out, workers: 1, svg: null, pareto: ['energy_pj_per_frame', 'mean_latency_ns'] });
    expect(perFrame.ran).toBe(0);
    expect(perFrame.lengthNote).toBeNull();
    // The front recomputed by hand: energy over frames, against the mean latency.
    const vectors = perFrame.points.map((p) => [p.energy_pj! / p.frames!, p.mean_latency_ns!]);
    const want = bruteForceFront(vectors).map((i) => perFrame.points[i]!.index);
    expect(perFrame.front.map((p) => p.index)).toEqual(want);
    expect(new Set(perFrame.points.map((p) => p.frames))).toEqual(new Set([2, 4]));
  });
});

describe('error across points with and without labels', () => {
  it('ranked on error, a note says 1 − accuracy and relative RMSE do not compare; on rel_rmse, none', async () => {
    const tm = temporalMnist({ frames: 3 });
    const frames = join(tmp, 'err-frames.npy');
    const labels = join(tmp, 'err-labels.npy');
    writeNpy(frames, tm.frames);
    writeNpy(labels, { shape: [3], data: tm.labels });
    const file = join(tmp, 'err.yaml');
    writeFileSync(file, `name: err\nbase: { model: ${join(ROOT, 'sim-configs', 'models', 'mnist-mlp.onnx')}, frames: ${frames}, chip: ideal }\ngrid: { policy.threshold: [0.1, 0.2] }\npoints:\n  - { policy.threshold: 0.1, labels: ${labels} }\n`);
    const out = join(tmp, 'err.sqlite');
    const mixed = await sweep(file, { out, workers: 1, svg: null, pareto: ['macs', 'error'] });
    expect(mixed.points.map((p) => p.accuracy === null)).toEqual([true, true, false]);
    expect(mixed.errorNote).toMatch(/^error is 1 − accuracy for the 1 point with labels and the relative RMSE .* for the other 2, which do not compare; rank on rel_rmse/);
    expect((await sweep(file, { out, workers: 1, svg: null, pareto: ['macs', 'rel_rmse'] })).errorNote).toBeNull();
  });
});

describe('failed points', () => {
  it('a chip the network does not fit is recorded as failed; the sweep goes on and exits 0', async () => {
    const file = join(tmp, 'fail.yaml');
    writeFileSync(
      file,
      `${grid3x4.replace('name: grid', 'name: fail').replace('[0, 0.05, 0.2]', '[0.05]').replace('[64, 128, 256, 1024]', '[256, 1024]')}
points:
  - { chip.mesh.width: 1, chip.mesh.height: 1, chip.core.neurons: 16 }
`,
    );
    const out = join(tmp, 'fail.sqlite');
    const r = await evsim('sweep', file, '--out', out, '--json');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out) as { failed: number; total: number; points: SweepPoint[] };
    expect(res.total).toBe(3);
    expect(res.failed).toBe(1);
    const bad = res.points.find((p) => p.status === 'failed')!;
    expect(bad.label).toContain('chip.mesh.width=1');
    expect(bad.error).toMatch(/needs \d+ cores but the 1×1 mesh .* has 4; use mapping\.mesh: auto or a larger mesh$/);
    const text = await evsim('sweep', file, '--out', out);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/3 points — 0 run now, 3 already in .*, 1 failed/);
    expect(text.out).toMatch(/failed: point 3 \(chip\.mesh\.width=1 .*\): the network needs/);
    expect(text.out).toMatch(/^ {2}1 point failed in an earlier run and was kept; --retry-failed runs it again$/m);
    expect((await evsim('sweep', file, '--out', out, '--retry-failed')).out).toMatch(/3 points — 1 run now, 2 already in .*, 1 failed/);
  });
});

describe('sweep validation', () => {
  const bad = async (body: string): Promise<{ code: number; err: string }> => {
    const file = join(tmp, `bad-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, body);
    return await evsim('sweep', file, '--out', join(tmp, 'bad.sqlite'));
  };

  it('an unknown path names it and what exists there', async () => {
    expectBadInput(await bad(grid3x4.replace('chip.core.neurons:', 'chip.cores.neurons:')), /grid: unknown path 'chip\.cores\.neurons': chip has no field 'cores' \(it has .*core,.*\)/);
    expectBadInput(await bad(grid3x4.replace('policy.threshold:', 'policy.treshold:')), /unknown path 'policy\.treshold'/);
  });

  it('a bad value names the point and the field', async () => {
    expectBadInput(await bad(grid3x4.replace('[64, 128, 256, 1024]', '[64, -3]')), /point 2 \(policy\.threshold=0 chip\.core\.neurons=-3\): chip\.core\.neurons/);
    expectBadInput(await bad(grid3x4.replace('[0, 0.05, 0.2]', '[0, -1]')), /policy\.threshold/);
    expectBadInput(await bad(grid3x4.replace('chip: loihi', 'chip: loihi-x')), /chip\.preset: unknown chip 'loihi-x'/);
  });

  it('bad flags exit 2', async () => {
    const file = join(tmp, 'ok.yaml');
    writeFileSync(file, grid3x4);
    expectBadInput(await evsim('sweep', file, '--pareto', 'energy_pj,speed'), /unknown objective 'speed'/);
    expectBadInput(await evsim('sweep', file, '--workers', '0'), /--workers must be a positive integer/);
    expectBadInput(await evsim('sweep', join(tmp, 'missing.yaml')), /cannot read sweep/);
  });

  it('expansion: grid product first, then points; shorthands; mesh follows the point', () => {
    const ex = expandSweep(
      {
        base: { model: MODEL, workload: { kind: 'video' }, chip: 'truenorth', policy: 'rounding' },
        grid: { 'policy.threshold': [0.1, 0.2], chip: ['loihi', 'truenorth'] },
        points: [{ 'chip.mesh': { width: 2, height: 2 } }],
      },
      { baseDir: tmp, name: 't' },
    );
    expect(ex.points.map((p) => p.label)).toEqual([
      'policy.threshold=0.1 chip=loihi', 'policy.threshold=0.1 chip=truenorth',
      'policy.threshold=0.2 chip=loihi', 'policy.threshold=0.2 chip=truenorth',
      'chip.mesh={"width":2,"height":2}',
    ]);
    expect(ex.points.map((p) => p.chip.name)).toEqual(['loihi', 'truenorth', 'loihi', 'truenorth', 'truenorth']);
    expect(ex.points.every((p) => p.policy === 'rounding')).toBe(true);
    expect(ex.points.slice(0, 4).every((p) => p.mesh === 'auto')).toBe(true);
    expect(ex.points[4]!.mesh).toEqual({ width: 2, height: 2 });
    expect(new Set(ex.points.map((p) => p.key)).size).toBe(5);
  });
});

describe('TypeScript API example', () => {
  it('examples/custom-sweep.ts runs a tiny sweep', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'examples', 'custom-sweep.js'), '--model', MODEL, '--frames', '3', '--out', join(tmp, 'example.sqlite')], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^10 points, 0 failed, \d+ on the energy\/latency front/);
    expect(r.stdout).toMatch(/best energy-delay product: chip\.core\.neurons=\d+/);
  });
});
