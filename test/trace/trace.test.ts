/**
 * SQLite traces (DESIGN §7): the schema names every table and column of the design,
 * queries are read-only, a killed run keeps its committed frames in a consistent file
 * and shows as not completed, an unwritable path fails before anything runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatRows, namedQuery, queryTrace } from '../../src/trace/query.js';
import { tileEnergy } from '../../src/trace/report.js';
import { exec, openDb, openTraceForWriting, close, insertSql, SqliteTraceSink } from '../../src/trace/sqlite-sink.js';
import { SCHEMA_SQL } from '../../src/trace/schema.js';
import { resolveChip } from '../../src/config/chip-config.js';
import { simulate } from '../../src/simulate.js';
import { cliIn } from '../helpers/cli.js';
import { query } from '../helpers/sqlite.js';
import { RecordingSink, replayRecording } from '../../src/runtime/recording-sink.js';
import sqlite3 from 'sqlite3';
import { encodeNpy, parseNpy, readFloat32Npy } from '../../src/workloads/npy.js';
import { DenseExecutor } from '../../src/model/dense/executor.js';
import { loadOnnx } from '../../src/model/onnx/import.js';
import { syntheticVideo } from '../../src/workloads/video.js';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const FIX = join(ROOT, 'test', 'fixtures', 'onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-trace-'));
const cli = cliIn(tmp);
const evsim = async (...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> => {
  const r = await cli(...args);
  return { status: r.code, stdout: r.out, stderr: r.err };
};

// DESIGN §7, minimum tables and columns.
const DESIGN_TABLES: Record<string, string[]> = {
  runs: ['run_id', 'created_at', 'ended_at', 'heartbeat_at', 'config_json', 'status'],
  layers: ['run_id', 'layer_id', 'name', 'op'],
  cores: ['run_id', 'core_id', 'tile_x', 'tile_y', 'layer_id', 'neurons'],
  frames: ['run_id', 'frame', 'macs', 'dense_macs', 'transmissions', 'messages', 'synops', 'energy_pj', 'latency_ns'],
  layer_frames: ['run_id', 'frame', 'layer_id', 'macs', 'updates', 'transmissions'],
  core_frames: ['run_id', 'frame', 'core_id', 'messages_in', 'synops', 'neuron_updates', 'messages_out', 'busy_ns', 'stall_ns', 'queue_max', 'energy_pj'],
  events: ['run_id', 'frame', 't_ns', 'src_core', 'dst_core', 'neuron', 'value', 'hops'],
};

describe('trace contents', () => {
  for (const level of ['summary', 'cores', 'events']) {
    it(`every DESIGN §7 table and column exists after a run at level ${level}`, async () => {
      const t = join(tmp, `${level}.sqlite`);
      const r = await evsim('run', '--model', join(FIX, 'resnet_block.onnx'), '--frames', join(FIX, 'resnet_block.input.npy'), '--trace', t, '--trace-level', level, '--quiet');
      expect(r.status).toBe(0);
      for (const [table, cols] of Object.entries(DESIGN_TABLES)) {
        const info = await queryTrace(t, `PRAGMA table_info(${table})`);
        const names = info.map((c) => c.name);
        for (const c of cols) expect(names, `${table}.${c}`).toContain(c);
      }
      const frames = await queryTrace(t, 'SELECT COUNT(*) AS n FROM frames');
      expect(frames[0]!.n).toBe(4);
      const cf = await queryTrace(t, 'SELECT COUNT(*) AS n FROM core_frames');
      expect(cf[0]!.n).toBe(level === 'summary' ? 0 : 4 * 9);
      // Events: one row per message, their hops adding up to the frames' hops.
      const [ev] = await queryTrace(t, 'SELECT COUNT(*) AS n, SUM(hops) AS hops FROM events');
      const [fr] = await queryTrace(t, 'SELECT SUM(messages) AS n, SUM(hops) AS hops FROM frames');
      if (level === 'events') expect(ev).toEqual(fr);
      else expect(ev!.n).toBe(0);
      const st = await queryTrace(t, 'SELECT status FROM runs');
      expect(st).toEqual([{ status: 'completed' }]);
      // At rest the main file holds everything (no writes left in a -wal beside it; readers
      // may leave an empty one), so it reads from a read-only folder as it is (evsim query
      // opens it immutable there).
      expect(await query(t, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      expect(existsSync(`${t}-wal`) ? statSync(`${t}-wal`).size : 0).toBe(0);
    });
  }

  it('per-core and per-layer rows of a chip run add up to the functional run\'s counts', async () => {
    // The same network and frames on loihi and on the ideal chip (the functional engine,
    // which counts by node): each chip layer's MACs are its synaptic nodes' (a layer
    // of two summed convolutions is named 'a+b'), and per frame the cores' synops and
    // the layers' MACs and adds add up to the functional frame's MACs and adds.
    const chip = join(tmp, 'sums.sqlite');
    const ideal = join(tmp, 'sums-ideal.sqlite');
    const args = ['--model', join(FIX, 'resnet_block.onnx'), '--frames', join(FIX, 'resnet_block.input.npy'), '--quiet'];
    expect((await evsim('run', ...args, '--trace', chip)).status).toBe(0);
    expect((await evsim('run', ...args, '--chip', 'ideal', '--trace', ideal)).status).toBe(0);
    const perLayer = `SELECT l.name, SUM(lf.macs) AS macs FROM layer_frames lf JOIN layers l ON l.run_id = lf.run_id AND l.layer_id = lf.layer_id GROUP BY l.name`;
    const nodeMacs = new Map((await queryTrace(ideal, perLayer)).map((r) => [r.name as string, r.macs as number]));
    const layers = await queryTrace(chip, perLayer);
    // Six layers and the sensor's input gate (0 MACs on both runs).
    expect(layers.length).toBe(7);
    for (const r of layers) expect(r.macs, String(r.name)).toBe((r.name as string).split('+').reduce((a, n) => a + nodeMacs.get(n)!, 0));
    // `run --json` lists the same layers with their totals, which add up to the run's.
    const json = JSON.parse((await evsim('run', ...args, '--no-trace', '--json')).stdout) as { totals: Record<string, number>; layers: Record<string, number | string>[] };
    expect(json.layers.map((l) => l.name).sort()).toEqual(layers.map((r) => r.name).sort());
    for (const l of json.layers) expect(l.macs, String(l.name)).toBe((l.name as string).split('+').reduce((a, n) => a + (nodeMacs.get(n) ?? 0), 0));
    for (const k of ['macs', 'dense_macs', 'adds', 'transmissions']) expect(json.layers.reduce((a, l) => a + (l[k] as number), 0), k).toBe(json.totals[k]);
    // Transmissions and state add up over the layers on both runs, the input gate's included.
    for (const t of [chip, ideal]) {
      const tx = await queryTrace(t, 'SELECT f.transmissions AS f, (SELECT SUM(transmissions) FROM layer_frames l WHERE l.frame = f.frame) AS l FROM frames f');
      for (const r of tx) expect(r.l).toBe(r.f);
    }
    const state = async (t: string): Promise<unknown> => (await queryTrace(t, 'SELECT SUM(state_bytes) AS s FROM layers'))[0]!.s;
    expect(await state(chip)).toBe(await state(ideal));
    const rows = await queryTrace(chip, `SELECT f.frame, f.synops,
      (SELECT SUM(synops) FROM core_frames c WHERE c.frame = f.frame) AS core_synops,
      (SELECT SUM(macs) FROM layer_frames l WHERE l.frame = f.frame) AS layer_macs,
      (SELECT SUM(adds) FROM layer_frames l WHERE l.frame = f.frame) AS layer_adds FROM frames f ORDER BY f.frame`);
    const fn = await queryTrace(ideal, 'SELECT frame, macs, adds FROM frames ORDER BY frame');
    expect(rows.length).toBe(fn.length);
    rows.forEach((r, i) => {
      expect(r.core_synops).toBe(fn[i]!.macs);
      expect(r.layer_macs).toBe(fn[i]!.macs);
      expect(r.layer_adds).toBe(fn[i]!.adds);
      expect(r.synops).toBe(fn[i]!.macs);
    });
  });
});

describe('named queries on hand-written rows', () => {
  it('totals and frame_summary: ops reduction is dense/done MACs, NULL when no MAC was done (was: totals read dense_macs / 1)', async () => {
    const t = join(tmp, 'named.sqlite');
    const db = await openDb(t, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE);
    await exec(db, SCHEMA_SQL);
    // run 1: 2 frames, 300 of 1200 dense MACs → 4×; run 2: no MAC done at all.
    const frames = [[1, 0, 200, 600, 0, 0, 0, 0, 200, 0, 0], [1, 1, 100, 600, 0, 0, 0, 0, 100, 0, 0], [2, 0, 0, 600, 0, 0, 0, 0, 0, 0, 0]];
    await exec(db, insertSql('frames', frames, 0, frames.length));
    await close(db);
    const totals = await queryTrace(t, namedQuery('totals'));
    expect(totals.map((r) => [r.run_id, r.macs, r.ops_reduction])).toEqual([[1, 300, 4], [2, 0, null]]);
    const perFrame = await queryTrace(t, 'SELECT run_id, frame, ops_reduction FROM frame_summary ORDER BY run_id, frame');
    expect(perFrame.map((r) => r.ops_reduction)).toEqual([3, 6, null]);
  });

  it('a --dense run is the baseline: ops reduction 1, though its exact MACs skip padding taps that dense_macs counts', async () => {
    const t = join(tmp, 'named-dense.sqlite');
    const db = await openDb(t, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE);
    await exec(db, SCHEMA_SQL);
    const run = (id: number, config: string): string => `INSERT INTO runs (run_id, created_at, heartbeat_at, status, evsim_version, model, model_hash, chip, trace_level, frames_planned, config_json)
      VALUES (${id}, 't', 't', 'completed', 'v', 'm', 'h', 'loihi', 'cores', 1, '${config}');`;
    await exec(db, `${run(1, '{"dense":true}')} ${run(2, '{"dense":false}')}`);
    // Both runs: 450 MACs done of 600 dense (a padded conv); run 1 is the conventional network.
    const frames = [[1, 0, 450, 600, 0, 0, 0, 0, 450, 0, 0], [2, 0, 450, 600, 0, 0, 0, 0, 450, 0, 0]];
    await exec(db, insertSql('frames', frames, 0, frames.length));
    await close(db);
    expect((await queryTrace(t, namedQuery('totals'))).map((r) => r.ops_reduction)).toEqual([1, 600 / 450]);
    expect((await queryTrace(t, 'SELECT ops_reduction FROM frame_summary ORDER BY run_id')).map((r) => r.ops_reduction)).toEqual([1, 600 / 450]);
  });
});

describe('trace rows as SQL literals', () => {
  it('every double reads back bit-identical, integral numbers as INTEGER, non-finite as NULL, quotes survive', async () => {
    // Doubles whose shortest text needs all 17 digits, subnormals, extremes, -0.
    const reals = [0.1 + 0.2, 1 / 3, 2 / 3 * 1e-7, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 123456.78901234567, -9.87654321e-5, 2 ** 53 + 2, 1e21, 4.35, 0.000001];
    const rows: (number | string | null)[][] = reals.map((v, i) => [i, v, `it's ${i}`]);
    rows.push([100, Number.NaN, null], [101, Number.POSITIVE_INFINITY, ''], [102, -0, "''"], [103, 7, 'x\0y é']);
    const t = join(tmp, 'literals.sqlite');
    const db = await openDb(t, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE);
    await exec(db, 'CREATE TABLE t (k INTEGER, v, s TEXT)');
    await exec(db, insertSql('t', rows, 0, rows.length));
    await close(db);
    const back = await queryTrace(t, 'SELECT k, v, typeof(v) AS ty, s FROM t ORDER BY k');
    for (let i = 0; i < reals.length; i++) {
      expect(Object.is(back[i]!.v, reals[i]), `${reals[i]} came back as ${back[i]!.v}`).toBe(true);
      expect(back[i]!.s).toBe(`it's ${i}`);
    }
    expect(back.slice(reals.length)).toEqual([
      { k: 100, v: null, ty: 'null', s: null },
      { k: 101, v: null, ty: 'null', s: '' },
      { k: 102, v: 0, ty: 'integer', s: "''" },
      { k: 103, v: 7, ty: 'integer', s: 'x\0y é' },
    ]);
    expect(back[0]!.ty).toBe('real');
  });
});

describe('columns of one name', () => {
  it('are refused, naming the column, instead of the later silently replacing the earlier', async () => {
    const t = join(tmp, 'dupcols.sqlite');
    const db = await openDb(t, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE);
    await exec(db, 'CREATE TABLE f (frame INTEGER, macs INTEGER); CREATE TABLE l (frame INTEGER, macs INTEGER); INSERT INTO f VALUES (0, 44040); INSERT INTO l VALUES (0, 23200)');
    await close(db);
    const join2 = 'SELECT f.frame, f.macs, l.macs FROM f JOIN l USING (frame)';
    await expect(queryTrace(t, join2)).rejects.toMatchObject({ code: 'BAD_SQL', message: expect.stringContaining('the result has 3 columns but only 2 distinct names (frame, macs)') });
    await expect(queryTrace(t, 'SELECT * FROM f JOIN l ON l.frame = f.frame')).rejects.toMatchObject({ code: 'BAD_SQL' });
    // Names alike but for case are two keys (both kept); a name like SQLite's own rename is a name.
    await expect(queryTrace(t, 'SELECT 1 AS A, 2 AS a, 3 AS a')).rejects.toMatchObject({ code: 'BAD_SQL' });
    await expect(queryTrace(t, 'SELECT 1 AS "a:1", 2 AS "a:1"')).rejects.toMatchObject({ message: expect.stringContaining('only one name (a:1)') });
    expect(await queryTrace(t, 'SELECT 1 AS A, 2 AS a')).toEqual([{ A: 1, a: 2 }]);
    expect(await queryTrace(t, 'SELECT 1 AS a, 2 AS "a:1"')).toEqual([{ a: 1, 'a:1': 2 }]);
    // A name no row object can hold as a key is refused as such, not as a duplicate.
    await expect(queryTrace(t, 'SELECT 1 AS __proto__, 2 AS b')).rejects.toMatchObject({ message: expect.stringMatching(/^a column named __proto__ cannot be returned/) });
    // Named apart, both values come back; a statement no view can hold still runs.
    expect(await queryTrace(t, 'SELECT f.frame, f.macs AS f_macs, l.macs AS l_macs FROM f JOIN l USING (frame)')).toEqual([{ frame: 0, f_macs: 44040, l_macs: 23200 }]);
    expect(await queryTrace(t, 'SELECT ? AS p')).toEqual([{ p: null }]);
  });
});

describe('a recorded run replayed later (a sweep point)', () => {
  it('keeps the times it began and ended where it ran', async () => {
    const rec = new RecordingSink(join(tmp, 'replay.sqlite'), 'summary');
    await rec.begin({ model: 'm', modelHash: 'h', chip: 'loihi', config: null, frames: 0, layers: [], cores: [] });
    await new Promise((r) => setTimeout(r, 60));
    await rec.end('completed');
    const r = rec.recording;
    await new Promise((res) => setTimeout(res, 60));
    const before = new Date().toISOString();
    const db = await openTraceForWriting(join(tmp, 'replay.sqlite'), 'trace', '', 1000);
    await exec(db, 'BEGIN');
    expect(await replayRecording(r, new SqliteTraceSink(join(tmp, 'replay.sqlite'), 'summary', 'test', { replay: { db, createdAt: r.createdAt, endedAt: r.endedAt } }))).toBe(true);
    // Nothing is committed until the caller commits (a sweep stores the run with its point).
    expect(await queryTrace(join(tmp, 'replay.sqlite'), 'SELECT COUNT(*) AS n FROM runs')).toEqual([{ n: 0 }]);
    await exec(db, 'COMMIT');
    await close(db);
    const [row] = await queryTrace(join(tmp, 'replay.sqlite'), 'SELECT created_at, ended_at, status FROM runs');
    expect(row!.created_at).toBe(r.createdAt);
    expect(row!.ended_at).toBe(r.endedAt);
    // Both before the replay began; about 60 ms apart.
    expect(String(row!.ended_at) < before).toBe(true);
    expect(Date.parse(String(row!.ended_at)) - Date.parse(String(row!.created_at))).toBeGreaterThanOrEqual(50);
  });
});

describe('a writer that falls behind holds the run back (events at millions of rows a frame)', () => {
  it('backlog() is a promise while more rows wait than allowed, null once they are written', async () => {
    const t = join(tmp, 'backlog.sqlite');
    const sink = new SqliteTraceSink(t, 'events', 'test', { maxBacklogRows: 100 });
    await sink.begin({ model: 'm', modelHash: 'h', chip: 'loihi', config: null, frames: 1, layers: [], cores: [] });
    expect(sink.backlog()).toBeNull();
    const n = 300;
    const ev = { tNs: new Float64Array(n), src: new Int32Array(n), dst: new Int32Array(n), neuron: new Int32Array(n).map((_, i) => i), value: new Float32Array(n).fill(1), hops: new Int32Array(n) };
    sink.frame({ frame: 0, macs: 1, dense_macs: 1, adds: 0, transmissions: 1, synops: 1, messages: n, hops: 0, energy_pj: 0, latency_ns: 0 }, null, null, [ev]);
    const behind = sink.backlog();
    expect(behind).toBeInstanceOf(Promise);
    await behind;
    expect(sink.backlog()).toBeNull();
    await sink.end('completed');
    expect((await queryTrace(t, 'SELECT COUNT(*) AS n FROM events'))[0]!.n).toBe(n);
  });
});

describe('query tables', () => {
  it('a table of 200 000 rows formats (was: the call stack overflowed past ~130 000)', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ i }));
    const text = formatRows(rows, 'table');
    expect(text.split('\n').length).toBe(200_002);
    expect(text.split('\n')[200_001]).toBe('199999');
  });

  it('show 6 significant digits but every digit of the integer part; CSV keeps all', () => {
    const rows = [{ e: 29345622.7, s: 0.000123456789, one: 1.23456789, n: 7, h: 1e-300 / 3 }];
    const [, , line] = formatRows(rows, 'table').split('\n');
    expect(line!.trim().split(/\s+/)).toEqual(['29345622.7', '0.000123457', '1.23457', '7', '3.33333e-301']);
    expect(formatRows(rows, 'csv').split('\n')[1]).toBe(`29345622.7,0.000123456789,1.23456789,7,${1e-300 / 3}`);
  });

  it('a BLOB reads as its SQL literal in every format (was raw bytes, or a Buffer dump in JSON)', async () => {
    const t = join(tmp, 'blob.sqlite');
    const db = await openDb(t, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE);
    await exec(db, "CREATE TABLE b (v BLOB); INSERT INTO b VALUES (x'00ff10')");
    await close(db);
    const rows = await queryTrace(t, 'SELECT v FROM b');
    expect(formatRows(rows, 'table').split('\n')[2]).toBe("x'00ff10'");
    expect(formatRows(rows, 'csv')).toBe("v\nx'00ff10'");
    expect(JSON.parse(formatRows(rows, 'json'))).toEqual([{ v: "x'00ff10'" }]);
  });
});

describe('evsim query', () => {
  it('is read-only: a DELETE exits 2 and changes nothing; json parses', async () => {
    const t = join(tmp, 'ro.sqlite');
    expect((await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--chip', 'ideal', '--trace', t, '--quiet')).status).toBe(0);
    const del = await evsim('query', t, 'DELETE FROM runs');
    expect(del.status).toBe(2);
    expect(del.stderr.trim().split('\n')).toHaveLength(1);
    expect(del.stderr).toMatch(/read-only/);
    const j = await evsim('query', t, 'SELECT COUNT(*) AS n FROM runs', '--format', 'json');
    expect(JSON.parse(j.stdout)).toEqual([{ n: 1 }]);
    expect((await evsim('query', t, 'SELEKT 1')).status).toBe(2);
    // VACUUM INTO writes a new file even from a read-only connection: refused up front.
    const copy = join(tmp, 'ro-copy.sqlite');
    const vac = await evsim('query', t, `/* copy */ vacuum INTO '${copy}'`);
    expect(vac.status).toBe(2);
    expect(vac.stderr).toMatch(/^evsim: evsim query only reads: VACUUM/);
    expect(existsSync(copy)).toBe(false);
    // One reading statement only: a second one (sqlite3 would drop it silently), a
    // write to a temporary table, a PRAGMA that sets.
    expect((await evsim('query', t, 'SELECT 1; DELETE FROM runs')).stderr).toMatch(/one statement at a time \(got 2\)/);
    expect((await evsim('query', t, 'CREATE TEMP TABLE x(a)')).stderr).toMatch(/a CREATE statement is refused/);
    expect((await evsim('query', t, "ATTACH 'x.db' AS y")).stderr).toMatch(/: an ATTACH statement is refused/);
    expect((await evsim('query', t, 'PRAGMA journal_mode=DELETE')).stderr).toMatch(/PRAGMA journal_mode is refused/);
    expect((await evsim('query', t, 'PRAGMA table_info(runs)', '--format', 'json')).status).toBe(0);
    // The word inside a string literal or a quoted name is data, not a statement.
    expect(JSON.parse((await evsim('query', t, `SELECT 'vacuum' AS "vacuum"`, '--format', 'json')).stdout)).toEqual([{ vacuum: 'vacuum' }]);
    expect((await evsim('query', t, '--named', 'nope')).status).toBe(2);
    expect((await evsim('query', t, '--named', 'frames', '--format', 'csv')).stdout.split('\n')[0]).toMatch(/^run_id,frame,macs,dense_macs/);
    // A run's trace has no sweep: said so, not as an SQL error.
    const sp = await evsim('query', t, '--named', 'sweep-points');
    expect(sp.status).toBe(2);
    expect(sp.stderr).toMatch(/holds runs but no sweep: sweep_points is in the files evsim sweep writes/);
  });

  it('evsim report writes a self-contained page with its charts as SVG', async () => {
    const t = join(tmp, 'report.sqlite');
    expect((await evsim('run', '--model', join(FIX, 'resnet_block.onnx'), '--frames', join(FIX, 'resnet_block.input.npy'), '--trace', t, '--quiet')).status).toBe(0);
    const out = join(tmp, 'report.html');
    const r = await evsim('report', t, '--html', out);
    expect(r.status).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect((html.match(/<svg/g) ?? []).length).toBe(5); // latency, energy, MACs, sparsity, tiles
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/); // no script, nothing fetched
    expect((await evsim('report', t, '--run', '7', '--html', out)).status).toBe(2);
  });

  it('a CLI run records its files as absolute paths and the chip as resolved (was: the chip file name only, paths relative to the cwd)', async () => {
    const dir = join(tmp, 'relative');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'mine.yaml'), 'preset: loihi\ncosts: { synop: { energy_pj: 50, latency_ns: 1 } }\n');
    const r = await cliIn(dir)('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--chip', 'mine.yaml', '--trace', 'rel.sqlite', '--quiet');
    expect(r.code).toBe(0);
    const [c] = await queryTrace(join(dir, 'rel.sqlite'), `SELECT json_extract(config_json, '$.chip') AS chip, json_extract(config_json, '$.chip_spec.costs.synop.energyPj') AS synop,
      json_extract(config_json, '$.chip_spec.costs.hop_ns.energyPj') AS hop, json_extract(config_json, '$.chip_spec.core.fanIn') AS fan_in,
      json_extract(config_json, '$.model') AS model, json_extract(config_json, '$.trace') AS trace FROM runs`);
    // loihi has no fan-in limit: recorded as 'unlimited' (JSON has no Infinity; it read as null).
    expect(c).toEqual({ chip: join(dir, 'mine.yaml'), synop: 50, hop: 4, fan_in: 'unlimited', model: join(FIX, 'mlp.onnx'), trace: join(dir, 'rel.sqlite') });
    // So does a library run, its relative chip file resolved like its other files.
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await simulate({ model: join(FIX, 'mlp.onnx'), frames: join(FIX, 'mlp.input.npy'), chip: 'mine.yaml', trace: 'api.sqlite', workers: 1 });
    } finally {
      process.chdir(cwd);
    }
    const [a] = await queryTrace(join(dir, 'api.sqlite'), `SELECT json_extract(config_json, '$.chip') AS chip, json_extract(config_json, '$.chip_spec.core.fanIn') AS fan_in FROM runs`);
    expect(a).toEqual({ chip: join(dir, 'mine.yaml'), fan_in: 'unlimited' });
    // A chip given as an object keeps its unlimited capacities as such too (was: null).
    await simulate({ model: join(FIX, 'mlp.onnx'), frames: join(FIX, 'mlp.input.npy'), chip: resolveChip('loihi'), trace: join(dir, 'api.sqlite'), workers: 1 });
    const [o] = await queryTrace(join(dir, 'api.sqlite'), `SELECT json_extract(config_json, '$.chip.core.fanIn') AS fan_in FROM runs WHERE run_id = 2`);
    expect(o).toEqual({ fan_in: 'unlimited' });
  });

  it("the report puts the sensor's messages (priced from its events) on tile (0,0); a run without costs or frames shows n/a, not zeros", async () => {
    const t = join(tmp, 'report2.sqlite');
    const args = ['--model', join(FIX, 'resnet_block.onnx'), '--frames', join(FIX, 'resnet_block.input.npy'), '--trace', t, '--quiet'];
    expect((await evsim('run', ...args, '--trace-level', 'events')).status).toBe(0);
    expect((await evsim('run', ...args, '--chip', 'ideal')).status).toBe(0);
    const [tot] = await queryTrace(t, 'SELECT SUM(energy_pj) AS e FROM frames WHERE run_id = 1');
    const tiles = await tileEnergy(t, 1, Number(tot!.e));
    // The sensor's share, from its own messages (src_core −1, from tile (0,0)) at loihi's
    // prices: 1.7 pJ a message, 3.0 a hop east-west, 4.0 north-south.
    const [sensor] = await queryTrace(t, `SELECT COUNT(*) AS n, SUM(1.7 + 3.0 * c.tile_x + 4.0 * c.tile_y) AS pj, SUM(e.hops - c.tile_x - c.tile_y) AS off
      FROM events e JOIN cores c ON c.run_id = e.run_id AND c.core_id = e.dst_core WHERE e.run_id = 1 AND e.src_core = -1`);
    expect(Number(sensor!.n)).toBeGreaterThan(0);
    expect(Number(sensor!.off)).toBe(0);
    const home = tiles.find((x) => Number(x.tile_x) === 0 && Number(x.tile_y) === 0)!;
    expect(Number(home.sensor_pj)).toBeCloseTo(Number(sensor!.pj), 6);
    expect(tiles.filter((x) => Number(x.sensor_pj) !== 0)).toEqual([home]);
    const out = join(tmp, 'ideal.html');
    expect((await evsim('report', t, '--run', '2', '--html', out)).status).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/<td>energy, all frames<\/td><td>n\/a \(the chip has no energy costs\)<\/td>/);
    expect((html.match(/<svg/g) ?? []).length).toBe(2); // MACs and sparsity; no latency or energy of zeros
  });

  it('the report says what ran: an EvNet with its policy and threshold, or a dense baseline; truenorth (no latencies) shows latency n/a', async () => {
    const t = join(tmp, 'report3.sqlite');
    const args = ['--model', join(FIX, 'resnet_block.onnx'), '--frames', join(FIX, 'resnet_block.input.npy'), '--trace', t, '--quiet'];
    expect((await evsim('run', ...args, '--policy', 'rounding', '--threshold', '0.2')).status).toBe(0);
    expect((await evsim('run', ...args, '--dense')).status).toBe(0);
    const head = async (run: string): Promise<string> => {
      const out = join(tmp, `r3-${run}.html`);
      expect((await evsim('report', t, '--run', run, '--html', out)).status).toBe(0);
      return /<h1>([^<]*)<\/h1>/.exec(readFileSync(out, 'utf8'))![1]!;
    };
    expect(await head('1')).toBe('evsim run 1: resnet_block on loihi, EvNet, policy rounding, h = 0.2');
    expect(await head('2')).toBe('evsim run 2: resnet_block on loihi, the conventional network (--dense)');
    // The baseline claims no reduction over itself (its MACs skip padding taps that dense_macs counts: was "1.34×").
    const [padded] = await queryTrace(t, 'SELECT SUM(dense_macs) > SUM(macs) AS p FROM frames WHERE run_id = 2');
    expect(padded!.p).toBe(1);
    expect(readFileSync(join(tmp, 'r3-2.html'), 'utf8')).toMatch(/<td>ops reduction<\/td><td>none \(the conventional network itself\)<\/td>/);
    // So does `--named runs` (was: two runs alike but for their numbers).
    const runs = JSON.parse((await evsim('query', t, '--named', 'runs', '--format', 'json')).stdout) as Record<string, unknown>[];
    expect(runs.map((r) => [r.policy, r.threshold])).toEqual([['rounding', 0.2], ['dense', null]]);
    const tn = join(tmp, 'tn.yaml');
    writeFileSync(tn, 'preset: loihi\ncosts: { synop: { energy_pj: 1, latency_ns: 0 }, dendrite_add: { energy_pj: 0, latency_ns: 0 }, neuron_update: { energy_pj: 0, latency_ns: 0 }, spike: { energy_pj: 0, latency_ns: 0 }, message_out: { energy_pj: 0, latency_ns: 0 }, message_in: { energy_pj: 0, latency_ns: 0 }, hop_ew: { energy_pj: 0, latency_ns: 0 }, hop_ns: { energy_pj: 0, latency_ns: 0 } }\n');
    expect((await evsim('run', ...args, '--chip', tn)).status).toBe(0);
    const out = join(tmp, 'r3-3.html');
    expect((await evsim('report', t, '--html', out)).status).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/<td>mean latency<\/td><td>n\/a \(the chip has no latencies\)<\/td>/);
    expect(html).not.toMatch(/Latency per frame/);
    expect(html).toMatch(/Energy per frame/);
  });

  it('--no-trace writes nothing and reports trace null', async () => {
    const r = await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--chip', 'ideal', '--no-trace', '--json');
    expect(JSON.parse(r.stdout).trace).toBeNull();
  });

  it('an unwritable trace path fails with exit 2 before simulating', async () => {
    const r = await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--trace', '/nonexistent-dir/t.sqlite', '--json');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/trace \/nonexistent-dir\/t\.sqlite: folder .* does not exist/);
  });
});

describe('named queries that find no rows of their kind', () => {
  it('say why on stderr (per-core rows need level cores), still exit 0 with (no rows)', async () => {
    const t = join(tmp, 'summary-only.sqlite');
    const r = await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--trace', t, '--trace-level', 'summary', '--quiet');
    expect(r.status, r.stderr).toBe(0);
    const q = await evsim('query', t, '--named', 'hot-cores');
    expect([q.status, q.stdout.trim()]).toEqual([0, '(no rows)']);
    expect(q.stderr).toMatch(/^note: no run in this trace has rows in core_frames, which 'hot-cores' reads \(per-core rows come from a chip run recorded at trace level cores/);
    expect((await evsim('query', t, '--named', 'energy-by-layer', '--run', '1')).stderr).toMatch(/^note: run 1 has no rows in core_frames, which 'energy-by-layer' reads/);
    // A query with rows says nothing more.
    expect((await evsim('query', t, '--named', 'frames')).stderr).toBe('');
    // The report says why it has no tile chart.
    const html = join(tmp, 'summary-only.html');
    expect((await evsim('report', t, '--html', html)).status).toBe(0);
    expect(readFileSync(html, 'utf8')).toMatch(/<td>energy per tile<\/td><td>n\/a \(trace level summary: no per-core rows; record them with --trace-level cores\)<\/td>/);
  });
});

describe("a run's scores in runs", () => {
  it('accuracy, rel_rmse and max_abs are those of the outputs written, recomputed here from the labels and a dense run', async () => {
    const data = join(tmp, 'scores');
    expect((await evsim('workload', 'temporal-mnist', '--frames', '12', '--out', data)).status).toBe(0);
    const io = ['--model', join(ROOT, 'sim-configs', 'models', 'mnist-mlp.onnx'), '--frames', join(data, 'frames.npy')];
    const t = join(tmp, 'scores.sqlite');
    const ev = await evsim('run', ...io, '--labels', join(data, 'labels.npy'), '--compare-dense', '--threshold', '0.2', '--outputs', join(data, 'ev.npy'), '--trace', t, '--quiet');
    expect(ev.status, ev.stderr).toBe(0);
    const got = parseNpy(readFileSync(join(data, 'ev.npy')));
    // The dense network's outputs as --compare-dense computes them, the dense executor (a
    // --dense run gets the same values to within float32 rounding, summing in another order).
    const ex = new DenseExecutor(loadOnnx(io[1]!));
    const frames = parseNpy(readFileSync(join(data, 'frames.npy'))).data as Float32Array;
    const ref = { data: new Float32Array(120) };
    for (let f = 0; f < 12; f++) ref.data.set(ex.run(frames.subarray(f * 784, (f + 1) * 784)), f * 10);
    const labels = parseNpy(readFileSync(join(data, 'labels.npy'))).data;
    expect(got.shape).toEqual([12, 10]);
    let correct = 0;
    let sumSq = 0;
    let refSq = 0;
    let maxAbs = 0;
    for (let f = 0; f < 12; f++) {
      const row = Array.from(got.data.subarray(f * 10, f * 10 + 10) as Float32Array);
      if (row.indexOf(Math.max(...row)) === labels[f]) correct++;
      for (let i = f * 10; i < f * 10 + 10; i++) {
        const e = Number(got.data[i]) - ref.data[i]!;
        sumSq += e * e;
        refSq += ref.data[i]! * ref.data[i]!;
        maxAbs = Math.max(maxAbs, Math.abs(e));
      }
    }
    // h = 0.2 leaves an error (not 0 = 0 passing by accident).
    expect(maxAbs).toBeGreaterThan(0);
    const [r] = await queryTrace(t, 'SELECT accuracy, rel_rmse, max_abs FROM runs');
    expect(r!.accuracy).toBe(correct / 12);
    expect(r!.max_abs).toBe(maxAbs);
    expect(r!.rel_rmse as number).toBeCloseTo(Math.sqrt(sumSq / 120) / Math.sqrt(refSq / 120), 12);
    // …and the runs query shows them.
    const [q] = await queryTrace(t, namedQuery('runs'));
    expect([q!.accuracy, q!.rel_rmse]).toEqual([r!.accuracy, r!.rel_rmse]);
  });

  it('are NULL when not computed (no labels, no dense comparison)', async () => {
    const t = join(tmp, 'noscores.sqlite');
    const r = await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--trace', t, '--quiet');
    expect(r.status, r.stderr).toBe(0);
    expect(await queryTrace(t, 'SELECT accuracy, rel_rmse, max_abs FROM runs')).toEqual([{ accuracy: null, rel_rmse: null, max_abs: null }]);
  });
});

/**
 * The schema an older evsim wrote: version 3 lacked runs' policy and threshold, version 2
 * also their scores, and both read frame_summary from frames alone; version 1 also
 * lacked core_frames' shadow-row columns.
 */
function olderSchema(version: 1 | 2 | 3): string {
  let sql = version === 3
    ? SCHEMA_SQL.replace(/\n\s*policy TEXT,\n\s*threshold REAL,/, '')
    : SCHEMA_SQL.replace(/,\n\s*policy TEXT,\n\s*threshold REAL,\n\s*accuracy REAL,\n\s*rel_rmse REAL,\n\s*max_abs REAL\n/, '\n');
  sql = sql.replace(/CREATE VIEW IF NOT EXISTS frame_summary AS[\s\S]*?;\n/, `CREATE VIEW IF NOT EXISTS frame_summary AS
  SELECT run_id, frame, macs, dense_macs, CASE WHEN macs > 0 THEN CAST(dense_macs AS REAL) / macs ELSE NULL END AS ops_reduction,
         transmissions, messages, hops, synops, energy_pj, latency_ns
  FROM frames;\n`);
  if (version === 1) sql = sql.replace(/\s*halo_synops INTEGER NOT NULL DEFAULT 0,\n\s*halo_updates INTEGER NOT NULL DEFAULT 0,/, '');
  expect(sql).not.toMatch(/policy TEXT|r\.policy/);
  if (version < 3) expect(sql).not.toMatch(/max_abs|accuracy REAL/);
  if (version === 1) expect(sql).not.toMatch(/halo_/);
  return sql;
}

/** A file as an older evsim left it: its schema, its version, one completed run of its own. */
async function olderTrace(path: string, version: 1 | 2 | 3, config = '{"policy":"memory-loss","threshold":0.2}'): Promise<void> {
  const db = await openDb(path, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE);
  await exec(db, `${olderSchema(version)}; INSERT INTO schema_version (version) VALUES (${version});
    INSERT INTO runs (created_at, heartbeat_at, status, evsim_version, model, model_hash, chip, trace_level, frames_planned, config_json)
    VALUES ('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'completed', '0.1.0', 'old', 'h', 'loihi', 'cores', 1, '${config}');
    INSERT INTO frames (run_id, frame, macs, dense_macs, adds, transmissions, messages, hops, synops, energy_pj, latency_ns) VALUES (1, 0, 100, 400, 0, 0, 0, 0, 100, 0, 0);`);
  await close(db);
}

describe('a trace written by version 2 of the schema (no policy, threshold or scores in runs)', () => {
  it('is read as it is: the runs and totals queries and the report work, the missing columns read NULL (was: no such column: r.accuracy)', async () => {
    const t = join(tmp, 'v2-read.sqlite');
    await olderTrace(t, 2);
    const runs = await evsim('query', t, '--named', 'runs', '--format', 'json');
    expect(runs.status, runs.stderr).toBe(0);
    // Policy and threshold from the run's recorded config, as before.
    expect((JSON.parse(runs.stdout) as Record<string, unknown>[]).map((r) => [r.policy, r.threshold, r.accuracy, r.rel_rmse])).toEqual([['memory-loss', 0.2, null, null]]);
    const totals = await evsim('query', t, '--named', 'totals', '--format', 'json');
    expect((JSON.parse(totals.stdout) as Record<string, unknown>[])[0]!.ops_reduction).toBe(4);
    const html = join(tmp, 'v2.html');
    const r = await evsim('report', t, '--html', html);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(html, 'utf8')).not.toMatch(/<td>accuracy|error vs dense/);
    expect(readFileSync(html, 'utf8')).toMatch(/EvNet, policy memory-loss, h = 0\.2/);
    // Nothing was written to it.
    expect(await queryTrace(t, 'SELECT version FROM schema_version')).toEqual([{ version: 2 }]);
  });

  it('takes new runs: runs gains policy, threshold and the scores (NULL for old runs), views are this version\'s, the version moves to 4', async () => {
    const t = join(tmp, 'v2.sqlite');
    await olderTrace(t, 2);
    const r = await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--compare-dense', '--trace', t, '--quiet');
    expect(r.status, r.stderr).toBe(0);
    expect(await queryTrace(t, 'SELECT version FROM schema_version')).toEqual([{ version: 4 }]);
    const rows = await queryTrace(t, 'SELECT run_id, policy, threshold, accuracy, max_abs IS NOT NULL AS scored FROM runs ORDER BY run_id');
    expect(rows).toEqual([{ run_id: 1, policy: null, threshold: null, accuracy: null, scored: 0 }, { run_id: 2, policy: 'threshold', threshold: 0.05, accuracy: null, scored: 1 }]);
    expect(await queryTrace(t, "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'frame_summary' AND sql LIKE '%r.policy%'")).toEqual([{ n: 1 }]);
  });

  it('two writers opening it at once both write their runs (was: duplicate column name from the second upgrade)', async () => {
    const t = join(tmp, 'v2-race.sqlite');
    await olderTrace(t, 2);
    const input = readFloat32Npy(join(FIX, 'mlp.input.npy'));
    const one = (): Promise<unknown> => simulate({ model: join(FIX, 'mlp.onnx'), frames: input, chip: 'ideal', trace: t });
    // Three at once (without the retry, an immediate BUSY failed one in a few such runs;
    // more than three in one process can wait on each other for libuv's four threads).
    await Promise.all([one(), one(), one()]);
    expect(await queryTrace(t, "SELECT COUNT(*) AS n, SUM(status = 'completed') AS done FROM runs")).toEqual([{ n: 4, done: 4 }]);
    expect(await queryTrace(t, 'SELECT version FROM schema_version')).toEqual([{ version: 4 }]);
    // A new file set up by several at once holds one version row.
    const fresh = join(tmp, 'fresh-race.sqlite');
    const onto = (): Promise<unknown> => simulate({ model: join(FIX, 'mlp.onnx'), frames: input, chip: 'ideal', trace: fresh });
    await Promise.all([onto(), onto(), onto()]);
    expect(await queryTrace(fresh, 'SELECT COUNT(*) AS n FROM schema_version')).toEqual([{ n: 1 }]);
    expect(await queryTrace(fresh, 'SELECT COUNT(*) AS n FROM runs')).toEqual([{ n: 3 }]);
  });
});

describe('what a run was is stored with it', () => {
  it("a library dense run with the caller's own config is a dense run in the views, queries and report (was: an EvNet with 1.34×)", async () => {
    const t = join(tmp, 'libdense.sqlite');
    const cnn = readFloat32Npy(join(FIX, 'cnn_basic.input.npy'));
    await simulate({ model: join(FIX, 'cnn_basic.onnx'), frames: cnn, dense: true, trace: t, config: { experiment: 'baseline' } });
    expect(await queryTrace(t, 'SELECT policy, threshold FROM runs')).toEqual([{ policy: 'dense', threshold: null }]);
    expect((await queryTrace(t, 'SELECT DISTINCT ops_reduction FROM frame_summary')).map((r) => r.ops_reduction)).toEqual([1]);
    expect((await queryTrace(t, namedQuery('totals')))[0]!.ops_reduction).toBe(1);
    expect((await queryTrace(t, namedQuery('runs')))[0]!.policy).toBe('dense');
    const html = join(tmp, 'libdense.html');
    expect((await evsim('report', t, '--html', html)).status).toBe(0);
    expect(readFileSync(html, 'utf8')).toMatch(/the conventional network \(--dense\)/);
  });
});

describe('a trace written by version 3 of the schema (no policy or threshold in runs)', () => {
  it('takes new runs: runs gains policy and threshold (NULL for old runs), the version moves to 4 (was: no column named policy, exit 1)', async () => {
    const t = join(tmp, 'v3.sqlite');
    await olderTrace(t, 3);
    const r = await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--trace', t, '--quiet');
    expect(r.status, r.stderr).toBe(0);
    expect(await queryTrace(t, 'SELECT version FROM schema_version')).toEqual([{ version: 4 }]);
    expect(await queryTrace(t, 'SELECT run_id, policy, threshold FROM runs ORDER BY run_id')).toEqual([{ run_id: 1, policy: null, threshold: null }, { run_id: 2, policy: 'threshold', threshold: 0.05 }]);
  });
});

describe('a trace written by version 1 of the schema (no shadow-row columns)', () => {
  it('takes new runs: core_frames gains halo_synops and halo_updates (0 for old rows), the version moves to 4', async () => {
    const t = join(tmp, 'v1.sqlite');
    await olderTrace(t, 1);
    const r = await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--trace', t, '--quiet');
    expect(r.status, r.stderr).toBe(0);
    expect(await queryTrace(t, 'SELECT version FROM schema_version')).toEqual([{ version: 4 }]);
    const [n] = await queryTrace(t, 'SELECT COUNT(*) AS n, SUM(halo_synops) AS h FROM core_frames');
    expect(n!.n).toBeGreaterThan(0);
    expect(n!.h).toBe(0);
    expect((await queryTrace(t, 'SELECT policy FROM runs ORDER BY run_id')).map((x) => x.policy)).toEqual([null, 'threshold']);
  });
});

describe('files that are not evsim traces, and a trace that cannot be written', () => {
  const sql = (path: string, q: string): Promise<Record<string, unknown>[]> => new Promise((res, rej) => {
    const db = new sqlite3.Database(path, (e) => {
      if (e) return rej(e);
      db.all(q, (e2, rows) => db.close(() => (e2 ? rej(e2) : res(rows as Record<string, unknown>[]))));
    });
  });
  const mlp = ['--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--chip', 'ideal'];

  it("another program's SQLite database is refused with exit 2 and left as it was (no evsim tables, no WAL)", async () => {
    const t = join(tmp, 'app.sqlite');
    await sql(t, 'CREATE TABLE users (name TEXT)');
    const r = await evsim('run', ...mlp, '--trace', t, '--quiet');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/app\.sqlite is an SQLite database but not an evsim trace \(tables users\)/);
    expect((await sql(t, "SELECT name FROM sqlite_master")).map((x) => x.name)).toEqual(['users']);
    expect((await sql(t, 'PRAGMA journal_mode'))[0]!.journal_mode).toBe('delete');
    for (const args of [['report', t, '--html', join(tmp, 'r.html')], ['query', t, '--named', 'runs']]) {
      const q = await evsim(...args);
      expect(q.status).toBe(2);
      expect(q.stderr).toMatch(/not an evsim trace/);
    }
    writeFileSync(join(tmp, 'text.sqlite'), 'not a database at all\n');
    expect((await evsim('query', join(tmp, 'text.sqlite'), 'SELECT 1 FROM runs')).stderr).toMatch(/text\.sqlite is not an SQLite database/);
  });

  it('a folder, an empty file, a pipe, or a file where a folder should be: exit 2 saying which (was: SQLite I/O errors)', async () => {
    const dir = join(tmp, 'a-folder');
    mkdirSync(dir, { recursive: true });
    const empty = join(tmp, 'empty.sqlite');
    writeFileSync(empty, '');
    const fifo = join(tmp, 'pipe.sqlite');
    spawnSync('mkfifo', [fifo]);
    const cases: [string[], RegExp][] = [
      [['run', ...mlp, '--trace', fifo, '--quiet'], /trace .*pipe\.sqlite is not a regular file \(a pipe or device\); pass --trace elsewhere/],
      [['run', ...mlp, '--trace', dir, '--quiet'], /trace .*a-folder is a folder; give a file name such as .*a-folder\/trace\.sqlite/],
      [['run', ...mlp, '--trace', join(empty, 't.sqlite'), '--quiet'], /empty\.sqlite is a file, not a folder/],
      [['query', dir, 'SELECT 1'], /trace .*a-folder is a folder; give a trace file/],
      [['report', empty, '--html', join(tmp, 'e.html')], /trace .*empty\.sqlite is empty \(no run was ever written to it\)/],
      [['query', empty, '--named', 'runs'], /is empty/],
    ];
    for (const [args, want] of cases) {
      const r = await evsim(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trimEnd()).toMatch(new RegExp(`^evsim: .*${want.source}`));
      expect(r.stderr.trimEnd()).not.toMatch(/\n|SQLITE_/);
    }
  });

  /** One good run into a fresh trace, then a second whose inserts into `table` fail: its exit, stderr and the runs. */
  async function failingWrite(name: string, table: string): Promise<{ t: string; r: Awaited<ReturnType<typeof evsim>>; runs: Record<string, unknown>[] }> {
    const t = join(tmp, `${name}.sqlite`);
    expect((await evsim('run', ...mlp, '--trace', t, '--quiet')).status).toBe(0);
    await sql(t, `CREATE TRIGGER no_${table} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
    const r = await evsim('run', ...mlp, '--trace', t, '--quiet');
    expect(r.status).toBe(1);
    const runs = await sql(t, 'SELECT run_id, status, error, ended_at FROM runs ORDER BY run_id');
    expect(runs.map((x) => x.status)).toEqual(['completed', 'failed']);
    expect(String(runs[1]!.error)).toMatch(/trace write failed: .*disk says no/);
    return { t, r, runs };
  }

  it('a failing write marks the run failed with the error (was: left running)', async () => {
    const { t, r, runs } = await failingWrite('trigger', 'frames');
    expect(r.stderr).toMatch(/disk says no/);
    expect(runs[1]!.ended_at).not.toBeNull();
    // The report reads the last run with frames by default, as the named queries do (was: the failed, empty run 2).
    const out = join(tmp, 'trigger.html');
    expect((await evsim('report', t, '--html', out)).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/<h1>evsim run 1: /);
  });

  it('a write failing as the run begins (its layer rows) exits 1, not 2, and marks it failed (was: bad input, left running)', async () => {
    const { r } = await failingWrite('trigger-layers', 'layers');
    expect(r.stderr.trimEnd()).toMatch(/^evsim: trace .*trigger-layers\.sqlite: .*disk says no$/);
  });
});

