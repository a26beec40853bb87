/**
 * NumPy `.npy` reader/writer (format versions 1.0, 2.0 and 3.0).
 *
 * Frames and labels arrive as `.npy` files written by NumPy, so the reader accepts
 * every plain numeric little-endian dtype NumPy writes and rejects anything it cannot
 * represent faithfully (big-endian, Fortran order, complex, structured, object) with
 * a one-line BAD_NPY error that says how to re-save the file.
 */
import { lstatSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EvsimError, shownValue, whyUnreadable } from '../errors.js';

/** Element type of an `.npy` array, named after the NumPy dtype. */
export type NpyDtype =
  | 'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16'
  | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';

/** Typed array holding an `.npy` payload (bool is stored as 0/1 in a Uint8Array). */
export type NpyData =
  | Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array | Int16Array
  | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A parsed `.npy` array: C-order data, `data.length` = product of `shape`. */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

/** What {@link encodeNpy} / {@link writeNpy} accept. */
export interface NpyWritable {
  shape: number[];
  data: Float32Array | Int32Array | Float64Array | Uint8Array;
}

type Kind = { dtype: NpyDtype; size: number; ctor: new (length: number) => NpyData };
// Keyed by the descr without its byte-order character, e.g. 'f4' from '<f4'.
const KINDS = new Map<string, Kind>(
  ([
    ['f4', 'float32', 4, Float32Array], ['f8', 'float64', 8, Float64Array],
    ['i1', 'int8', 1, Int8Array], ['u1', 'uint8', 1, Uint8Array], ['b1', 'bool', 1, Uint8Array],
    ['i2', 'int16', 2, Int16Array], ['u2', 'uint16', 2, Uint16Array],
    ['i4', 'int32', 4, Int32Array], ['u4', 'uint32', 4, Uint32Array],
    ['i8', 'int64', 8, BigInt64Array], ['u8', 'uint64', 8, BigUint64Array],
  ] as const).map(([k, dtype, size, ctor]) => [k, { dtype, size, ctor }]),
);

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGN = 64; // NumPy >= 1.14 aligns the data start to 64 bytes.
// Typed arrays use platform byte order and we copy little-endian bytes into them verbatim
// (and read '=' descrs as little-endian): this assumes a little-endian host, which every
// platform Node ships for in practice is.

function bad(name: string, msg: string): EvsimError {
  return new EvsimError('BAD_NPY', `${name}: ${msg}`.replace(/[\r\n]+/g, ' '));
}

/** Python repr of a shape tuple: `()`, `(5,)`, `(2, 3)`. */
function fmtShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

type PyVal = string | number | boolean | null | PyVal[];
type Field = { value: PyVal; raw: string };

/**
 * Parses the header's Python dict literal without eval: strings, ints, True/False/None,
 * tuples and lists (lists appear in structured descrs, which we only need to name).
 * Returns each value with its raw source text so errors can quote it exactly.
 */
function parseHeaderDict(src: string, name: string): Map<string, Field> {
  let pos = 0;
  function fail(what: string): never {
    throw bad(name, `malformed header (${what} at character ${pos}); re-save the array with np.save`);
  }
  const ws = (): void => {
    while (pos < src.length && ' \t\r\n'.includes(src[pos]!)) pos++;
  };
  const expect = (ch: string): void => {
    ws();
    if (src[pos] !== ch) fail(`expected '${ch}'`);
    pos++;
  };
  const value = (): PyVal => {
    ws();
    const c = src[pos];
    if (c === "'" || c === '"') {
      let out = '';
      for (pos++; pos < src.length && src[pos] !== c; pos++) {
        if (src[pos] === '\\') pos++;
        out += src[pos] ?? '';
      }
      if (pos >= src.length) fail('unterminated string');
      pos++;
      return out;
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      const items: PyVal[] = [];
      pos++;
      for (;;) {
        ws();
        if (src[pos] === close) return pos++, items;
        items.push(value());
        ws();
        if (src[pos] === ',') pos++;
        else if (src[pos] !== close) fail(`expected ',' or '${close}'`);
      }
    }
    const tok = /-?\d+L?|True|False|None/y; // 'L': Python 2 longs in old files
    tok.lastIndex = pos;
    const m = tok.exec(src);
    if (!m) fail('unexpected token');
    pos += m[0].length;
    if (m[0] === 'True' || m[0] === 'False') return m[0] === 'True';
    return m[0] === 'None' ? null : Number.parseInt(m[0], 10);
  };
  const fields = new Map<string, Field>();
  expect('{');
  for (;;) {
    ws();
    if (src[pos] === '}') break;
    const key = value();
    if (typeof key !== 'string') fail('dict key is not a string');
    expect(':');
    ws();
    const start = pos;
    fields.set(key, { value: value(), raw: src.slice(start, pos) });
    ws();
    if (src[pos] === ',') pos++;
    else if (src[pos] !== '}') fail("expected ',' or '}'");
  }
  pos++;
  ws();
  if (pos !== src.length) fail('unexpected text after the dict');
  return fields;
}

