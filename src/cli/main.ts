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
import { refuseOverwrite } from '../files.js';
import { sweepCommand, type SweepArgs } from './sweep.js';
import { workloadCommand } from './workload.js';
import { listNamed, namedQuery, namedQueryNote, runsColumnsOf, traceRun } from '../trace/query.js';
import { printQuery } from './query.js';
import { writeReport } from '../trace/report.js';
import { evsimVersion } from '../version.js';

function runOptions(y: Argv): Argv<RunArgs> {
  return y
    .positional('config', { type: 'string', describe: 'YAML run config (flags override it)' })
    .option('model', { type: 'string', requiresArg: true, describe: 'ONNX model (opsets 7–21; 11–17 as torch exports them)' })
    .option('model-output', { type: 'string', requiresArg: true, describe: "the model output to simulate, by name (a model with several; each is computed from its own branch)" })
    .option('frames', { type: 'string', requiresArg: true, describe: 'float32 .npy video [T, ...input shape]' })
    .option('labels', { type: 'string', requiresArg: true, describe: 'int .npy [T]: adds accuracy' })
    .option('max-frames', { type: 'number', requiresArg: true, describe: 'simulate at most N frames' })
    .option('threshold', { type: 'number', requiresArg: true, describe: 'global gate threshold h (default 0.05)' })
    .option('policy', { type: 'string', requiresArg: true, describe: `${POLICY_HELP} (default threshold)` })
    .option('memory-loss', { type: 'boolean', describe: 'short for --policy memory-loss (Skip-Conv)' })
    .option('chip', { type: 'string', requiresArg: true, describe: 'loihi | loihi-fitted | truenorth | ideal | FILE.yaml (default loihi)' })
    .option('mesh', { type: 'string', requiresArg: true, describe: 'auto (grow to fit, default) | WxH' })
    .option('placement', { choices: ['snake', 'hilbert'] as const, describe: 'core placement (default snake)' })
    .option('dense', { type: 'boolean', describe: 'the conventional baseline on the same chip (re-flush every frame)' })
    .option('compare-dense', { type: 'boolean', describe: 'also run the dense network and report output error' })
    .option('workers', { type: 'number', requiresArg: true, describe: 'worker threads (default min(2, cores))' })
    .option('trace', { type: 'string', requiresArg: true, describe: 'SQLite trace path (default traces/<model>.sqlite; --no-trace: none)' })
    .option('trace-level', { choices: ['summary', 'cores', 'events'] as const, describe: 'what the trace records (default cores)' })
    .option('outputs', { type: 'string', requiresArg: true, describe: 'write outputs as float32 .npy [T, ...output shape]' })
    .option('json', { type: 'boolean', describe: 'print one JSON object on stdout' })
    .option('quiet', { type: 'boolean', describe: 'no progress, no summary' }) as unknown as Argv<RunArgs>;
}

/** Valued flags whose --no- form means something: no trace file, no Pareto plot. */
const NEGATABLE: ReadonlySet<string> = new Set(['trace', 'svg']);

/** What --no-NAME of any other valued flag gets (yargs makes one of every option). */
const notNegatable = (name: string): string => `--no-${name} is not an option: --${name} takes a value, and leaving it out gives the default`;

/** How a command's valued flags must look (numbers are checked as typed, see checkFlags). */
type FlagKind = 'value' | 'flag' | 'number' | 'positive-int' | 'int';

/** What the user typed after --name (yargs has already turned a non-number into NaN). */
function typed(argv: readonly string[], name: string): string {
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === `--${name}`) return argv[i + 1] ?? '';
    if (t.startsWith(`--${name}=`)) return t.slice(name.length + 3);
  }
  return '';
}

/**
 * A command's flags as yargs parsed them: each given once (yargs collects a repeated
 * flag into an array), with a value, numbers as numbers of the right kind — each
 * problem exits 2 naming the flag and echoing what was typed.
 */
