/**
 * How error messages show what they were given (shownValue): as given, short, and
 * without ever throwing inside the error being built; and why a file could not be read
 * (whyUnreadable), in words rather than an errno code.
 */
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHOWN_MAX, shownValue, whyUnreadable } from '../src/errors.js';

describe('shownValue', () => {
  it.each<[unknown, string]>([
    // A string is quoted, so '2' does not read as the number 2 the message refuses.
    ['2', '"2"'],
    ['', '""'],
    [2, '2'],
    [Number.NaN, 'NaN'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
    // A BigInt is not the number it prints as: 5n, not 5.
    [5n, '5n'],
    [null, 'null'],
    [undefined, 'undefined'],
    [true, 'true'],
    [{ a: 1, b: [2, 'x'] }, '{"a":1,"b":[2,"x"]}'],
    [{}, '{}'],
  ])('%o is shown as %s', (v, shown) => {
    expect(shownValue(v)).toBe(shown);
  });

  it('functions, and class instances JSON shows as {} or a string, are named', () => {
    expect(shownValue(() => 1)).toBe('a function');
    expect(shownValue(new Map([[1, 2]]))).toBe('a Map');
    expect(shownValue(new AbortController())).toBe('an AbortController');
    expect(shownValue(new Date(0))).toBe('a Date');
    expect(shownValue(Promise.resolve(1))).toBe('a Promise');
    expect(shownValue({ onFrame: () => 1 })).toBe('{"onFrame":a function}');
  });

  it('binary data is shown by its size, not its contents (a Buffer passed as a path made a 4.5 MB message)', () => {
    expect(shownValue(Buffer.alloc(4_500_000))).toBe('a Buffer of 4500000 bytes');
    expect(shownValue(new Float32Array(10))).toBe('a Float32Array of 10 values');
    expect(shownValue(new Int32Array(1))).toBe('an Int32Array of 1 value');
    expect(shownValue(new Uint8Array(2))).toBe('a Uint8Array of 2 values');
    expect(shownValue(new ArrayBuffer(8))).toBe('an ArrayBuffer of 8 bytes');
    expect(shownValue(new DataView(new ArrayBuffer(3)))).toBe('a DataView of 3 bytes');
    expect(shownValue({ model: Buffer.alloc(3) })).toBe('{"model":a Buffer of 3 bytes}');
  });

  it(`long values are cut at ${SHOWN_MAX} characters with '…'`, () => {
    const s = shownValue('x'.repeat(1000));
    expect(s).toHaveLength(SHOWN_MAX);
    expect(s).toMatch(/^"x+…$/);
    const a = shownValue(Array(10_000_000).fill(1));
    expect(a).toHaveLength(SHOWN_MAX);
    expect(a).toMatch(/^\[1,1,.*…$/);
    // A cut never splits a character outside the BMP into half a surrogate pair.
    expect(shownValue('😀'.repeat(100))).toMatch(/^"(😀)+…$/u);
  });

  it('never throws: a circular object, a BigInt inside an object, a throwing getter or proxy', () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    // Was: TypeError: Converting circular structure to JSON.
    expect(shownValue(loop)).toBe('{"a":1,"self":[circular]}');
    expect(shownValue([loop])).toBe('[{"a":1,"self":[circular]}]');
    // Was: TypeError: Do not know how to serialize a BigInt.
    expect(shownValue({ n: 5n })).toBe('{"n":5n}');
    const getter = { get x(): number { throw new Error('no'); } };
    expect(shownValue(getter)).toBe('an object');
    expect(shownValue(new Proxy({}, { ownKeys: () => { throw new Error('no'); } }))).toBe('an object');
  });
});

describe('whyUnreadable', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'evsim-errors-'));
  const file = join(tmp, 'model.onnx');
  writeFileSync(file, 'x');
  symlinkSync(join(tmp, 'loop'), join(tmp, 'loop'));
  /** Why reading `path` fails, as a message says it. */
  const why = (path: string): string => {
    try {
      readFileSync(path);
    } catch (e) {
      return whyUnreadable(e);
    }
    throw new Error(`${path} was read`);
  };

  it.each([
    ['a missing file', join(tmp, 'nope.onnx'), /^no such file$/],
    ['a folder', tmp, /^it is a folder$/],
    // Was the bare code: "cannot read model mlp.onnx/x.onnx: ENOTDIR; check the path".
    ['a file used as a folder', join(file, 'x.onnx'), /^a part of the path is a file, not a folder$/],
    ['a name longer than the file system takes', join(tmp, 'x'.repeat(300)), /^the path or one of its names is too long$/],
    ['a symbolic link to itself', join(tmp, 'loop'), /^the path goes round a loop of symbolic links$/],
  ])('%s is said in words', (_what, path, re) => {
    expect(why(path)).toMatch(re);
  });

  it('another error is said by its code, else its message', () => {
    expect(whyUnreadable(Object.assign(new Error('x'), { code: 'EIO' }))).toBe('EIO');
    expect(whyUnreadable(new Error('disk on fire'))).toBe('disk on fire');
  });
});
