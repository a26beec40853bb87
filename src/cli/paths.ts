/** Output paths checked against a command's inputs before anything is written. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { EvsimError } from '../errors.js';

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
