/**
 * `npm run demo`: makes a slowly changing synthetic video, runs the shipped residual
 * CNN as an EvNet on it (config sim-configs/quickstart.yaml) beside the dense network,
 * and prints the summary and commands to go further.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRunConfig, resolveSettings } from '../config/run-config.js';
import { simulate } from '../runtime/simulate.js';
import { writeNpy } from '../workloads/npy.js';
import { syntheticVideo } from '../workloads/video.js';
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
  const started = performance.now();
  const r = await simulate({
    model: s.model, frames: s.frames!, threshold: s.threshold, policy: s.policy, chip: s.chip, compareDense: s.compareDense,
    onFrame: (done, total) => {
      if (process.stderr.isTTY) process.stderr.write(`\r  frame ${done}/${total}${done === total ? '\n' : ''}`);
    },
  });
  console.log(summary(r, performance.now() - started));
  const model = rel(s.model);
  console.log(`
Try next:
  node dist/src/cli/main.js inspect ${model} --chip loihi
  node dist/src/cli/main.js run ${rel(configPath)} --threshold 0.1
  node dist/src/cli/main.js run ${rel(configPath)} --dense --max-frames 8          # the conventional network on the same chip
  node dist/src/cli/main.js run ${rel(configPath)} --chip loihi-fitted --workers 2
  node dist/src/cli/main.js run ${rel(configPath)} --memory-loss --json | head -c 400
  node dist/src/cli/main.js run ${rel(configPath)} --policy rounding --outputs traces/demo-outputs.npy
(SQLite traces and 'evsim query' are the next milestone.)`);
}

demo().catch((e) => {
  console.error(`evsim demo: ${(e as Error).message}`);
  process.exit(1);
});
