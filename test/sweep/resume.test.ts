/**
 * Resuming a sweep: rows of points already in the file follow the current expansion
 * (numbers, labels, parameters), points of an earlier grid stay out of the result, and a
 * stop ends the running points as interrupted, stored with their frames, for the next
 * run to do again.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweep } from '../../src/sweep/run.js';
import { expandSweep, type SweepSpec } from '../../src/sweep/spec.js';
import { SweepStore } from '../../src/sweep/store.js';
import { writeNpy } from '../../src/workloads/npy.js';
import { ROOT } from '../helpers/cli.js';
import { query } from '../helpers/sqlite.js';

const FIX = join(ROOT, 'test', 'fixtures', 'onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-sweep-resume-'));

describe('a grid edited between runs', () => {
  const frames = join(tmp, 'frames.npy');
  writeNpy(frames, { shape: [3, 6], data: new Float32Array(18).map((_, i) => Math.sin(i)) });
  const base = { model: join(FIX, 'gemm_trans.onnx'), frames, chip: 'loihi' };
  const out = join(tmp, 'edited.sqlite');

  it('keeps the results of unchanged configurations under their new number, label and parameters', async () => {
    // 1024 neurons is loihi's own core size, so dropping that grid key leaves the
    // configurations, hence the point keys, as they were.
    const first: SweepSpec = { name: 'edited', base, grid: { 'policy.threshold': [0.05, 0.2, 0.5], 'chip.core.neurons': [1024] } };
    const r1 = await sweep(first, { out, workers: 1, svg: null });
    expect(r1.ran).toBe(3);
    const second: SweepSpec = { name: 'edited', base, grid: { 'policy.threshold': [0.2, 0.05] } };
    const r2 = await sweep(second, { out, workers: 1, svg: null });
    expect(r2.ran).toBe(0);
    expect(r2.skipped).toBe(2);
    expect(r2.points.map((p) => [p.index, p.label, p.params])).toEqual([
      [0, 'policy.threshold=0.2', { 'policy.threshold': 0.2 }],
      [1, 'policy.threshold=0.05', { 'policy.threshold': 0.05 }],
    ]);
    // The results are those of the first run, now under the new numbers.
    const energyOf = (h: number): number | null | undefined => r1.points.find((p) => p.params['policy.threshold'] === h)!.energy_pj;
    expect(r2.points.map((p) => p.energy_pj)).toEqual([energyOf(0.2), energyOf(0.05)]);
    // The file agrees; the 0.5 point of the first grid stays, but is not part of the result.
    const rows = await query(out, "SELECT idx, label, params_json, policy_threshold, chip_core_neurons FROM sweep_points WHERE sweep = 'edited' ORDER BY point_id");
    expect(rows).toEqual([
      { idx: 1, label: 'policy.threshold=0.05', params_json: '{"policy.threshold":0.05}', policy_threshold: 0.05, chip_core_neurons: null },
      { idx: 0, label: 'policy.threshold=0.2', params_json: '{"policy.threshold":0.2}', policy_threshold: 0.2, chip_core_neurons: null },
      { idx: 2, label: 'policy.threshold=0.5 chip.core.neurons=1024', params_json: '{"policy.threshold":0.5,"chip.core.neurons":1024}', policy_threshold: 0.5, chip_core_neurons: 1024 },
    ]);
    // Only the current grid's rows are marked current (what the printed queries select).
    const current = await query(out, "SELECT label, current FROM sweep_points WHERE sweep = 'edited' ORDER BY point_id");
    expect(current.map((r) => r.current)).toEqual([1, 1, 0]);
    // The kept runs' configurations follow too (number, label, parameters).
    const configs = await query(out, "SELECT json_extract(r.config_json, '$.sweep_point') AS n, json_extract(r.config_json, '$.label') AS label, json_extract(r.config_json, '$.params') AS params FROM sweep_points p JOIN runs r USING (run_id) WHERE p.current = 1 ORDER BY p.idx");
    expect(configs).toEqual([
      { n: 0, label: 'policy.threshold=0.2', params: '{"policy.threshold":0.2}' },
      { n: 1, label: 'policy.threshold=0.05', params: '{"policy.threshold":0.05}' },
    ]);
    expect(r2.total).toBe(2);
    expect(r2.front.every((p) => p.label !== 'policy.threshold=0.5 chip.core.neurons=1024')).toBe(true);
  });
});

describe('a stop while points run', () => {
  it('ends the running point as interrupted with its frames stored; the next run does it again', async () => {
    // A long point and a short one start together on two workers; the short one's result
    // stops the sweep while the long one is still running. (600 frames were once done
    // before the short point's result was stored, on a loaded machine.)
    const long = 2000;
    const spec: SweepSpec = {
      name: 'stop',
      base: { model: join(FIX, 'pad_transpose.onnx'), chip: 'loihi' },
      points: [{ workload: { kind: 'video', frames: long } }, { workload: { kind: 'video', frames: 2 } }],
    };
    const out = join(tmp, 'stop.sqlite');
    const ac = new AbortController();
    const first = await sweep(spec, { out, workers: 2, svg: null, signal: ac.signal, onProgress: () => ac.abort() });
    expect(first.interrupted).toBe(true);
    expect(first.points.map((p) => p.status)).toEqual(['interrupted', 'completed']);
    const cut = first.points[0]!;
    expect(cut.frames).toBeGreaterThanOrEqual(1);
    expect(cut.frames).toBeLessThan(long);
    const [run] = await query(out, `SELECT r.status, COUNT(f.frame) AS n FROM runs r JOIN frames f USING (run_id) WHERE r.run_id = ${cut.run_id} GROUP BY r.run_id`);
    expect(run).toEqual({ status: 'interrupted', n: cut.frames });

    const rest = await sweep(spec, { out, workers: 2, svg: null });
    expect(rest.interrupted).toBe(false);
    expect(rest.ran).toBe(1);
    expect(rest.points.map((p) => [p.status, p.frames])).toEqual([['completed', long], ['completed', 2]]);
    // The interrupted run made way for the complete one: one run per point, so sums over
    // the file's runs and frames count each point once.
    const runs = await query(out, 'SELECT run_id, status, (SELECT COUNT(*) FROM frames f WHERE f.run_id = r.run_id) AS n FROM runs r ORDER BY run_id');
    expect(runs.map((r) => [r.status, r.n])).toEqual([['completed', 2], ['completed', long]]);
    expect(await query(out, 'SELECT COUNT(DISTINCT run_id) AS n FROM layers')).toEqual([{ n: 2 }]);
    expect(await query(out, "SELECT COUNT(*) AS n FROM sweep_points p JOIN runs r USING (run_id) WHERE p.sweep = 'stop'")).toEqual([{ n: 2 }]);
  });
});

describe('a point stored', () => {
  it('goes in with its run as one transaction: a failure while writing leaves neither', async () => {
    const frames = join(tmp, 'tx-frames.npy');
    writeNpy(frames, { shape: [2, 6], data: new Float32Array(12).fill(0.5) });
    const ex = expandSweep({ name: 'tx', base: { model: join(FIX, 'gemm_trans.onnx'), frames, chip: 'loihi' }, grid: { 'policy.threshold': [0.1] } }, { baseDir: tmp, name: 'tx' });
    const out = join(tmp, 'tx.sqlite');
    const store = await SweepStore.open(out);
    try {
      const [p] = ex.points;
      const id = (await store.sync('tx', ex.points)).get(p!.key)!.point_id;
      const outcome = { index: 0, key: p!.key, status: 'completed' as const, error: null, metrics: null, recording: null, wall_s: 1 };
      // The run's row is written, then the process fails before the point is updated.
      await expect(store.record(id, outcome, async (db) => {
        await new Promise<void>((res, rej) => db.run("INSERT INTO runs (created_at, heartbeat_at, status, evsim_version, model, model_hash, chip, trace_level, frames_planned, config_json) VALUES ('t', 't', 'running', 'v', 'm', 'h', 'loihi', 'summary', 2, '{}')", (e) => (e ? rej(e) : res())));
        throw new Error('disk gone');
      })).rejects.toThrow('disk gone');
      expect(await query(out, 'SELECT COUNT(*) AS n FROM runs')).toEqual([{ n: 0 }]);
      expect(await query(out, 'SELECT status, run_id FROM sweep_points')).toEqual([{ status: 'pending', run_id: null }]);
    } finally {
      await store.close();
    }
  });
});
