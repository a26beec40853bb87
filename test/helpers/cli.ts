/** Running the built `evsim` command (dist/, as `npm test` builds first) in tests. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** A CLI runner whose working folder is `cwd`. */
export function cliIn(cwd: string): (...args: string[]) => CliResult {
  return (...args) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
}

/** A bad-input run: exit 2, exactly one line on stderr matching `pattern`, no stack trace. */
export function expectBadInput(r: { code: number; err: string }, pattern: RegExp): void {
  expect(r.code).toBe(2);
  const lines = r.err.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.err).not.toMatch(/\bat .*\.(js|ts):\d+/);
}
