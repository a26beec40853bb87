/**
 * Creating folders. Node's `mkdirSync(dir, { recursive: true })` never returns on some
 * paths (under /proc it retries forever), so folders are made one level at a time from
 * the nearest one that exists, each failure reported with its code.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Creates `dir` and its missing parents. @throws the first mkdir error (an ErrnoException). */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
