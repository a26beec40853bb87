/**
 * Is a trace path writable: checked by the CLI before anything runs and by the sink
 * when it opens.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { EvsimError } from '../errors.js';

/**
 * Fails with exit 2 before anything is simulated when the trace cannot be written.
 * `what` names the file and `elsewhere` says how to choose another (a sweep's file
 * comes from --out, a run's from --trace).
 */
export function checkTracePath(path: string, what = 'trace', elsewhere = 'pass --trace elsewhere (or --no-trace)'): void {
  const abs = resolve(path);
  const dir = dirname(abs);
  if (!existsSync(dir)) throw new EvsimError('BAD_TRACE', `${what} ${path}: folder ${dir} does not exist; create it or ${elsewhere}`);
  if (!statSync(dir).isDirectory()) throw new EvsimError('BAD_TRACE', `${what} ${path}: ${dir} is a file, not a folder; ${elsewhere}`);
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new EvsimError('BAD_TRACE', `${what} ${path} is a folder; give a file name such as ${join(path, what === 'trace' ? 'trace.sqlite' : 'sweep.sqlite')}, or ${elsewhere}`);
  try {
    accessSync(existsSync(abs) ? abs : dir, constants.W_OK);
  } catch {
    throw new EvsimError('BAD_TRACE', `${what} ${path}: not writable; ${elsewhere}`);
  }
}
