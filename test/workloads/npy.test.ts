import { afterAll, describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EvsimError } from '../../src/errors.js';
import {
  encodeNpy,
  parseNpy,
  readFloat32Npy,
  readLabelsNpy,
  readNpy,
  writeNpy,
} from '../../src/workloads/npy.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/npy/', import.meta.url));

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'evsim-npy-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

// ---- hand-built .npy bytes, independent of encodeNpy --------------------------------

/** Builds a .npy file: magic, version, LE header length, padded header, raw data. */
function npy(dict: string, data: Uint8Array, opts: { major?: number; align?: number } = {}): Uint8Array {
  const major = opts.major ?? 1;
  const align = opts.align ?? 64;
  const pre = major === 1 ? 10 : 12;
  let header = dict;
  while ((pre + header.length + 1) % align !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(pre + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(data, pre + header.length);
  return out;
}

function f32le(vals: number[]): Uint8Array {
  const b = new Uint8Array(vals.length * 4);
  const dv = new DataView(b.buffer);
  vals.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  return b;
}

function i64le(vals: bigint[]): Uint8Array {
  const b = new Uint8Array(vals.length * 8);
  const dv = new DataView(b.buffer);
  vals.forEach((v, i) => dv.setBigInt64(i * 8, v, true));
  return b;
}

function i32le(vals: number[]): Uint8Array {
  const b = new Uint8Array(vals.length * 4);
  const dv = new DataView(b.buffer);
  vals.forEach((v, i) => dv.setInt32(i * 4, v, true));
  return b;
}

const hdr = (descr: string, shape: string, fortran = 'False'): string =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

function tmpFile(name: string, bytes: Uint8Array): string {
  const dir = tmpDir();
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** Asserts `fn` throws an EvsimError with `code` whose message matches `re`. */
function expectError(fn: () => unknown, re: RegExp, code = 'BAD_NPY'): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(EvsimError);
  expect((err as EvsimError).code).toBe(code);
  expect((err as EvsimError).message).toMatch(re);
  expect((err as EvsimError).message).not.toMatch(/\n/);
}

// ---- tests ---------------------------------------------------------------------------

describe('parseNpy on hand-built files', () => {
  it('reads a v1 float32 array of shape (2, 3, 4)', () => {
    const vals = Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
    const a = parseNpy(npy(hdr('<f4', '(2, 3, 4)'), f32le(vals)));
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual([2, 3, 4]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(Array.from(a.data as Float32Array)).toEqual(vals);
  });

  it('reads a v2 int64 array of shape (5,)', () => {
    const vals = [0n, -1n, 2n ** 40n, -(2n ** 62n), 7n];
    const a = parseNpy(npy(hdr('<i8', '(5,)'), i64le(vals), { major: 2 }));
    expect(a.dtype).toBe('int64');
    expect(a.shape).toEqual([5]);
    expect(a.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(a.data as BigInt64Array)).toEqual(vals);
  });

  it('reads a v3 uint8 scalar of shape ()', () => {
    const a = parseNpy(npy(hdr('|u1', '()'), new Uint8Array([200]), { major: 3 }));
    expect(a.dtype).toBe('uint8');
    expect(a.shape).toEqual([]);
    expect(Array.from(a.data as Uint8Array)).toEqual([200]);
  });

  it('tolerates 16-byte alignment, odd spacing, key order and "=" byte order', () => {
    const dict = "{ 'shape' :(2,3 ) ,'fortran_order':False,\"descr\":'=f4'}";
    const a = parseNpy(npy(dict, f32le([1, 2, 3, 4, 5, 6]), { align: 16 }));
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads bool and zero-size arrays', () => {
    const b = parseNpy(npy(hdr('|b1', '(3,)'), new Uint8Array([1, 0, 1])));
    expect(b.dtype).toBe('bool');
    expect(Array.from(b.data as Uint8Array)).toEqual([1, 0, 1]);
    const z = parseNpy(npy(hdr('<f4', '(0, 3)'), new Uint8Array(0)));
    expect(z.shape).toEqual([0, 3]);
    expect(z.data.length).toBe(0);
  });

  it('copies data from an unaligned source offset', () => {
    const file = npy(hdr('<f4', '(3,)'), f32le([1.5, -2.25, 3]));
    const backing = new Uint8Array(file.length + 1);
    backing.set(file, 1);
    const a = parseNpy(backing.subarray(1));
    expect(Array.from(a.data as Float32Array)).toEqual([1.5, -2.25, 3]);
  });
});

describe('reference files written by NumPy', () => {
  it('ref_f4_2x3.npy = np.arange(6, dtype=np.float32).reshape(2,3)/4', () => {
    const a = readNpy(join(FIXTURES, 'ref_f4_2x3.npy'));
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data as Float32Array)).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    const f = readFloat32Npy(join(FIXTURES, 'ref_f4_2x3.npy'));
    expect(f.shape).toEqual([2, 3]);
    expect(f.data).toBeInstanceOf(Float32Array);
  });

  it('ref_i8.npy = np.array([3, -1, 7], dtype=np.int64)', () => {
    const a = readNpy(join(FIXTURES, 'ref_i8.npy'));
    expect(a.dtype).toBe('int64');
    expect(a.shape).toEqual([3]);
    expect(Array.from(a.data as BigInt64Array)).toEqual([3n, -1n, 7n]);
    expect(Array.from(readLabelsNpy(join(FIXTURES, 'ref_i8.npy')))).toEqual([3, -1, 7]);
  });
});

describe('encodeNpy / writeNpy', () => {
  it('round-trips every writable dtype and shape', () => {
    const cases = [
      { shape: [2, 3], data: new Float32Array([0, 1.5, -2, 3, 4e-8, 5]) },
      { shape: [4], data: new Int32Array([-2147483648, -1, 0, 2147483647]) },
      { shape: [], data: new Float64Array([Math.PI]) },
      { shape: [1, 2, 2], data: new Uint8Array([0, 1, 254, 255]) },
      { shape: [0], data: new Float32Array(0) },
    ];
    for (const c of cases) {
      const a = parseNpy(encodeNpy(c));
      expect(a.shape).toEqual(c.shape);
      expect(a.data.constructor).toBe(c.data.constructor);
      expect(Array.from(a.data as Float32Array)).toEqual(Array.from(c.data));
    }
  });

  it('writes a v1.0 header whose total length is a multiple of 64', () => {
    for (const shape of [[], [7], [2, 3], [10, 20, 30, 40, 50]]) {
      const n = shape.reduce((a, d) => a * d, 1);
      const bytes = encodeNpy({ shape, data: new Float32Array(n) });
      expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
      const hlen = new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true);
      expect((10 + hlen) % 64).toBe(0);
      expect(bytes[10 + hlen - 1]).toBe(0x0a); // header ends with '\n'
      expect(bytes.length).toBe(10 + hlen + n * 4);
    }
  });

  it('rejects data whose length does not match the shape with BAD_USAGE', () => {
    expectError(() => encodeNpy({ shape: [2, 3], data: new Float32Array(5) }), /5 elements.*\(2, 3\).*6/, 'BAD_USAGE');
  });

  it('writes atomically and leaves no temp file behind', () => {
    const dir = tmpDir();
    const p = join(dir, 'out.npy');
    writeNpy(p, { shape: [3], data: new Int32Array([4, 5, 6]) });
    expect(readdirSync(dir)).toEqual(['out.npy']);
    expect(Array.from(readLabelsNpy(p))).toEqual([4, 5, 6]);
    expect(readFileSync(p)[6]).toBe(1);
  });
});

