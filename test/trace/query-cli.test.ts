/**
 * `evsim query` printing as it reads (built JS in dist/): a result larger than the
 * process's heap prints whole to a reader that takes it slowly, an endless one ends with
 * `| head`, columns keep the statement's order, and --run names a run the trace has.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliIn, CLI, expectBadInput, ROOT } from '../helpers/cli.js';
import { parseCsv } from './parse-csv.js';

const FIX = join(ROOT, 'test', 'fixtures', 'onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-query-'));
const evsim = cliIn(tmp);
const trace = join(tmp, 'q.sqlite');

beforeAll(async () => {
  expect((await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--chip', 'ideal', '--trace', trace, '--quiet')).code).toBe(0);
}, 60_000);

/** N rows: x = 1…N and h = x zero-padded to 4000 digits (printf's %0Nd), so row x reads back as its own number. */
const padded = (n: number): string => `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT ${n}) SELECT x, printf('%04000d', x) AS h FROM c`;

describe('a large result', () => {
  it('prints whole to a reader that pauses, in bounded memory (was: every row in memory, then one string: "Invalid string length")', async () => {
    // 50 000 rows of ~4 kB: 200 MB of CSV. Read at once it does not fit a 96 MB heap; written
    // without waiting for the pipe while the reader pauses, it piles up outside the heap,
    // which the process's peak resident memory (VmHWM, Linux) shows.
    const n = 50_000;
    const child = spawn(process.execPath, ['--max-old-space-size=96', CLI, 'query', trace, padded(n), '--format', 'csv'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const peakKb = (): number => {
      try {
        return Number(/VmHWM:\s*(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
      } catch {
        return 0; // not Linux, or already gone
      }
    };
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, peakKb())), 100);
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    let lines = 0;
    let tail = '';
    let last = '';
    let paused = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      const parts = (tail + s).split('\n');
      tail = parts.pop()!;
      if (lines === 0 && parts.length > 0) expect(parts[0]).toBe('x,h');
      lines += parts.length;
      if (parts.length > 0) last = parts[parts.length - 1]!;
      if (!paused) {
        // Long enough for the whole result to be read, were the query not held back.
        paused = true;
        child.stdout.pause();
        setTimeout(() => child.stdout.resume(), 3000);
      }
    });
    const code = await new Promise<number | null>((res) => child.once('close', res));
    clearInterval(sampler);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(lines).toBe(n + 1);
    expect(parseCsv(last)).toEqual([[String(n), String(n).padStart(4000, '0')]]);
    // About 130 MB streamed (Node, the libraries, a batch of rows); up to 200 MB more if it buffered.
    if (process.platform === 'linux') expect(peak / 1024).toBeLessThan(180);
  }, 60_000);

  it('an endless result prints its first rows and ends, quietly, when head does (csv, table, json)', () => {
    // No LIMIT: read to the end, it would never finish.
    const endless = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c';
    // timeout(1) ends the query itself should it not stop (spawnSync's timeout kills only sh).
    const head = (format: string): { stdout: string; stderr: string } => spawnSync('sh', ['-c', `timeout 25 "${process.execPath}" "${CLI}" query "${trace}" "${endless}" --format ${format} | head -3`], { encoding: 'utf8', timeout: 30_000 });
    expect(head('csv')).toMatchObject({ stdout: 'x\n1\n2\n', stderr: '' });
    // Widths from the first 1000 rows: x up to 1000, 4 digits, right-aligned.
    expect(head('table')).toMatchObject({ stdout: '   x\n----\n   1\n', stderr: '' });
    expect(head('json')).toMatchObject({ stdout: '[\n  {\n    "x": 1\n', stderr: '' });
  }, 60_000);
});