function checkFlags(a: Record<string, unknown>, argv: readonly string[], kinds: Record<string, FlagKind>): void {
  for (const [name, kind] of Object.entries(kinds)) {
    const v = a[name];
    if (v === undefined) continue;
    const both = argv.some((t) => t === `--${name}` || t.startsWith(`--${name}=`)) && argv.includes(`--no-${name}`);
    if (both) throw new EvsimError('BAD_USAGE', `--${name} and --no-${name} both given; give one`);
    if (Array.isArray(v)) throw new EvsimError('BAD_USAGE', `--${name} given ${v.length} times; give it once`);
    if (kind === 'flag') {
      // yargs reads any value but 'true' as false (--dense=maybe).
      const bad = argv.find((t) => t.startsWith(`--${name}=`) && !/=(true|false)$/.test(t));
      if (bad) throw new EvsimError('BAD_USAGE', `--${name} is a switch: give --${name} (or --no-${name}), not '${bad}'`);
      continue;
    }
    // yargs makes --no-NAME of every option (false, or 0 for a number): only --no-trace
    // and --no-svg mean something.
    if (argv.includes(`--no-${name}`) || v === false) {
      if (NEGATABLE.has(name)) continue;
      throw new EvsimError('BAD_USAGE', notNegatable(name));
    }
    if (kind === 'value') {
      if (v === '') throw new EvsimError('BAD_USAGE', `--${name} needs a value`);
      continue;
    }
    const raw = typed(argv, name);
    // yargs reads an empty value (`--threshold ""`, an unset shell variable) as 0.
    const given = argv.some((t) => t === `--${name}` || t.startsWith(`--${name}=`));
    if (given && raw.trim() === '') throw new EvsimError('BAD_USAGE', `--${name} needs a value, got an empty one`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new EvsimError('BAD_USAGE', `--${name} needs a number, got '${raw}'`);
    if (kind === 'positive-int' && (!Number.isInteger(v) || v < 1)) throw new EvsimError('BAD_USAGE', `--${name} must be a positive integer, got '${raw}'`);
    if (kind === 'int' && !Number.isInteger(v)) throw new EvsimError('BAD_USAGE', `--${name} must be an integer, got '${raw}'`);
  }
  if (typeof a.threshold === 'number' && a.threshold < 0) throw new EvsimError('BAD_USAGE', `--threshold must be ≥ 0, got ${typed(argv, 'threshold')}`);
}

const RUN_FLAGS: Record<string, FlagKind> = {
  model: 'value', 'model-output': 'value', frames: 'value', labels: 'value', 'max-frames': 'positive-int', threshold: 'number',
  policy: 'value', 'memory-loss': 'flag', chip: 'value', mesh: 'value', placement: 'value', dense: 'flag',
  'compare-dense': 'flag', workers: 'positive-int', trace: 'value', 'trace-level': 'value', outputs: 'value', json: 'flag', quiet: 'flag',
};

function fail(err: unknown): never {
  if (isEvsimError(err)) {
    process.stderr.write(`evsim: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  const e = err as Error;
  // Too little memory for the model's arrays (a huge input or layer) is no bug of evsim's.
  if (e instanceof RangeError && /Array buffer allocation failed/.test(e.message)) {
    process.stderr.write('evsim: out of memory for the model\'s arrays; export the model at a smaller input size, or run with fewer frames or --workers 1\n');
    process.exit(1);
  }
  process.stderr.write(`evsim: internal error: ${e?.message ?? String(err)}\n`);
  if (process.env.EVSIM_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  process.exit(1);
}

const COMMANDS = ['run', 'inspect', 'sweep', 'workload', 'query', 'report'];

/**
 * One line from a yargs usage message: multi-line messages (invalid choices) joined, an
 * unknown first word called an unknown command, each unknown flag named once (yargs
 * also lists its camelCase form), and the help to read named after the command.
 */
function usageMessage(msg: string, argv: readonly string[]): string {
  const cmd = COMMANDS.includes(argv[0] ?? '') ? argv[0] : null;
  if (!cmd && argv[0] && !argv[0].startsWith('-')) return `unknown command '${argv[0]}'; commands: ${COMMANDS.join(', ')} (see evsim --help)`;
  let text = msg.replace(/:?\s*\n\s*/g, ': ');
  const missing = /^Not enough arguments following: (\S+)$/.exec(text);
  if (missing) text = `--${missing[1]} needs a value`;
  const choice = /^Invalid values: Argument: ([\w-]+), Given: (.*), Choices: (.*)$/.exec(text);
  if (choice && choice[2] === 'false' && argv.includes(`--no-${choice[1]}`)) text = notNegatable(choice[1]!);
  else if (choice) text = `${choice[1] === 'kind' ? 'the workload' : `--${choice[1]}`} must be one of ${choice[3]!.replace(/"/g, '')}, got ${choice[2] === 'true' ? 'no value' : choice[2]!.replace(/"/g, "'")}`;
  const unknown = /^Unknown arguments?: (.*)$/.exec(text);
  if (unknown) {
    const names = unknown[1]!.split(', ').filter((n) => !/[A-Z]/.test(n) || !unknown[1]!.split(', ').includes(n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)));
    // yargs names a surplus positional argument like an option: say which it was.
    const positional = names.filter((n) => argv.includes(n) && !argv.some((t) => t === `--${n}` || t.startsWith(`--${n}=`) || t === `-${n}`));
    const options = names.filter((n) => !positional.includes(n));
    const parts: string[] = [];
    if (options.length > 0) parts.push(`unknown ${options.length === 1 ? 'option' : 'options'} ${options.map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(', ')}`);
    if (positional.length > 0) parts.push(`unexpected ${positional.length === 1 ? 'argument' : 'arguments'} ${positional.map((n) => `'${n}'`).join(', ')}`);
    text = parts.join('; ');
  }
  return `${text} (see evsim ${cmd ? `${cmd} ` : ''}--help)`;
}

/**
 * A reader that stops early (`evsim query … | head`) closes the pipe: the rest of the
 * output has nowhere to go, which is not an error of the command. The command goes on
 * (a sweep finishes its points) and its output is dropped; its exit code is its own.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      stream.write = (() => true) as typeof stream.write;
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  quietOnClosedPipe();
  let exitCode = 0;
  const cli = yargs(argv)
    .scriptName('evsim')
    .usage('$0 <command> [options]\n\nSimulate Event Neural Networks on a virtual neuromorphic chip.')
    .command(
      'run [config]',
      'simulate an EvNet over a video',
      (y) => runOptions(y),
      async (a) => {
        checkFlags(a as unknown as Record<string, unknown>, argv, RUN_FLAGS);
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
          .option('model-output', { type: 'string', requiresArg: true, describe: 'the model output to show, by name (a model with several)' })
          .option('chip', { type: 'string', requiresArg: true, describe: 'also map onto this chip (preset or YAML file)' })
          .option('mesh', { type: 'string', requiresArg: true, describe: 'auto | WxH (default: grow to fit)' })
          .option('placement', { choices: ['snake', 'hilbert'] as const, describe: 'core placement strategy' })
          .option('workers', { type: 'number', requiresArg: true, describe: 'show which actor runs each layer with this many workers (default min(2, cores))' })
          .option('policy', { type: 'string', requiresArg: true, describe: 'map as a run with this policy would (chunk:C keeps C channels on a core)' })
          .option('json', { type: 'boolean', describe: 'print JSON' }),
      (a) => {
        checkFlags(a as unknown as Record<string, unknown>, argv, { 'model-output': 'value', chip: 'value', mesh: 'value', placement: 'value', workers: 'positive-int', policy: 'value', json: 'flag' });
        if (a.chip === undefined) {
          const chipOnly = (['mesh', 'placement', 'workers', 'policy'] as const).filter((k) => a[k] !== undefined);
          if (chipOnly.length > 0) throw new EvsimError('BAD_USAGE', `${chipOnly.map((k) => `--${k}`).join(', ')} ${chipOnly.length === 1 ? 'describes' : 'describe'} a mapping: add --chip PRESET|FILE.yaml`);
        }
        process.stdout.write(`${inspectModel({ model: a.model as string, modelOutput: a.modelOutput, json: a.json, chip: a.chip, mesh: a.mesh ?? 'auto', placement: a.placement, workers: a.workers, policy: a.policy })}\n`);
      },
    )
    .command(
      'sweep <file>',
      'run a design-space sweep (grid and points of chip/policy settings) and rank it on a Pareto front',
      (y) =>
        y
          .positional('file', { type: 'string', demandOption: true, describe: 'sweep YAML (base, grid, points; see sim-configs/sweeps/)' })
          .option('workers', { type: 'number', requiresArg: true, describe: 'points run in parallel (default min(2, cores))' })
          .option('out', { type: 'string', requiresArg: true, describe: 'SQLite file for every point (default traces/sweep-<name>.sqlite); re-running resumes' })
          .option('pareto', { type: 'string', requiresArg: true, describe: 'objectives, e.g. energy_pj,latency_ns,error (default: the file\'s pareto:, else those three; macs,error when every point runs on ideal)' })
          .option('svg', { type: 'string', requiresArg: true, describe: 'Pareto scatter .svg (default beside --out; --no-svg: none)' })
          .option('retry-failed', { type: 'boolean', describe: 'run again the points that failed before' })
          .option('json', { type: 'boolean', describe: 'print the result as one JSON object' })
          .option('quiet', { type: 'boolean', describe: 'no progress, no summary' }),
      async (a) => {
        checkFlags(a as unknown as Record<string, unknown>, argv, {
          workers: 'positive-int', out: 'value', pareto: 'value', svg: 'value', 'retry-failed': 'flag', json: 'flag', quiet: 'flag',
        });
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
          .option('frames', { type: 'number', requiresArg: true, describe: 'number of frames (video default 100; temporal-mnist default all 10000)' })
          .option('size', { type: 'string', requiresArg: true, describe: 'video: HxW (default 128x128)' })
          .option('channels', { type: 'number', requiresArg: true, describe: 'video: channels (default 3)' })
          .option('seed', { type: 'number', requiresArg: true, describe: 'video: seed (default 1)' })
          .option('out', { type: 'string', requiresArg: true, demandOption: true, describe: 'output folder' }),
      (a) => {
        checkFlags(a as unknown as Record<string, unknown>, argv, {
          motion: 'value', frames: 'positive-int', size: 'value', channels: 'positive-int', seed: 'int', out: 'value',
        });
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
          .option('named', { type: 'string', requiresArg: true, describe: 'a ready-made query (see --list)' })
          .option('run', { type: 'number', requiresArg: true, describe: 'with --named: the run it reads (default: the last run with rows of its kind)' })
          .option('list', { type: 'boolean', describe: 'list the named queries' })
          .option('format', { choices: ['table', 'csv', 'json'] as const, default: 'table' as const }),
      async (a) => {
        checkFlags(a as unknown as Record<string, unknown>, argv, { named: 'value', list: 'flag', format: 'value', run: 'positive-int' });
        if (a.list) {
          process.stdout.write(`${a.format === 'json' ? JSON.stringify(listNamed(true)) : listNamed()}\n`);
          return;
        }
        if (!a.sql && !a.named) throw new EvsimError('BAD_USAGE', 'give a SQL statement or --named NAME (see --list)');
        if (a.sql && a.named) throw new EvsimError('BAD_USAGE', 'give either a SQL statement or --named NAME, not both');
        if (a.run !== undefined && !a.named) throw new EvsimError('BAD_USAGE', '--run applies to --named queries; in SQL, filter on run_id');
        const sql = a.named ? namedQuery(a.named, a.run, await runsColumnsOf(a.trace as string)) : (a.sql as string);
        // A run that is not there exits 2, as report --run does, rather than printing no rows.
        if (a.run !== undefined) await traceRun(a.trace as string, a.run);
        await printQuery(a.trace as string, sql, a.format);
        const note = a.named ? await namedQueryNote(a.trace as string, a.named, a.run) : null;
        if (note) process.stderr.write(`${note}\n`);
      },
    )
    .command(
      'report <trace>',
      'write a self-contained HTML report of a traced run',
      (y) =>
        y
          .positional('trace', { type: 'string', demandOption: true, describe: 'trace file (.sqlite)' })
          .option('run', { type: 'number', requiresArg: true, describe: 'run id (default: the last run with frames)' })
          .option('html', { type: 'string', requiresArg: true, demandOption: true, describe: 'output .html file' }),
      async (a) => {
        checkFlags(a as unknown as Record<string, unknown>, argv, { run: 'positive-int', html: 'value' });
        refuseOverwrite([['--html', a.html]], [['trace', a.trace]]);
        const out = await writeReport(a.trace as string, a.html as string, a.run);
        process.stdout.write(`wrote ${out}\n`);
      },
    )
    .demandCommand(1, 'name a command: run, inspect, query, report, sweep or workload')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    // Its own package's version: yargs would otherwise guess it from the nearest package.json (the user's project).
    .version(evsimVersion())
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // yargs reports its own usage errors (a flag without its value) as YError.
      if (err && err.name !== 'YError') throw err;
      throw new EvsimError('BAD_USAGE', usageMessage(msg ?? err?.message ?? 'bad usage', argv));
    });
  try {
    await cli.parseAsync();
  } catch (e) {
    fail(e);
  }
  // An interrupted command leaves at once: a Ctrl-C pressed again while Node tears down
  // (its signal handlers already reset) would end the process by the signal, not 130.
  if (exitCode === 130) process.exit(130);
  process.exitCode = exitCode;
}

main(hideBin(process.argv)).catch(fail);
