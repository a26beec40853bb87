/**
 * Points run in the file's order: the grid's product first, then `points:` in turn. With
 * one worker each point starts only after the one before it finished, so the order of
 * their runs in the file is the order of the points (an interrupted sweep leaves a
 * prefix done, not gaps).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweep } from '../../src/sweep/run.js';
import { writeNpy } from '../../src/workloads/npy.js';
import { ROOT } from '../helpers/cli.js';
import { query } from '../helpers/sqlite.js';

const GEMM = join(ROOT, 'test', 'fixtures', 'onnx', 'gemm_trans.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-sweep-order-'));
const frames = join(tmp, 'frames.npy');
writeNpy(frames, { shape: [3, 6], data: new Float32Array(18).map((_, i) => i / 7) });

describe('run order', () => {
  it('with one worker, points run in file order: grid first, then points: (runs and progress in point order)', async () => {
    const out = join(tmp, 'order.sqlite');
    const started: number[] = [];
    const r = await sweep(
      {
        name: 'order',
        base: { model: GEMM, frames, chip: 'loihi' },
        grid: { 'policy.threshold': [0.01, 0.02, 0.03, 0.04] },
        points: [{ 'policy.threshold': 0.05 }, { 'policy.threshold': 0.06 }, { 'policy.threshold': 0.07 }, { 'policy.threshold': 0.08 }],
      },
      { out, workers: 1, svg: null, onProgress: (p) => started.push(p.point.index) },
    );
    expect(r.ran).toBe(8);
    // Eight distinct points, numbered 0..7 in the file: each reported and stored in that order.
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const rows = await query(out, 'SELECT idx FROM sweep_points ORDER BY run_id');
    expect(rows.map((x) => x.idx)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
