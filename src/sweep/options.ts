/**
 * `sweep()`'s arguments checked before anything is read: plain JavaScript callers (and
 * values computed at run time) get an EvsimError naming the option, exit 2, not a
 * TypeError from deep inside (`Cannot read properties of null`, `keys.map is not a function`).
 */
import { EvsimError, shownValue as shown } from '../errors.js';
import { isAbortSignal } from '../simulate.js';
import type { SweepOptions } from './run.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throws BAD_USAGE naming the first argument or option of the wrong kind. */
export function checkSweepArgs(spec: unknown, opts: unknown): asserts opts is SweepOptions {
  if (typeof spec === 'string' ? spec === '' : !isObject(spec)) {
    throw new EvsimError('BAD_USAGE', `sweep() takes a sweep file path or a spec object { name, base, grid, points }, got ${shown(spec)}`);
  }
  if (!isObject(opts)) throw new EvsimError('BAD_USAGE', `sweep()'s options must be an object { out, workers, pareto, … }, got ${shown(opts)}`);
  const o = opts as { [K in keyof SweepOptions]?: unknown };
  const fail = (option: string, what: string, v: unknown): never => {
    throw new EvsimError('BAD_USAGE', `${option} must be ${what}, got ${shown(v)}`);
  };
  for (const k of ['out', 'name', 'baseDir'] as const) if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k] === '')) fail(k, 'a non-empty string', o[k]);
  if (o.svg != null && (typeof o.svg !== 'string' || o.svg === '')) fail('svg', 'a .svg path, or null for no plot', o.svg);
  if (o.workers !== undefined && !(typeof o.workers === 'number' && Number.isInteger(o.workers) && o.workers >= 1)) fail('workers (--workers)', 'a positive integer', o.workers);
  if (o.pareto !== undefined && !(Array.isArray(o.pareto) && o.pareto.every((k) => typeof k === 'string'))) fail('pareto', "an array of objective names such as ['macs', 'error']", o.pareto);
  if (o.retryFailed !== undefined && typeof o.retryFailed !== 'boolean') fail('retryFailed', 'true or false', o.retryFailed);
  for (const k of ['onStart', 'onProgress'] as const) if (o[k] !== undefined && typeof o[k] !== 'function') fail(k, 'a function', o[k]);
  if (o.signal !== undefined && !isAbortSignal(o.signal)) fail('signal', 'an AbortSignal', o.signal);
}
