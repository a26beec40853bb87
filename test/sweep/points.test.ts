/**
 * What a sweep point runs and records: models sharing a workload on one thread each get
 * frames of their own shape, Temporal MNIST feeds an image-shaped MLP, the run records
 * the model's hash and the point's resolved configuration, and a chip without costs
 * leaves energy and latency empty (null), not 0.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/simulate.js';
import { sweep } from '../../src/sweep/run.js';
import { encodeNpy } from '../../src/workloads/npy.js';
import { temporalMnist } from '../../src/workloads/temporal-mnist.js';
import { syntheticVideo } from '../../src/workloads/video.js';
import { ROOT } from '../helpers/cli.js';
import { query } from '../helpers/sqlite.js';

const FIX = join(ROOT, 'test', 'fixtures', 'onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-sweep-points-'));

describe('models sharing a workload on one thread', () => {
  it('a video workload is sized to each model (16×16 and 10×10 inputs)', async () => {
    const big = join(FIX, 'resnet_block.onnx'); // input [1, 3, 16, 16]
    const small = join(FIX, 'clip_opset11.onnx'); // input [1, 3, 10, 10]
    const r = await sweep(
      { name: 'two-models', base: { workload: { kind: 'video', motion: 'minor', frames: 3 }, chip: 'loihi' }, grid: { model: [big, small] } },
      { out: join(tmp, 'two-models.sqlite'), workers: 1, svg: null },
    );
    expect(r.points.map((p) => [p.status, p.error])).toEqual([['completed', null], ['completed', null]]);
    // The second model's point equals a direct run on its own 10×10 video (seed 1, the workload default).
    const video = syntheticVideo({ frames: 3, channels: 3, height: 10, width: 10, motion: 'minor', seed: 1 });
    const direct = await simulate({ model: small, frames: video, chip: 'loihi', compareDense: true, inProcess: true });
    expect(r.points[1]!.macs).toBe(direct.totals.macs);
    expect(r.points[1]!.energy_pj).toBe(direct.totals.energy_pj);
    expect(r.points[1]!.rel_rmse).toBe(direct.error_vs_dense!.rel_rmse);
  });

  it('Temporal MNIST feeds a [784] MLP and a [1, 28, 28] one, on the ideal chip', async () => {
    const flat = join(FIX, 'mlp.onnx'); // input [1, 784]
    const image = join(FIX, 'mlp_flatten.onnx'); // input [1, 1, 28, 28]
    const r = await sweep(
      { name: 'mnist-shapes', base: { workload: { kind: 'temporal-mnist', frames: 3 }, chip: 'ideal' }, grid: { model: [flat, image] }, pareto: ['macs', 'error'] },
      { out: join(tmp, 'mnist-shapes.sqlite'), workers: 1, svg: null },
    );
    expect(r.points.map((p) => [p.status, p.error])).toEqual([['completed', null], ['completed', null]]);
    const tm = temporalMnist({ frames: 3 });
    const direct = await simulate({ model: image, frames: { shape: [3, 1, 28, 28], data: tm.frames.data }, labels: tm.labels, chip: 'ideal', compareDense: true });
    expect(r.points[1]!.macs).toBe(direct.totals.macs);
    expect(r.points[1]!.accuracy).toBe(direct.accuracy);
    // ideal has no energy, time, traffic or cores: stored as null, not as a best-possible 0.
    for (const p of r.points) {
      expect([p.energy_pj, p.latency_ns, p.mean_latency_ns, p.stall_ns, p.throughput_fps]).toEqual([null, null, null, null, null]);
      expect([p.messages, p.hops, p.cores]).toEqual([null, null, null]);
    }
    expect(r.front.length).toBeGreaterThan(0);
  });
});

describe('the run a point records', () => {
  it('has the model file hash and the resolved point configuration', async () => {
    const model = join(FIX, 'resnet_block.onnx');
    const out = join(tmp, 'config.sqlite');
    await sweep(
      { name: 'config', base: { model, workload: { kind: 'video', frames: 2 }, chip: 'loihi' }, grid: { 'policy.threshold': [0.07] } },
      { out, workers: 1, svg: null },
    );
    const [run] = await query(out, 'SELECT model, model_hash, chip, config_json FROM runs');
    expect(run!.model).toBe('resnet_block');
    expect(run!.model_hash).toBe(createHash('sha256').update(readFileSync(model)).digest('hex').slice(0, 16));
    const cfg = JSON.parse(String(run!.config_json)) as Record<string, unknown>;
    expect(cfg).toMatchObject({
      sweep_point: 0, label: 'policy.threshold=0.07', params: { 'policy.threshold': 0.07 },
      model, threshold: 0.07, policy: 'threshold', mesh: 'auto', workload: { kind: 'video', frames: 2 }, traceLevel: 'summary',
    });
    expect((cfg.chip as { name: string }).name).toBe('loihi');
  });
});

describe('inputs built once for all workers', () => {
  it('sharedInputsOf gives the workload in shared memory, equal to generating it directly', async () => {
    const { sharedInputsOf } = await import('../../src/sweep/point.js');
    const { expandSweep } = await import('../../src/sweep/spec.js');
    const model = join(FIX, 'resnet_block.onnx'); // input [1, 3, 16, 16]
    const ex = expandSweep({ name: 'shared', base: { model, workload: { kind: 'video', motion: 'major', frames: 4, seed: 5 }, chip: 'loihi' }, grid: { 'policy.threshold': [0.05, 0.1] } }, { baseDir: ROOT, name: 'shared' });
    const a = sharedInputsOf(ex.points[0]!);
    expect(sharedInputsOf(ex.points[1]!).inputs).toBe(a.inputs); // one copy for every point of the workload
    expect(a.inputs.frames.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    const direct = syntheticVideo({ frames: 4, channels: 3, height: 16, width: 16, motion: 'major', seed: 5 });
    expect(a.inputs.frames.shape).toEqual([4, 3, 16, 16]);
    expect(Array.from(a.inputs.frames.data)).toEqual(Array.from(direct.data));
  });
});

describe('a frames file edited between sweeps in one process', () => {
  it('is read again: the second sweep runs the new frames, as a direct simulate() of them does', async () => {
    const model = join(FIX, 'resnet_block.onnx'); // input [1, 3, 16, 16]
    const frames = join(tmp, 'edited-frames.npy');
    const write = (seed: number) => {
      const v = syntheticVideo({ frames: 3, channels: 3, height: 16, width: 16, motion: 'major', seed });
      writeFileSync(frames, encodeNpy(v));
      return v;
    };
    const spec = { name: 'edited-frames', base: { model, frames, chip: 'loihi' }, grid: { 'policy.threshold': [0.05] } };
    write(1);
    const first = await sweep(spec, { out: join(tmp, 'edited-frames-1.sqlite'), workers: 1, svg: null });
    const v2 = write(2);
    const second = await sweep(spec, { out: join(tmp, 'edited-frames-2.sqlite'), workers: 1, svg: null });
    const direct = await simulate({ model, frames: v2, threshold: 0.05, chip: 'loihi', mesh: 'auto', compareDense: true, inProcess: true });
    expect(second.points[0]!.macs).toBe(direct.totals.macs);
    expect(second.points[0]!.rel_rmse).toBe(direct.error_vs_dense!.rel_rmse);
    expect(second.points[0]!.macs).not.toBe(first.points[0]!.macs);
  });
});
