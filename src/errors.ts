/**
 * One error type for everything evsim reports to a user. `code` says which family
 * (bad input → exit 2, run failure → exit 1); the message says what, where and how
 * to fix it, on one line.
 */
export type ErrorCode =
  | 'BAD_USAGE'
  | 'BAD_CONFIG'
  | 'BAD_MODEL'
  | 'UNSUPPORTED_OP'
  | 'BAD_NPY'
  | 'BAD_FRAMES'
  | 'BAD_POLICY'
  | 'BAD_CHIP'
  | 'DOES_NOT_FIT'
  | 'BAD_SQL'
  | 'BAD_TRACE'
  | 'RUN_FAILED';

const BAD_INPUT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BAD_USAGE',
  'BAD_CONFIG',
  'BAD_MODEL',
  'UNSUPPORTED_OP',
  'BAD_NPY',
  'BAD_FRAMES',
  'BAD_POLICY',
  'BAD_CHIP',
  'DOES_NOT_FIT',
  'BAD_SQL',
  'BAD_TRACE',
]);

export class EvsimError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'EvsimError';
    this.code = code;
  }
  /**
   * Process exit code of DESIGN §8: 2 bad input, 1 otherwise. (An interrupted run is no
   * error: it returns what it did, and the CLI exits 130.)
   */
  get exitCode(): number {
    return BAD_INPUT.has(this.code) ? 2 : 1;
  }
}

export function isEvsimError(e: unknown): e is EvsimError {
  return e instanceof EvsimError;
}

/** The longest shownValue() text; longer values end in '…'. */
export const SHOWN_MAX = 80;

/**
 * A wrong value as an error message shows it: strings quoted (so '2' is not taken for
 * 2), numbers as JavaScript prints them (NaN, Infinity, 5n), functions as "a function",
 * binary data by its size ("a Buffer of 1234 bytes"), class instances by their class
 * ("a Promise"), other values as JSON. Never longer than SHOWN_MAX characters (a Buffer
 * passed for a path made a 4.5 MB message) and never throws (a circular object or a
 * nested BigInt made JSON.stringify throw inside the error being built).
 */
export function shownValue(v: unknown): string {
  try {
    let out = '';
    // The walk is lazy: it stops once the text is too long, however large the value.
    for (const piece of pieces(v, [])) {
      out += piece;
      if (out.length > SHOWN_MAX) {
        let end = SHOWN_MAX - 1;
        // Never cut a surrogate pair in two.
        if (/[\uD800-\uDBFF]/.test(out[end - 1]!)) end--;
        return `${out.slice(0, end)}…`;
      }
    }
    return out;
  } catch {
    // A getter or proxy that throws: name the value's kind only.
    return v === null ? 'null' : withArticle(typeof v);
  }
}

/** The text of `v` piece by piece: JSON, with JavaScript's own forms where JSON has none. */
function* pieces(v: unknown, ancestors: object[]): Generator<string> {
  switch (typeof v) {
    case 'string':
      // Longer than the cap anyway: quote only what can be shown.
      yield JSON.stringify(v.length > SHOWN_MAX ? v.slice(0, SHOWN_MAX + 1) : v);
      return;
    case 'number': case 'boolean': case 'undefined': yield String(v); return;
    case 'bigint': yield `${v}n`; return;
    case 'symbol': yield v.toString(); return;
    case 'function': yield 'a function'; return;
  }
  if (v === null) {
    yield 'null';
    return;
  }
  const o = v as object;
  const binary = binaryData(o);
  if (binary !== null) {
    yield binary;
    return;
  }
  if (ancestors.includes(o)) {
    yield '[circular]';
    return;
  }
  if (Array.isArray(o)) {
    yield '[';
    for (let i = 0; i < o.length; i++) {
      if (i > 0) yield ',';
      yield* pieces(o[i], [...ancestors, o]);
    }
    yield ']';
    return;
  }
  // A class instance by its class: JSON would show a Map, an AbortController or an Error
  // as {}, a Date as a string. (Plain objects of another realm have a constructor named
  // Object too, and are shown as JSON.)
  const proto = Object.getPrototypeOf(o) as object | null;
  const name = proto === null ? undefined : (proto.constructor as { name?: unknown } | undefined)?.name;
  if (typeof name === 'string' && name !== '' && name !== 'Object') {
    yield withArticle(name);
    return;
  }
  yield '{';
  let first = true;
  for (const k of Object.keys(o)) {
    if (!first) yield ',';
    first = false;
    yield `${JSON.stringify(k)}:`;
    yield* pieces((o as Record<string, unknown>)[k], [...ancestors, o]);
  }
  yield '}';
}

/** "a Buffer of 3 bytes", "a Float32Array of 10 values"; null for anything else. */
function binaryData(o: object): string | null {
  const count = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (Buffer.isBuffer(o)) return `a Buffer of ${count(o.length, 'byte')}`;
  // The tag names the kind of a typed array whatever its class (also from another realm).
  const tag = Object.prototype.toString.call(o).slice(8, -1);
  if (ArrayBuffer.isView(o)) {
    return tag === 'DataView' ? `a DataView of ${count(o.byteLength, 'byte')}` : `${withArticle(tag)} of ${count((o as Uint8Array).length, 'value')}`;
  }
  const bytes = (o as { byteLength?: unknown }).byteLength;
  if ((tag === 'ArrayBuffer' || tag === 'SharedArrayBuffer') && typeof bytes === 'number') return `${withArticle(tag)} of ${count(bytes, 'byte')}`;
  return null;
}

/** "an Int32Array", "a Uint8Array" (said "you"), "an object". */
/** A name with its article, as messages say it: "an UPDATE", "an object", "a Uint8Array". */
export function withArticle(name: string): string {
  return `${/^(?!ui)[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
}

/** Why a file could not be read, in words ('no such file', not ENOENT); the code or message otherwise. */
export function whyUnreadable(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  // mlp.onnx/x.onnx: a folder of the path is a file.
  if (code === 'ENOTDIR') return 'a part of the path is a file, not a folder';
  if (code === 'ENAMETOOLONG') return 'the path or one of its names is too long';
  if (code === 'ELOOP') return 'the path goes round a loop of symbolic links';
  return code ?? (e as Error).message;
}
