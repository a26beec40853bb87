/**
 * Is a trace path writable: checked by the CLI before anything runs and by the sink
 * when it opens.
 */
import { checkWritable } from '../files.js';

/**
 * Fails with exit 2 before anything is simulated when the trace cannot be written.
 * `what` names the file and `elsewhere` says how to choose another (a sweep's file
 * comes from --out, a run's from --trace).
 */
export function checkTracePath(path: string, what = 'trace', elsewhere = 'pass --trace elsewhere (or --no-trace)'): void {
  checkWritable(path, { what, code: 'BAD_TRACE', example: what === 'trace' ? 'trace.sqlite' : 'sweep.sqlite', elsewhere, inPlace: true });
}
