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
  | 'RUN_FAILED'
  | 'INTERRUPTED';

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
  /** Process exit code of DESIGN §8: 2 bad input, 130 interrupted, 1 otherwise. */
  get exitCode(): number {
    if (BAD_INPUT.has(this.code)) return 2;
    if (this.code === 'INTERRUPTED') return 130;
    return 1;
  }
}

export function isEvsimError(e: unknown): e is EvsimError {
  return e instanceof EvsimError;
}