function resolveKind(field: Field, name: string): Kind {
  const m = typeof field.value === 'string' ? /^([<>=|])([a-z]\d+)$/.exec(field.value) : null;
  const kind = m ? KINDS.get(m[2]!) : undefined;
  if (m && kind) {
    // Byte order is irrelevant for 1-byte types; '|' on a wider type is ill-formed.
    if (kind.size === 1 || m[1] === '<' || m[1] === '=') return kind;
    if (m[1] === '>') {
      throw bad(name, `dtype '${m[0]}' is big-endian; save the array little-endian, e.g. arr.astype('<${m[2]}')`);
    }
  }
  const shown = field.raw.length > 80 ? `${field.raw.slice(0, 77)}...` : field.raw;
  throw bad(name, `dtype ${shown} is not supported; save a plain numeric array (float32/float64, int8..int64, uint8..uint64 or bool)`);
}

/**
 * Parses the bytes of an `.npy` file. `name` is used only in error messages.
 * The payload is copied into a fresh (hence aligned) typed array, so `buf` may start
 * at any offset and may be reused afterwards.
 * @throws EvsimError BAD_NPY on any malformed or unsupported input.
 */
export function parseNpy(buf: Uint8Array, name = 'array.npy'): NpyArray {
  if (buf.length < 10 || !MAGIC.every((b, i) => buf[i] === b)) {
    throw bad(name, 'not a .npy file (missing \\x93NUMPY magic); save the array with np.save');
  }
  const major = buf[6]!;
  if (major < 1 || major > 3) {
    throw bad(name, `unsupported .npy format version ${major}.${buf[7]}; re-save the array with np.save`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hstart = major === 1 ? 10 : 12;
  if (buf.length < hstart) throw bad(name, 'file ends inside the preamble; the file is incomplete, re-save it');
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const dataStart = hstart + hlen;
  if (dataStart > buf.length) {
    throw bad(name, `header is truncated (declares ${hlen} bytes, ${buf.length - hstart} present); the file is incomplete, re-save it`);
  }
  // v1/v2 headers are latin1, v3 headers are utf8 (per the NEP 1 format spec).
  const header = Buffer.from(buf.buffer, buf.byteOffset + hstart, hlen).toString(major === 3 ? 'utf8' : 'latin1');
  const fields = parseHeaderDict(header, name);
  const descr = fields.get('descr');
  const fortran = fields.get('fortran_order');
  const shapeF = fields.get('shape');
  if (!descr || !fortran || !shapeF) {
    throw bad(name, "header lacks one of 'descr', 'fortran_order', 'shape'; re-save the array with np.save");
  }
  const kind = resolveKind(descr, name);
  if (typeof fortran.value !== 'boolean') throw bad(name, `fortran_order is ${fortran.raw}, expected True or False; re-save with np.save`);
  if (fortran.value) {
    throw bad(name, 'array is stored in Fortran order; save it C-contiguous with np.save(path, np.ascontiguousarray(arr))');
  }
  const sv = shapeF.value;
  if (!Array.isArray(sv) || !sv.every((d): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw bad(name, `shape ${shapeF.raw} is not a tuple of non-negative integers; re-save the array with np.save`);
  }
  const shape = sv.slice();
  const count = shape.reduce((a, d) => a * d, 1);
  const need = count * kind.size;
  if (!Number.isSafeInteger(need)) throw bad(name, `shape ${fmtShape(shape)} is too large`);
  const have = buf.length - dataStart;
  const what = `shape ${fmtShape(shape)} of ${kind.dtype} needs ${need} data bytes`;
  if (have < need) throw bad(name, `data is truncated: ${what} but the file has ${have}; the file is incomplete, re-save it`);
  if (have > need) {
    throw bad(name, `${have - need} unexpected trailing bytes: ${what} but the file has ${have}; save exactly one array per file with np.save`);
  }
  const data = new kind.ctor(count);
  new Uint8Array(data.buffer).set(buf.subarray(dataStart));
  return { dtype: kind.dtype, shape, data };
}

/** Reads and parses an `.npy` file. @throws EvsimError BAD_NPY (also if unreadable). */
export function readNpy(path: string): NpyArray {
  // A number would be read as an open file descriptor (fs takes both).
  if (typeof path !== 'string' || path === '') throw new EvsimError('BAD_USAGE', `readNpy() takes the path of an .npy file, got ${shownValue(path)}`);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new EvsimError('BAD_NPY', `cannot read ${path}: ${whyUnreadable(e)}; check the path`);
  }
  return parseNpy(buf, path);
}

/**
 * Reads an `.npy` that must be float32 (DESIGN: frames are float32 .npy).
 * `what` names the array in the error message.
 */
export function readFloat32Npy(path: string, what = 'frames'): { shape: number[]; data: Float32Array } {
  let a: ReturnType<typeof readNpy>;
  try {
    a = readNpy(path);
  } catch (e) {
    // An unsupported dtype (float16, complex, …): say what this file must hold.
    if ((e as Error).message.includes('is not supported')) throw bad(path, `${what} must be float32 but ${(e as Error).message.replace(/^.*?dtype (.+?) is not supported.*$/s, 'dtype is $1')}; save the array as float32 (arr.astype(np.float32))`);
    throw e;
  }
  if (a.dtype !== 'float32') {
    throw bad(path, `${what} must be float32 but dtype is ${a.dtype}; save the array as float32 (arr.astype(np.float32))`);
  }
  return { shape: a.shape, data: a.data as Float32Array };
}

/**
 * Reads per-timestep labels: any integer dtype, shape (T,) or (T, 1), values in int32.
 * @throws EvsimError BAD_NPY otherwise.
 */
export function readLabelsNpy(path: string): Int32Array {
  const a = readNpy(path);
  if (a.dtype === 'bool' || a.dtype === 'float32' || a.dtype === 'float64') {
    throw bad(path, `labels must be integers but dtype is ${a.dtype}; save them with labels.astype(np.int32)`);
  }
  if (!(a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1))) {
    throw bad(path, `labels must have shape (T,) or (T, 1) but shape is ${fmtShape(a.shape)}; save them with labels.reshape(-1)`);
  }
  const out = new Int32Array(a.data.length);
  for (let i = 0; i < a.data.length; i++) {
    const v = a.data[i]!; // number, or bigint for int64/uint64
    if (v < -2147483648 || v > 2147483647) {
      throw bad(path, `label ${v} at index ${i} does not fit in int32; labels must be class ids, save them with labels.astype(np.int32)`);
    }
    out[i] = Number(v);
  }
  return out;
}

/**
 * Encodes an array as `.npy` bytes: version 1.0 header (2.0 only if the header would
 * exceed 65535 bytes, as NumPy does), padded so the data starts on a 64-byte boundary.
 * @throws EvsimError BAD_USAGE if `data.length` is not the product of `shape`.
 */
export function encodeNpy(arr: NpyWritable): Uint8Array {
  const { shape, data } = arr;
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Int32Array ? '<i4'
    : data instanceof Float64Array ? '<f8' : data instanceof Uint8Array ? '|u1' : undefined;
  if (!descr) throw new EvsimError('BAD_USAGE', 'encodeNpy: data must be a Float32Array, Int32Array, Float64Array or Uint8Array');
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new EvsimError('BAD_USAGE', `encodeNpy: shape [${shape.join(', ')}] must hold non-negative integers`);
  }
  const count = shape.reduce((a, d) => a * d, 1);
  if (data.length !== count) {
    throw new EvsimError('BAD_USAGE', `encodeNpy: data has ${data.length} elements but shape ${fmtShape(shape)} needs ${count}`);
  }
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${fmtShape(shape)}, }`;
  // Header = dict + spaces + '\n', sized so preamble + header is a multiple of ALIGN.
  const headerLen = (pre: number): number => Math.ceil((pre + dict.length + 1) / ALIGN) * ALIGN - pre;
  const preamble = headerLen(10) > 0xffff ? 12 : 10;
  const padded = headerLen(preamble);
  const out = new Uint8Array(preamble + padded + data.byteLength);
  out.set(MAGIC);
  out[6] = preamble === 10 ? 1 : 2;
  const dv = new DataView(out.buffer);
  if (preamble === 10) dv.setUint16(8, padded, true);
  else dv.setUint32(8, padded, true);
  out.set(Buffer.from(dict.padEnd(padded - 1, ' ') + '\n', 'latin1'), preamble);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), preamble + padded);
  return out;
}

/**
 * Writes `arr` to `path` atomically: a temp file in the same directory is renamed over
 * `path`, so readers never see a half-written array.
 */
export function writeNpy(to: string, arr: NpyWritable): void {
  const bytes = encodeNpy(arr);
  // Through a symbolic link, to the file it names (the rename would replace the link).
  const path = linkTarget(to);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new EvsimError('RUN_FAILED', `cannot write ${to}: ${why}; check that the directory exists and is writable`);
  }
}

/** The file a path names after following symbolic links (a dangling link: the file it would create). */
function linkTarget(path: string, depth = 0): string {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return path;
  }
  if (!st.isSymbolicLink() || depth > 32) return path;
  return linkTarget(resolve(dirname(path), readlinkSync(path)), depth + 1);
}