describe('errors (BAD_NPY)', () => {
  const good = (): Uint8Array => npy(hdr('<f4', '(2, 3)'), f32le([1, 2, 3, 4, 5, 6]));

  it('bad magic', () => {
    const b = good();
    b[1] = 0x58;
    expectError(() => parseNpy(b, 'frames.npy'), /^frames\.npy: not a \.npy file/);
    expectError(() => parseNpy(new Uint8Array([1, 2, 3])), /not a \.npy file/);
  });

  it('truncated data states expected vs actual bytes', () => {
    const b = good();
    expectError(() => parseNpy(b.subarray(0, b.length - 4), 'x.npy'), /^x\.npy: data is truncated.*needs 24 data bytes but the file has 20/);
  });

  it('truncated header', () => {
    expectError(() => parseNpy(good().subarray(0, 40)), /header is truncated/);
  });

  it('extra trailing bytes', () => {
    const b = good();
    const longer = new Uint8Array(b.length + 3);
    longer.set(b);
    expectError(() => parseNpy(longer), /3 unexpected trailing bytes.*needs 24 .*has 27/);
  });

  it('big-endian dtype', () => {
    expectError(() => parseNpy(npy(hdr('>f4', '(2,)'), new Uint8Array(8))), /dtype '>f4' is big-endian; save the array little-endian.*'<f4'/);
  });

  it('fortran order', () => {
    expectError(() => parseNpy(npy(hdr('<f4', '(2, 3)', 'True'), f32le([1, 2, 3, 4, 5, 6]))), /Fortran order.*np\.ascontiguousarray/);
  });

  it('unsupported dtypes are named', () => {
    expectError(() => parseNpy(npy(hdr('<c8', '(1,)'), new Uint8Array(8))), /dtype '<c8' is not supported/);
    expectError(() => parseNpy(npy(hdr('|O', '(1,)'), new Uint8Array(8))), /dtype '\|O' is not supported/);
    const structured = "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }";
    expectError(() => parseNpy(npy(structured, new Uint8Array(8))), /dtype \[\('a', '<f4'\), \('b', '<i4'\)\] is not supported/);
  });

  it('malformed header and missing keys', () => {
    expectError(() => parseNpy(npy("{'descr': '<f4', 'shape': (2,3)", new Uint8Array(0))), /malformed header/);
    expectError(() => parseNpy(npy("{'descr': '<f4', 'shape': (1,)}", new Uint8Array(4))), /lacks one of/);
    expectError(() => parseNpy(npy(hdr('<f4', '(2, -1)'), new Uint8Array(0))), /shape \(2, -1\) is not a tuple of non-negative integers/);
  });

  it('unsupported format version', () => {
    const b = good();
    b[6] = 4;
    expectError(() => parseNpy(b), /unsupported \.npy format version 4\.0/);
  });

  it("the file's bytes passed for its path are named by their size (was: every byte in the message, 21 MB for a large array)", () => {
    const bytes = readFileSync(join(FIXTURES, 'ref_f4_2x3.npy'));
    expectError(() => readNpy(bytes as never), new RegExp(`^readNpy\\(\\) takes the path of an \\.npy file, got a Buffer of ${bytes.length} bytes$`), 'BAD_USAGE');
  });

  it('missing file', () => {
    const p = join(tmpdir(), 'evsim-definitely-missing.npy');
    expectError(() => readNpy(p), /^cannot read .*evsim-definitely-missing\.npy: no such file/);
  });

  it('readFloat32Npy rejects other dtypes, naming dtype and fix', () => {
    const p = tmpFile('frames.npy', npy(hdr('<f8', '(1,)'), new Uint8Array(8)));
    expectError(() => readFloat32Npy(p), /frames\.npy: frames must be float32 but dtype is float64; .*astype\(np\.float32\)/);
    // A structured dtype (its descr holds spaces) is named once, with one piece of advice.
    const st = tmpFile('rec.npy', npy(`{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }`, new Uint8Array(12)));
    expectError(() => readFloat32Npy(st), /^[^:]*rec\.npy: frames must be float32 but dtype is \[\('a', '<f4'\)\]; save the array as float32 \(arr\.astype\(np\.float32\)\)$/);
  });

  it('readLabelsNpy rejects non-integer labels, bad shapes and out-of-range values', () => {
    const f = tmpFile('labels.npy', npy(hdr('<f4', '(2,)'), f32le([0, 1])));
    expectError(() => readLabelsNpy(f), /labels\.npy: labels must be integers but dtype is float32/);
    const b = tmpFile('labels.npy', npy(hdr('|b1', '(2,)'), new Uint8Array([0, 1])));
    expectError(() => readLabelsNpy(b), /labels must be integers but dtype is bool/);
    const s = tmpFile('labels.npy', npy(hdr('<i4', '(2, 2)'), i32le([0, 1, 2, 3])));
    expectError(() => readLabelsNpy(s), /shape \(T,\) or \(T, 1\) but shape is \(2, 2\)/);
    const big = tmpFile('labels.npy', npy(hdr('<i8', '(2,)'), i64le([1n, 2n ** 31n])));
    expectError(() => readLabelsNpy(big), /label 2147483648 at index 1 does not fit in int32/);
  });

  it('readLabelsNpy accepts (T, 1) and small integer dtypes', () => {
    const col = tmpFile('labels.npy', npy(hdr('<i4', '(3, 1)'), i32le([5, -6, 7])));
    expect(Array.from(readLabelsNpy(col))).toEqual([5, -6, 7]);
    const u1 = tmpFile('labels.npy', npy(hdr('|u1', '(2,)'), new Uint8Array([9, 255])));
    expect(Array.from(readLabelsNpy(u1))).toEqual([9, 255]);
  });
});
