/**
 * One chip simulation in its own process, for `npm run bench`: prints wall time of the
 * frame loop, synops and the process's peak RSS (worker threads included) as JSON.
 * Usage: node dist/bench/chip-child.js WORKERS FRAMES [TRACE_LEVEL]
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadChip } from '../src/config/chip-config.js';
import { parsePolicy } from '../src/model/evnet/policy.js';
import { loadOnnx } from '../src/model/onnx/import.js';
import { runChip } from '../src/runtime/chip/run-chip.js';
import { checkFrames } from '../src/runtime/inputs.js';
import { syntheticVideo } from '../src/workloads/video.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { SqliteTraceSink } from '../src/trace/sqlite-sink.js';
import { queryTrace } from '../src/trace/query.js';

async function countRows(path: string): Promise<number> {
  const [r] = await queryTrace(path, 'SELECT (SELECT COUNT(*) FROM frames) + (SELECT COUNT(*) FROM layer_frames) + (SELECT COUNT(*) FROM core_frames) + (SELECT COUNT(*) FROM events) AS n');
  return Number(r!.n);
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workers = Number(process.argv[2] ?? 1);
const count = Number(process.argv[3] ?? 24);
const level = process.argv[4] as 'summary' | 'cores' | 'events' | undefined;
const tracePath = level ? join(mkdtempSync(join(tmpdir(), 'evsim-bench-')), 't.sqlite') : null;
const g = loadOnnx(join(root, 'sim-configs', 'models', 'demo-cnn.onnx'));
const v = syntheticVideo({ frames: count, channels: 3, height: 128, width: 128, motion: 'minor', seed: 7 });
const frames = checkFrames(g, v.shape, v.data, 'video');
let first = 0;
const sink = tracePath ? new SqliteTraceSink(tracePath, level!, 'bench') : null;
const t0 = performance.now();
const run = await runChip(g, frames, count, {
  threshold: 0.05, policy: parsePolicy('threshold'), chip: loadChip('loihi'), mesh: 'auto', workers,
  onFrame: (done) => { if (done === 1) first = performance.now(); },
  trace: sink ? { sink, info: { model: 'demo-cnn', modelHash: 'bench', chip: 'loihi', config: null, frames: count } } : null,
});
await sink?.end('completed');
const end = performance.now();
process.stdout.write(`${JSON.stringify({
  workers, frames: count, synops: run.result.totals.synops, energy_pj: run.result.totals.energy_pj,
  total_ms: end - t0, loop_ms: end - first, loop_synops: run.result.totals.synops - run.result.per_frame[0]!.synops,
  maxrss_kb: process.resourceUsage().maxRSS,
  trace_rows: tracePath ? await countRows(tracePath) : 0,
})}\n`);
