/**
 * Is a trace path writable: checked by the CLI before anything runs and by the sink
 * when it opens.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EvsimError } from '../errors.js';

/** Fails with exit 2 before anything is simulated when the trace cannot be written. */
export function checkTracePath(path: string): void {
  const abs = resolve(path);
  const dir = dirname(abs);
  if (!existsSync(dir)) throw new EvsimError('BAD_TRACE', `trace ${path}: folder ${dir} does not exist; create it or pass --trace elsewhere (or --no-trace)`);
  try {
    accessSync(existsSync(abs) ? abs : dir, constants.W_OK);
  } catch {
    throw new EvsimError('BAD_TRACE', `trace ${path}: not writable; pass --trace elsewhere (or --no-trace)`);
  }
}
