/**
 * `npm run demo`: makes a slowly changing synthetic video, runs the shipped residual
 * CNN as an EvNet on it (config sim-configs/quickstart.yaml) beside the dense network,
 * and prints the summary and commands to go further.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRunConfig, resolveSettings } from '../config/run-config.js';
import { simulate } from '../runtime/simulate.js';
import { writeNpy } from '../workloads/npy.js';
import { syntheticVideo } from '../workloads/video.js';
import { SqliteTraceSink } from '../trace/sqlite-sink.js';
import { evsimVersion } from '../version.js';
import { summary } from './run.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function demo(): Promise<void> {
  const configPath = join(root, 'sim-configs', 'quickstart.yaml');
  const cfg = loadRunConfig(configPath);
  const s = resolveSettings(cfg, {}, () => '');
  mkdirSync(dirname(s.frames!), { recursive: true });
  const video = syntheticVideo({ frames: 48, channels: 3, height: 128, width: 128, motion: 'minor', seed: 7 });
  writeNpy(s.frames!, video);
  const rel = (p: string): string => relative(process.cwd(), p) || '.';
  console.log(`evsim demo: ${rel(s.model)} as an EvNet over a 48-frame synthetic video (${rel(s.frames!)})\n`);
  const tracePath = join(root, 'traces', 'demo.sqlite');
  for (const f of [tracePath, `${tracePath}-wal`, `${tracePath}-shm`]) rmSync(f, { force: true });
  const started = performance.now();
  const r = await simulate({
    model: s.model, frames: s.frames!, threshold: s.threshold, policy: s.policy, chip: s.chip, compareDense: s.compareDense,
    trace: new SqliteTraceSink(tracePath, 'cores', evsimVersion()), config: s,
    onFrame: (done, total) => {
      if (process.stderr.isTTY) process.stderr.write(`\r  frame ${done}/${total}${done === total ? '\n' : ''}`);
    },
  });
  console.log(summary(r, performance.now() - started));
  const model = rel(s.model);
  const t = rel(tracePath);
  console.log(`
Query the trace (SQLite; read-only):
  node dist/src/cli/main.js query ${t} --named frames
  node dist/src/cli/main.js query ${t} --named hot-cores
  node dist/src/cli/main.js query ${t} "SELECT layer, cores, ROUND(energy_pj / 1e6, 3) AS energy_uj FROM (SELECT l.name AS layer, COUNT(DISTINCT c.core_id) AS cores, SUM(cf.energy_pj) AS energy_pj FROM core_frames cf JOIN cores c USING (run_id, core_id) JOIN layers l ON l.run_id = c.run_id AND l.layer_id = c.layer_id GROUP BY l.layer_id) ORDER BY energy_pj DESC"
  node dist/src/cli/main.js query ${t} --list
  node dist/src/cli/main.js report ${t} --html traces/demo-report.html   # charts, one self-contained page

Try next:
  node dist/src/cli/main.js inspect ${model} --chip loihi
  node dist/src/cli/main.js run ${rel(configPath)} --threshold 0.1
  node dist/src/cli/main.js run ${rel(configPath)} --dense --max-frames 8          # the conventional network on the same chip
  node dist/src/cli/main.js run ${rel(configPath)} --chip loihi-fitted --workers 2
  node dist/src/cli/main.js run ${rel(configPath)} --memory-loss --json | head -c 400
  node dist/src/cli/main.js run ${rel(configPath)} --policy rounding --outputs traces/demo-outputs.npy
(npx evsim … works the same once the package is installed.)`);
}

demo().catch((e) => {
  console.error(`evsim demo: ${(e as Error).message}`);
  process.exit(1);
});
