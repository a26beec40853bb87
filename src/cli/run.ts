/** `evsim run`: parse flags and config, call `simulate`, print a summary or JSON. */
import { holdCtrlC } from './interrupt.js';
import { basename, join, resolve } from 'node:path';
import { EvsimError } from '../errors.js';
import { checkTracePath } from '../trace/paths.js';
import { chipForTrace, isChipFile, resolveChip } from '../config/chip-config.js';
import { loadRunConfig, resolveSettings, type RunConfigFile } from '../config/run-config.js';
import { simulate, type SimulateResult } from '../simulate.js';
import { parseMesh } from './inspect.js';
import { fmtBytes, fmtInt, fmtPct, fmtSi, workersNote } from './format.js';
import { makeDirs, refuseOverwrite } from '../files.js';

export interface RunArgs {
  config?: string;
  model?: string;
  frames?: string;
  labels?: string;
  maxFrames?: number;
  threshold?: number;
  policy?: string;
  memoryLoss?: boolean;
  chip?: string;
  mesh?: string;
  placement?: 'snake' | 'hilbert';
  modelOutput?: string;
  dense?: boolean;
  compareDense?: boolean;
  workers?: number;
  trace?: string | false;
  traceLevel?: 'summary' | 'cores' | 'events';
  outputs?: string;
  json?: boolean;
  quiet?: boolean;
}

/** Flags in the config file's vocabulary (undefined = not given). */
function flagsAsConfig(a: RunArgs): RunConfigFile {
  return {
    model: a.model, model_output: a.modelOutput, frames: a.frames, labels: a.labels, max_frames: a.maxFrames, threshold: a.threshold,
    policy: a.policy, memory_loss: a.memoryLoss, chip: a.chip, mesh: a.mesh, placement: a.placement, dense: a.dense,
    compare_dense: a.compareDense, workers: a.workers, trace: a.trace, trace_level: a.traceLevel, outputs: a.outputs,
  };
}

/**
 * `meshAuto`: the run grew the mesh to fit (--mesh auto, the default); `chipMesh`: the
 * chip's own mesh, said beside a grown one so a fixed chip file is not silently resized.
 */
export function summary(r: SimulateResult, wallMs: number, meshAuto = true, chipMesh: { width: number; height: number; cores: number } | null = null): string {
  const f = Math.max(r.frames, 1);
  // A --dense run is the conventional network: no reduction, no EvNet state or overhead, no error against itself.
  const dense = r.policy === 'dense';
  const macs = dense
    ? `  MACs / frame     ${fmtSi(r.totals.macs / f)}   (the conventional network${r.totals.dense_macs !== r.totals.macs ? `; DESIGN §4's dense count, ${fmtSi(r.totals.dense_macs / f)}, also counts taps on zero padding` : ''})`
    : `  MACs / frame     ${fmtSi(r.totals.macs / f)}   dense ${fmtSi(r.totals.dense_macs / f)}   → ${r.totals.macs > 0 ? `${r.ops_reduction.toFixed(2)}× fewer` : 'no MACs done'}`;
  const lines = [
    `evsim run — ${r.model} on chip ${r.chip}, ${dense ? 'the conventional network (--dense)' : `policy ${r.policy}, h = ${r.threshold}`}${r.interrupted ? '  (interrupted)' : ''}`,
    `  frames           ${r.frames}`,
    macs,
    `  transmissions    ${fmtSi(r.totals.transmissions / f)} / frame   adds ${fmtSi(r.totals.adds / f)} / frame`,
    ...(dense ? [] : [`  overhead / frame ${fmtSi(r.totals.overhead_adds / f)} adds, ${fmtSi(r.totals.overhead_compares / f)} compares, ${fmtSi(r.totals.overhead_load_store / f)} load/store`]),
    `  memory           weights ${fmtBytes(r.memory.weight_bytes)}${dense ? '' : `, EvNet state ${fmtBytes(r.memory.state_bytes)}`}`,
  ];
  if (r.accuracy !== null) lines.push(`  accuracy         ${fmtPct(r.accuracy)}`);
  if (r.error_vs_dense && !dense) {
    const e = r.error_vs_dense;
    lines.push(`  error vs dense   rmse ${e.rmse.toExponential(3)}, max |Δ| ${e.max_abs.toExponential(3)}, rel rmse ${e.rel_rmse === null ? 'n/a (the dense outputs are all 0)' : fmtPct(e.rel_rmse)}`);
  }
  if (r.chip !== 'ideal') {
    if (r.mesh) {
      // The chip's own mesh, where the grown one differs: a run can be held to it only if the network fits it.
      const own = !(meshAuto && chipMesh && (chipMesh.width !== r.mesh.width || chipMesh.height !== r.mesh.height)) ? ''
        : r.cores <= chipMesh.cores
          ? `; ${r.chip}'s own mesh is ${chipMesh.width}×${chipMesh.height}, --mesh ${chipMesh.width}x${chipMesh.height} holds a run to it`
          : `; the network does not fit ${r.chip}'s own ${chipMesh.width}×${chipMesh.height} mesh, ${r.cores} > ${chipMesh.cores} cores`;
      lines.push(`  chip             ${r.cores} core${r.cores === 1 ? '' : 's'} on a ${r.mesh.width}×${r.mesh.height} mesh of tiles${meshAuto ? ` (--mesh auto, the default: sized to fit${own})` : ''}`);
    }
    lines.push(`  energy           ${(r.totals.energy_pj / f / 1e6).toFixed(3)} µJ / frame (${(r.totals.energy_pj / 1e6).toFixed(3)} µJ in all)`);
    lines.push(`  latency          ${(r.totals.mean_latency_ns / 1000).toFixed(2)} µs / frame mean; ${(r.totals.latency_ns / 1000).toFixed(2)} µs first frame in → last frame done`);
    lines.push(`  network          ${fmtSi(r.totals.messages / f)} messages, ${fmtSi(r.totals.hops / f)} hops per frame; queue stall Σ ${(r.totals.stall_ns / f / 1e6).toFixed(2)} ms per frame (summed over messages)`);
  }
  lines.push(`  wall time        ${(wallMs / 1000).toFixed(2)} s (${fmtInt((r.frames / wallMs) * 1000)} frames/s)`);
  lines.push(r.trace ? `  trace            ${r.trace}` : '  trace            none');
  return lines.join('\n');
}

