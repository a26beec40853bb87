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

/**
 * A wrong value as an error message shows it: strings quoted (so '2' is not taken for
 * 2), numbers as JavaScript prints them (NaN, Infinity), other values as JSON, else by
 * their type (a function, undefined).
 */
export function shownValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return (typeof v === 'function' ? undefined : JSON.stringify(v)) ?? typeof v;
}

/** Why a file could not be read, in words ('no such file', not ENOENT); the code or message otherwise. */
export function whyUnreadable(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? (e as Error).message;
}