describe('a run that dies', () => {
  // Long enough that no machine finishes it before the signal: the signal is sent once the
  // trace holds a committed batch of frames, not after a fixed time.
  const FRAMES = 400;
  const video = join(tmp, 'long.npy');
  writeFileSync(video, encodeNpy(syntheticVideo({ frames: FRAMES, channels: 3, height: 64, width: 64, motion: 'major', seed: 9 })));
  const model = join(ROOT, 'sim-configs', 'models', 'video-cnn.onnx');

  async function committedFrames(trace: string): Promise<number> {
    try {
      const [f] = await queryTrace(trace, 'SELECT COUNT(*) AS n FROM frames');
      return f!.n as number;
    } catch {
      return 0; // not created yet
    }
  }

  async function killAfterFrames(signal: NodeJS.Signals, trace: string, times = 1): Promise<number | null> {
    const child = spawn(process.execPath, [CLI, 'run', '--model', model, '--frames', video, '--workers', '1', '--trace', trace, '--quiet'], { stdio: 'ignore' });
    let done = false;
    const closed = new Promise<number | null>((r) => child.on('close', (code, sig) => { done = true; r(code ?? (sig ? -1 : null)); }));
    while ((await committedFrames(trace)) < 8) await new Promise((r) => setTimeout(r, 100));
    for (let k = 0; k < times && !done; k++) {
      child.kill(signal);
      await new Promise((r) => setTimeout(r, 30));
    }
    return closed;
  }

  it('SIGKILL leaves a consistent file with the committed frames, not completed', async () => {
    const t = join(tmp, 'killed.sqlite');
    await killAfterFrames('SIGKILL', t);
    const ok = await queryTrace(t, 'PRAGMA integrity_check');
    expect(ok).toEqual([{ integrity_check: 'ok' }]);
    const [run] = await queryTrace(t, 'SELECT status, frames_planned FROM runs');
    expect(run!.status).toBe('running');
    const [f] = await queryTrace(t, 'SELECT COUNT(*) AS n, MAX(frame) AS last FROM frames');
    expect(f!.n).toBeGreaterThan(0);
    expect(f!.n).toBeLessThan(FRAMES);
    expect(f!.last).toBe((f!.n as number) - 1); // frames 0…n−1, none missing
  }, 60_000);

  it('SIGINT (pressed three times: the later ones wait for the first) marks the run interrupted and keeps every completed frame', async () => {
    const t = join(tmp, 'interrupted.sqlite');
    const code = await killAfterFrames('SIGINT', t, 3);
    expect(code).toBe(130);
    const [run] = await queryTrace(t, 'SELECT status FROM runs');
    expect(run!.status).toBe('interrupted');
    const [f] = await queryTrace(t, 'SELECT COUNT(*) AS n, MAX(frame) AS last FROM frames');
    expect(f!.n).toBeGreaterThanOrEqual(8);
    expect(f!.n).toBeLessThan(FRAMES);
    expect(f!.last).toBe((f!.n as number) - 1);
  }, 60_000);
});
