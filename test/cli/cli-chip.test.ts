/**
 * Failure handling of a chip run through the CLI (issue acceptance 5): an injected
 * worker fault exits 1 naming the partition within seconds; SIGINT exits 130 keeping
 * the frames done.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryTrace } from '../../src/trace/query.js';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/workloads/npy.js';
import { syntheticVideo } from '../../src/workloads/video.js';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const FIX = join(ROOT, 'test', 'fixtures', 'onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-chip-'));

describe('chip run failures', () => {
  it('an injected worker fault exits 1 within seconds, naming the actor and its partitions', () => {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'run', '--model', join(FIX, 'resnet_block.onnx'), '--frames', join(FIX, 'resnet_block.input.npy'), '--workers', '2'], {
      encoding: 'utf8', env: { ...process.env, EVSIM_INJECT_FAULT: '1:2' }, timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/actor 1 \(cores [\d, ]+; partitions of [^)]*\/Conv[^)]*\) failed at frame 2: injected fault/);
  });

  it('SIGINT stops cleanly with exit 130 and the frames done', async () => {
    // Long enough that no machine finishes first; the signal goes once frames are committed.
    const FRAMES = 400;
    const v = syntheticVideo({ frames: FRAMES, channels: 3, height: 64, width: 64, motion: 'major', seed: 5 });
    const video = join(tmp, 'long.npy');
    const trace = join(tmp, 'sigint.sqlite');
    writeFileSync(video, encodeNpy(v));
    const child = spawn(process.execPath, [CLI, 'run', '--model', join(ROOT, 'sim-configs', 'models', 'video-cnn.onnx'), '--frames', video, '--workers', '2', '--trace', trace, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    const committed = async (): Promise<number> => queryTrace(trace, 'SELECT COUNT(*) AS n FROM frames').then((r) => r[0]!.n as number, () => 0);
    while ((await committed()) < 8) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await closed;
    expect(code).toBe(130);
    const j = JSON.parse(out);
    expect(j.interrupted).toBe(true);
    expect(j.frames).toBeGreaterThanOrEqual(8);
    expect(j.frames).toBeLessThan(FRAMES);
    expect(j.per_frame).toHaveLength(j.frames);
  }, 60_000);
});
