/**
 * Files a command writes: folders made safely, and outputs checked against inputs.
 *
 * Creating folders: Node's `mkdirSync(dir, { recursive: true })` never returns on some
 * paths (under /proc it retries forever), so folders are made one level at a time from
 * the nearest one that exists, each failure reported with its code.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { EvsimError, type ErrorCode } from './errors.js';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** How {@link checkWritable} names a file and tells the user what to do instead. */
export interface WritableFile {
  /** Names the file in messages: 'trace', 'sweep file', '--outputs'. */
  what: string;
  /** The error code (exit 2 either way): BAD_TRACE for traces, BAD_USAGE for other outputs. */
  code: ErrorCode;
  /** A file name to suggest inside a folder given by mistake. */
  example: string;
  /** How to choose another path, ending every message ('pass --trace elsewhere'). */
  elsewhere: string;
  /**
   * True when the file is written where it is (SQLite): the file itself must be
   * writable as well as its folder. Otherwise it is written aside and renamed over: only
   * its folder must be.
   */
  inPlace: boolean;
}

/**
 * Fails with exit 2 before anything is simulated when `path` could not be written: its
 * folder is missing or a file, it is a folder, a pipe or a device, or it (or its folder)
 * is read-only.
 */
export function checkWritable(path: string, f: WritableFile): void {
  const fail = (why: string, fix = f.elsewhere): never => {
    throw new EvsimError(f.code, `${f.what} ${path}${why}; ${fix}`);
  };
  const abs = resolve(path);
  const dir = dirname(abs);
  if (!existsSync(dir)) fail(`: folder ${dir} does not exist`, `create it or ${f.elsewhere}`);
  if (!statSync(dir).isDirectory()) fail(`: ${dir} is a file, not a folder`);
  const exists = existsSync(abs);
  if (exists && statSync(abs).isDirectory()) fail(' is a folder', `give a file name such as ${join(path, f.example)}, or ${f.elsewhere}`);
  // A FIFO or device would be replaced by a renamed file, or opened by SQLite as a database.
  if (exists && !statSync(abs).isFile()) fail(' is not a regular file (a pipe or device)');
  // Written in place (SQLite), the file must be writable, and its folder too: SQLite
  // makes its journal files beside it.
  if (f.inPlace && exists && !isWritable(abs)) fail(': not writable');
  // SQLite keeps a file's journal (-wal, -shm) and evsim a sweep's lock beside its name:
  // writers through two hard links of one file would each have their own, and corrupt it.
  const links = exists && f.inPlace ? statSync(abs).nlink : 1;
  if (links > 1) fail(` has ${links} names (hard links): SQLite keeps a journal beside each name, so writers through two of them would corrupt it`, `copy it to a file of its own, or ${f.elsewhere}`);
  if (!isWritable(dir)) fail(`: folder ${dir} is not writable`);
}

/** True when this process may write `path` (a file, or a folder: create files in it). */
export function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A worker script, compiled: beside the calling module when that runs from dist/, else
 * the build's copy in dist/ (vitest runs the TypeScript sources). `rel` is its path
 * under src/, e.g. 'sweep/worker.js'; `moduleUrl` the caller's import.meta.url.
 */
export function compiledScript(moduleUrl: string, rel: string): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const sibling = join(here, basename(rel));
  if (existsSync(sibling)) return sibling;
  const root = join(here, ...rel.split('/').map(() => '..'));
  const built = join(root, 'dist', 'src', rel);
  if (!existsSync(built)) throw new EvsimError('RUN_FAILED', `worker script ${built} is missing; run npm run build`);
  return built;
}

/** Fails with exit 2 before any simulation when an output file (written aside, then renamed) could not be written. */
export function assertWritable(path: string, what: string, example = 'outputs.npy'): void {
  checkWritable(path, { what, code: 'BAD_USAGE', example, elsewhere: 'choose another path', inPlace: false });
}

/** A short content hash of a file's bytes (models in traces, sweep point keys). */
export function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16);
}
