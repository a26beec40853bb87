/**
 * Files a command writes: folders made safely, and outputs checked against inputs.
 *
 * Creating folders: Node's `mkdirSync(dir, { recursive: true })` never returns on some
 * paths (under /proc it retries forever), so folders are made one level at a time from
 * the nearest one that exists, each failure reported with its code.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { EvsimError } from './errors.js';
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

type Named = readonly [flag: string, path: string | null | undefined];

/** True when two paths name one file (the same path, or the same inode through a link). */
function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Exits 2 when an output would overwrite an input of the command (or another output):
 * `evsim run --outputs model.onnx` would otherwise replace the model with an array.
 */
export function refuseOverwrite(outputs: readonly Named[], inputs: readonly Named[]): void {
  const outs = outputs.filter((o): o is readonly [string, string] => !!o[1]);
  const ins = inputs.filter((i): i is readonly [string, string] => !!i[1]);
  outs.forEach(([flag, path], k) => {
    for (const [inFlag, inPath] of [...ins, ...outs.slice(0, k)]) {
      if (sameFile(path, inPath)) throw new EvsimError('BAD_USAGE', `${flag} ${path} is also the ${inFlag}; writing it would overwrite that file: choose another path`);
    }
  });
}