/** Runs and returns the process exit code (0, or 130 when interrupted). */
/**
 * What the trace records of a CLI run (runs.config_json): its settings with every file as
 * an absolute path, and the chip as resolved (`chip_spec`: mesh, capacities and costs), so
 * the trace still says what ran after the chip file is edited or the trace is moved.
 */
function recordedConfig(s: ReturnType<typeof resolveSettings>): Record<string, unknown> {
  const abs = (p: string | null | undefined): string | null => (p ? resolve(p) : null);
  return {
    ...s, model: abs(s.model), frames: abs(s.frames), labels: abs(s.labels), outputs: abs(s.outputs), trace: abs(s.trace || null),
    chip: isChipFile(s.chip) ? abs(s.chip) : s.chip, chip_spec: chipForTrace(resolveChip(s.chip)),
  };
}

export async function runCommand(a: RunArgs): Promise<number> {
  if (a.config?.endsWith('.onnx')) {
    throw new EvsimError('BAD_USAGE', `${a.config} is an ONNX model, not a YAML run config: pass it as --model ${a.config}${a.model ? ' (once)' : ''}`);
  }
  const file = a.config ? loadRunConfig(a.config) : {};
  const defaultTrace = (m: string): string => join('traces', `${basename(m, '.onnx')}.sqlite`);
  const s = resolveSettings(file, flagsAsConfig(a), defaultTrace);
  if (!s.frames) throw new EvsimError('BAD_USAGE', 'no frames given: pass --frames F.npy (float32 [T, ...input shape]) or set frames: in the config');
  refuseOverwrite(
    // Named as they were given: a flag, or the config's key.
    [[a.outputs !== undefined ? '--outputs' : 'outputs:', s.outputs], [a.trace !== undefined && a.trace !== false ? '--trace' : 'trace:', s.trace || null]],
    [['model', s.model], ['frames', s.frames], ['labels', s.labels], ['config', a.config], ['chip file', typeof s.chip === 'string' && isChipFile(s.chip) ? s.chip : null]],
  );
  if (s.trace) {
    // The default folder is created on demand; an explicit path must exist already.
    if (s.trace === defaultTrace(s.model)) {
      try {
        makeDirs('traces');
      } catch (e) {
        throw new EvsimError('BAD_TRACE', `cannot create the traces folder here (${(e as NodeJS.ErrnoException).code}); pass --trace PATH or --no-trace`);
      }
    }
    checkTracePath(s.trace);
  }
  const many = workersNote(s.workers);
  if (many && !a.quiet) process.stderr.write(`${many}\n`);
  const stop = holdCtrlC('run');
  const showProgress = !a.quiet && !a.json && process.stderr.isTTY;
  const started = performance.now();
  let lastDraw = 0;
  try {
    const r = await simulate({
      model: s.model,
      modelOutput: s.modelOutput,
      frames: s.frames ?? '',
      labels: s.labels,
      maxFrames: s.maxFrames,
      threshold: s.threshold,
      policy: s.policy,
      bnGamma: s.bnGamma,
      layers: s.layers,
      chip: s.chip,
      mesh: parseMesh(s.mesh),
      placement: s.placement,
      workers: s.workers,
      dense: s.dense,
      compareDense: s.compareDense,
      outputs: s.outputs,
      signal: stop.signal,
      trace: s.trace || null,
      traceLevel: s.traceLevel,
      config: recordedConfig(s),
      onFrame: showProgress
        ? (done, total) => {
            const now = performance.now();
            if (now - lastDraw < 100 && done < total) return;
            lastDraw = now;
            const width = 30;
            const filled = Math.round((done / total) * width);
            process.stderr.write(`\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} frames`);
            if (done === total) process.stderr.write('\n');
          }
        : undefined,
    });
    const wall = performance.now() - started;
    // A functional run (no cores, no messages) has no use for chip-only settings: said, not silently dropped.
    const unused = r.mesh === null
      ? [s.mesh !== 'auto' ? 'mesh' : null, (a.placement ?? file.placement) !== undefined ? 'placement' : null, s.trace && s.traceLevel === 'events' ? 'trace level events (no messages to record)' : null].filter((x) => x !== null)
      : [];
    if (unused.length > 0 && !a.quiet) process.stderr.write(`note: chip ${r.chip} runs the functional EvNet, without cores or messages: ${unused.join(', ')} had no effect\n`);
    if (a.json) {
      const { outputs: _o, outputShape: _s, interrupted: _i, ...json } = r;
      process.stdout.write(`${JSON.stringify({ ...json, interrupted: r.interrupted, wall_ms: wall })}\n`);
    } else if (!a.quiet) {
      const spec = s.mesh === 'auto' && r.chip !== 'ideal' ? resolveChip(s.chip) : null;
      const chipMesh = spec?.mesh ? { ...spec.mesh, cores: spec.mesh.width * spec.mesh.height * spec.coresPerTile } : null;
      process.stdout.write(`${summary(r, wall, s.mesh === 'auto', chipMesh)}\n`);
    }
    return r.interrupted ? 130 : 0;
  } finally {
    stop.release();
  }
}
