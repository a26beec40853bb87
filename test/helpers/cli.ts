/** Running the built `evsim` command (dist/, as `npm test` builds first) in tests. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/**
 * A CLI runner whose working folder is `cwd`. Asynchronous, so a test that runs many
 * commands still lets vitest's worker answer its runner (a synchronous minute times out
 * its RPC, "Timeout calling onTaskUpdate", on a loaded machine).
 */
export function cliIn(cwd: string): (...args: string[]) => Promise<CliResult> {
  return (...args) => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** A bad-input run: exit 2, exactly one line on stderr matching `pattern`, no stack trace. */
export function expectBadInput(r: { code: number; err: string }, pattern: RegExp): void {
  expect(r.code).toBe(2);
  const lines = r.err.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.err).not.toMatch(/\bat .*\.(js|ts):\d+/);
}
