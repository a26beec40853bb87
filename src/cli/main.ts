#!/usr/bin/env node
/**
 * The `evsim` command. Handlers only parse and call the library; every EvsimError
 * becomes a one-line message and its exit code (2 bad input, 1 failure, 130 interrupted).
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EvsimError, isEvsimError } from '../errors.js';
import { POLICY_HELP } from '../model/evnet/policy.js';
import { inspectModel } from './inspect.js';
import { runCommand, type RunArgs } from './run.js';
import { rejectRepeated, sweepCommand, type SweepArgs } from './sweep.js';
import { workloadCommand } from './workload.js';
import { formatRows, listNamed, namedQuery, queryTrace } from '../trace/query.js';
import { writeReport } from '../trace/report.js';

function runOptions(y: Argv): Argv<RunArgs> {
  return y
    .positional('config', { type: 'string', describe: 'YAML run config (flags override it)' })
    .option('model', { type: 'string', describe: 'ONNX model (opset 11–17)' })
    .option('frames', { type: 'string', describe: 'float32 .npy video [T, ...input shape]' })
    .option('labels', { type: 'string', describe: 'int .npy [T]: adds accuracy' })
    .option('max-frames', { type: 'number', describe: 'simulate at most N frames' })
    .option('threshold', { type: 'number', describe: 'global gate threshold h (default 0.05)' })
    .option('policy', { type: 'string', describe: POLICY_HELP })
    .option('memory-loss', { type: 'boolean', describe: 'short for --policy memory-loss (Skip-Conv)' })
    .option('chip', { type: 'string', describe: 'loihi | loihi-fitted | truenorth | ideal | FILE.yaml (default loihi)' })
    .option('mesh', { type: 'string', describe: 'auto (grow to fit, default) | WxH' })
    .option('placement', { choices: ['snake', 'hilbert'] as const, describe: 'core placement (default snake)' })
    .option('dense', { type: 'boolean', describe: 'the conventional baseline on the same chip (re-flush every frame)' })
    .option('compare-dense', { type: 'boolean', describe: 'also run the dense network and report output error' })
    .option('workers', { type: 'number', describe: 'worker threads (default min(2, cores))' })
    .option('trace', { type: 'string', describe: 'SQLite trace path (default traces/<model>.sqlite; --no-trace: none)' })
    .option('trace-level', { choices: ['summary', 'cores', 'events'] as const, describe: 'what the trace records' })
    .option('outputs', { type: 'string', describe: 'write outputs as float32 .npy [T, ...output shape]' })
    .option('json', { type: 'boolean', describe: 'print one JSON object on stdout' })
    .option('quiet', { type: 'boolean', describe: 'no progress, no summary' }) as unknown as Argv<RunArgs>;
}

function checkNumbers(a: Record<string, unknown>): void {
  for (const k of ['threshold', 'max-frames', 'workers'] as const) {
    const v = a[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || Number.isNaN(v)) throw new EvsimError('BAD_USAGE', `--${k} needs a number, got '${String(v)}'`);
  }
  if (typeof a.threshold === 'number' && a.threshold < 0) throw new EvsimError('BAD_USAGE', `--threshold must be ≥ 0, got ${a.threshold}`);
  if (typeof a['max-frames'] === 'number' && (!Number.isInteger(a['max-frames']) || a['max-frames'] < 1)) {
    throw new EvsimError('BAD_USAGE', `--max-frames must be a positive integer, got ${a['max-frames']}`);
  }
  if (typeof a.workers === 'number' && (!Number.isInteger(a.workers) || a.workers < 1)) {
    throw new EvsimError('BAD_USAGE', `--workers must be a positive integer, got ${a.workers}`);
  }
}

function fail(err: unknown): never {
  if (isEvsimError(err)) {
    process.stderr.write(`evsim: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  const e = err as Error;
  process.stderr.write(`evsim: internal error: ${e?.message ?? String(err)}\n`);
  if (process.env.EVSIM_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  process.exit(1);
}

export async function main(argv: string[]): Promise<void> {
  let exitCode = 0;
  const cli = yargs(argv)
    .scriptName('evsim')
    .usage('$0 <command> [options]\n\nSimulate Event Neural Networks on a virtual neuromorphic chip.')
    .command(
      'run [config]',
      'simulate an EvNet over a video',
      (y) => runOptions(y),
      async (a) => {
        checkNumbers(a as unknown as Record<string, unknown>);
        const args = a as unknown as RunArgs & { trace?: string | boolean };
        // yargs turns --no-trace into trace: false.
        exitCode = await runCommand({ ...args, trace: args.trace === false ? false : (args.trace as string | undefined) });
      },
    )
    .command(
      'inspect <model>',
      'show the graph, domains, inserted gates/accumulators, MACs and memory',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model' })
          .option('chip', { type: 'string', describe: 'also map onto this chip (preset or YAML file)' })
          .option('mesh', { type: 'string', describe: 'auto | WxH (default: grow to fit)' })
          .option('placement', { choices: ['snake', 'hilbert'] as const, describe: 'core placement strategy' })
          .option('workers', { type: 'number', describe: 'show which actor runs each layer with this many workers (default min(2, cores))' })
          .option('json', { type: 'boolean', describe: 'print JSON' }),
      (a) => {
        rejectRepeated(a as unknown as Record<string, unknown>, ['workers']);
        if (a.workers !== undefined && (!Number.isInteger(a.workers) || a.workers < 1)) {
          throw new EvsimError('BAD_USAGE', `--workers must be a positive integer, got ${a.workers}`);
        }
        process.stdout.write(`${inspectModel({ model: a.model as string, json: a.json, chip: a.chip, mesh: a.mesh ?? 'auto', placement: a.placement, workers: a.workers })}\n`);
      },
    )
    .command(
      'sweep <file>',
      'run a design-space sweep (grid and points of chip/policy settings) and rank it on a Pareto front',
      (y) =>
        y
          .positional('file', { type: 'string', demandOption: true, describe: 'sweep YAML (base, grid, points; see sim-configs/sweeps/)' })
          .option('workers', { type: 'number', describe: 'points run in parallel (default min(2, cores))' })
          .option('out', { type: 'string', describe: 'SQLite file for every point (default traces/sweep-<name>.sqlite); re-running resumes' })
          .option('pareto', { type: 'string', describe: 'objectives, e.g. energy_pj,latency_ns,error (default: the file\'s pareto:, else those three)' })
          .option('svg', { type: 'string', describe: 'Pareto scatter .svg (default beside --out; --no-svg: none)' })
          .option('retry-failed', { type: 'boolean', describe: 'run again the points that failed before' })
          .option('json', { type: 'boolean', describe: 'print the result as one JSON object' })
          .option('quiet', { type: 'boolean', describe: 'no progress, no summary' }),
      async (a) => {
        rejectRepeated(a as unknown as Record<string, unknown>, ['workers', 'out', 'pareto', 'svg', 'retry-failed', 'json', 'quiet']);
        checkNumbers(a as unknown as Record<string, unknown>);
        exitCode = await sweepCommand(a as unknown as SweepArgs);
      },
    )
    .command(
      'workload <kind>',
      'write a workload as .npy: video → frames.npy [T, C, H, W]; temporal-mnist → frames.npy [T, 784] + labels.npy [T]',
      (y) =>
        y
          .positional('kind', { choices: ['video', 'temporal-mnist'] as const, demandOption: true, describe: 'workload' })
          .option('motion', { choices: ['none', 'minor', 'major'] as const, describe: 'video: camera motion (default minor)' })
          .option('frames', { type: 'number', describe: 'number of frames (video default 100; temporal-mnist default all 10000)' })
          .option('size', { type: 'string', describe: 'video: HxW (default 128x128)' })
          .option('channels', { type: 'number', describe: 'video: channels (default 3)' })
          .option('seed', { type: 'number', describe: 'video: seed (default 1)' })
          .option('out', { type: 'string', demandOption: true, describe: 'output folder' }),
      (a) => {
        process.stdout.write(`${workloadCommand(a as unknown as Parameters<typeof workloadCommand>[0])}\n`);
      },
    )
    .command(
      'query <trace> [sql]',
      'run read-only SQL over a trace (or a named query)',
      (y) =>
        y
          .positional('trace', { type: 'string', demandOption: true, describe: 'trace file (.sqlite)' })
          .positional('sql', { type: 'string', describe: 'a SELECT statement' })
          .option('named', { type: 'string', describe: 'a ready-made query (see --list)' })
          .option('list', { type: 'boolean', describe: 'list the named queries' })
          .option('format', { choices: ['table', 'csv', 'json'] as const, default: 'table' as const }),
      async (a) => {
        if (a.list) {
          process.stdout.write(`${listNamed()}\n`);
          return;
        }
        if (!a.sql && !a.named) throw new EvsimError('BAD_USAGE', 'give a SQL statement or --named NAME (see --list)');
        if (a.sql && a.named) throw new EvsimError('BAD_USAGE', 'give either a SQL statement or --named NAME, not both');
        const rows = await queryTrace(a.trace as string, a.named ? namedQuery(a.named) : (a.sql as string));
        const text = formatRows(rows, a.format);
        if (text) process.stdout.write(`${text}\n`);
      },
    )
    .command(
      'report <trace>',
      'write a self-contained HTML report of a traced run',
      (y) =>
        y
          .positional('trace', { type: 'string', demandOption: true, describe: 'trace file (.sqlite)' })
          .option('run', { type: 'number', describe: 'run id (default: the last run)' })
          .option('html', { type: 'string', demandOption: true, describe: 'output .html file' }),
      async (a) => {
        if (a.run !== undefined && (!Number.isInteger(a.run) || a.run < 1)) throw new EvsimError('BAD_USAGE', `--run must be a run id, got ${a.run}`);
        const out = await writeReport(a.trace as string, a.html as string, a.run);
        process.stdout.write(`wrote ${out}\n`);
      },
    )
    .demandCommand(1, 'name a command: run, inspect, query, report, sweep or workload')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      // yargs spreads some messages (invalid choices) over lines: keep the one-line rule.
      throw new EvsimError('BAD_USAGE', `${msg.replace(/:?\s*\n\s*/g, ': ')} (see evsim --help)`);
    });
  try {
    await cli.parseAsync();
  } catch (e) {
    fail(e);
  }
  process.exitCode = exitCode;
}

main(hideBin(process.argv)).catch(fail);