describe('evsim query output', () => {
  it('keeps the columns in the statement\'s order when a name looks like an integer (was: 100,run_id)', async () => {
    const csv = await evsim('query', trace, 'SELECT run_id, 100, 7 AS "2" FROM runs', '--format', 'csv');
    expect(csv.out).toBe('run_id,100,2\n1,100,7\n');
    const json = await evsim('query', trace, 'SELECT run_id, 100 FROM runs', '--format', 'json');
    expect(json.out).toBe('[\n  {\n    "run_id": 1,\n    "100": 100\n  }\n]\n');
    expect((await evsim('query', trace, 'SELECT run_id, 100 FROM runs')).out.split('\n')[0]).toBe('run_id  100');
  });

  it('CSV quotes a carriage return and prints the header of an empty result; the table escapes line breaks', async () => {
    const cr = await evsim('query', trace, "SELECT 'a' || char(13) || 'b' AS v, 1 AS n", '--format', 'csv');
    expect(parseCsv(cr.out)).toEqual([['v', 'n'], ['a\rb', '1']]);
    expect((await evsim('query', trace, 'SELECT run_id, frame FROM frames WHERE 0', '--format', 'csv')).out).toBe('run_id,frame\n');
    expect((await evsim('query', trace, 'SELECT run_id FROM runs WHERE 0', '--format', 'json')).out).toBe('[]\n');
    expect((await evsim('query', trace, "SELECT 'x' || char(10) || 'y' AS v")).out).toBe('v\n----\nx\\ny\n');
  });

  it('into a file (run into a temporary table, then read back in pages) prints what a pipe gets, and refuses the same', async () => {
    const sql = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2500)
      SELECT x AS "7", x * 0.5 AS half, CASE WHEN x % 3 = 0 THEN NULL WHEN x % 3 = 1 THEN 'a,"b"' ELSE x'00ff' END AS v, 1e300 * x AS big FROM c`;
    const toFile = (args: string[]): { code: number | null; text: string; err: string } => {
      const out = join(tmp, `file-${args.length}-${Math.random().toString(36).slice(2)}.txt`);
      const fd = openSync(out, 'w');
      const r = spawnSync(process.execPath, [CLI, 'query', trace, ...args], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
      closeSync(fd);
      return { code: r.status, text: readFileSync(out, 'utf8'), err: r.stderr };
    };
    for (const format of ['csv', 'json', 'table']) {
      const piped = await evsim('query', trace, sql, '--format', format);
      const filed = toFile([sql, '--format', format]);
      expect(filed.code).toBe(0);
      expect(filed.text).toBe(piped.out);
    }
    const rows = parseCsv(toFile([sql, '--format', 'csv']).text);
    expect(rows.length).toBe(2501);
    expect(rows[0]).toEqual(['7', 'half', 'v', 'big']);
    expect(rows[3]).toEqual(['3', '1.5', '', '3e+300']);
    expect(rows[2500]![0]).toBe('2500');
    // The statement's own ORDER BY holds through the temporary table, and a trailing ; and comment are fine.
    const desc = parseCsv(toFile([`${sql} ORDER BY x DESC; -- last first`, '--format', 'csv']).text);
    expect([desc[1]![0], desc[2500]![0]]).toEqual(['2500', '1']);
    // Names as the statement gives them (a view would say X:1), and nothing of the temporary table shows.
    for (const [q, want] of [
      ['SELECT 1 AS x, 2 AS X', 'x,X\n1,2\n'],
      ['SELECT 1 AS "a:1", 2 AS a', 'a:1,a\n1,2\n'],
      ['SELECT 1 AS a, 2 AS "a:1"', 'a,a:1\n1,2\n'],
      ['SELECT 1 AS k, 2 AS "K:3"', 'k,K:3\n1,2\n'],
      ['SELECT COUNT(*) AS n FROM sqlite_temp_master', 'n\n0\n'],
      ['SELECT COUNT(*) AS n FROM "sqlite_temp_master"', 'n\n0\n'],
      ['SELECT last_insert_rowid() AS li', 'li\n0\n'],
      ['SELECT "last_insert_rowid"() AS li FROM (VALUES (1), (2))', 'li\n0\n0\n'],
      // SQLite's 2000 columns, all of them (the pages read no column of their own).
      [`SELECT ${Array.from({ length: 2000 }, (_, i) => `${i} AS k${i}`).join(', ')}`, `${Array.from({ length: 2000 }, (_, i) => `k${i}`).join(',')}\n${Array.from({ length: 2000 }, (_, i) => i).join(',')}\n`],
    ] as const) {
      expect(toFile([q, '--format', 'csv']).text).toBe(want);
      expect((await evsim('query', trace, q, '--format', 'csv')).out).toBe(want);
    }
    const dup = toFile(['SELECT 1 AS a, 2 AS a', '--format', 'csv']);
    expect([dup.code, dup.text]).toEqual([2, '']);
    expect(dup.err).toMatch(/the result has 2 columns but only one name/);
  });

  it('refuses columns of one name before printing any row', async () => {
    const r = await evsim('query', trace, 'SELECT 1 AS a, 2 AS a', '--format', 'csv');
    expectBadInput(r, /the result has 2 columns but only one name/);
    expect(r.out).toBe('');
  });

  it('--named with --run of a run the trace lacks exits 2 naming its runs, as report does (was: "(no rows)", exit 0)', async () => {
    expectBadInput(await evsim('query', trace, '--named', 'frames', '--run', '99'), /^evsim: trace .*q\.sqlite has no run 99; runs: 1$/);
    expectBadInput(await evsim('report', trace, '--run', '99', '--html', join(tmp, 'r.html')), /^evsim: trace .*q\.sqlite has no run 99; runs: 1$/);
    const one = await evsim('query', trace, '--named', 'frames', '--run', '1', '--format', 'csv');
    expect(one.code).toBe(0);
    // mlp.input.npy holds 4 frames (0…3) under the header.
    expect(parseCsv(one.out).map((r) => r[1])).toEqual(['frame', '0', '1', '2', '3']);
  });
});
