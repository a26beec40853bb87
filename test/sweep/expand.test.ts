/**
 * Sweep expansion: equal configurations run once, point keys follow the content of the
 * files a point reads and what it records, and configuration errors inside points (files,
 * models, shapes, per-layer names) exit 2 before any point runs.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isEvsimError } from '../../src/errors.js';
import { expandSweep, type SweepSpec } from '../../src/sweep/spec.js';
import { sweep } from '../../src/sweep/run.js';
import { writeNpy } from '../../src/workloads/npy.js';
import { cliIn, expectBadInput, ROOT } from '../helpers/cli.js';
import { query } from '../helpers/sqlite.js';

const FIX = join(ROOT, 'test', 'fixtures', 'onnx');
/** Gemm 6 → 4: input [1, 6], so frames are [T, 6]. */
const GEMM = join(FIX, 'gemm_trans.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-sweep-expand-'));
const evsim = cliIn(tmp);

/** Writes float32 frames [T, width] whose element i is i / 10 + offset. */
function frames(name: string, t: number, offset = 0, width = 6): string {
  const data = new Float32Array(t * width).map((_, i) => i / 10 + offset);
  const path = join(tmp, name);
  writeNpy(path, { shape: [t, width], data });
  return path;
}

function labels(name: string, values: number[]): string {
  const path = join(tmp, name);
  writeNpy(path, { shape: [values.length], data: Int32Array.from(values) });
  return path;
}

const expand = (spec: SweepSpec): ReturnType<typeof expandSweep> => expandSweep(spec, { baseDir: tmp, name: 't' });

/** The EvsimError expandSweep throws, for its code and message. */
function expansionError(spec: SweepSpec): { code: string; exitCode: number; message: string } {
  try {
    expand(spec);
  } catch (e) {
    if (isEvsimError(e)) return { code: e.code, exitCode: e.exitCode, message: e.message };
    throw e;
  }
  throw new Error('expected the expansion to fail');
}

describe('equal configurations', () => {
  const f3 = frames('dup.npy', 3);
  const spec: SweepSpec = {
    name: 'dup',
    base: { model: GEMM, frames: f3, chip: 'loihi' },
    grid: { 'policy.threshold': [0.1, 0.2, 0.1] },
    points: [{ 'policy.threshold': 0.2 }, { 'policy.threshold': 0.3 }],
  };

  it('a repeated grid value and a points: entry equal to a grid point are expanded once, and reported', () => {
    const ex = expand(spec);
    // Grid 0.1, 0.2, 0.1 then points 0.2, 0.3: the second 0.1 and the points 0.2 repeat.
    expect(ex.points.map((p) => p.label)).toEqual(['policy.threshold=0.1', 'policy.threshold=0.2', 'policy.threshold=0.3']);
    // Points keep their number in the file's order: the repeats leave gaps.
    expect(ex.points.map((p) => p.index)).toEqual([0, 1, 4]);
    expect(ex.duplicates).toEqual([
      { index: 2, label: 'policy.threshold=0.1', from: 'grid', sameAs: 0 },
      { index: 3, label: 'policy.threshold=0.2', from: 'points[0]', sameAs: 1 },
    ]);
  });

  it('policies written differently but meaning the same are one configuration (run-wide and per layer)', () => {
    const ex = expand({
      name: 'pol',
      base: { model: GEMM, frames: f3, chip: 'loihi' },
      grid: { 'policy.name': ['memory-loss,reset:4', 'reset:4,memory-loss', ' memory-loss , reset:4', 'chunk:2', 'threshold,chunk:2', 'threshold', 'threshold,chunk:1'] },
      // Per layer, on the gemm's input gate: memory-loss,chunk:2 in either order, written with spaces.
      points: [{ 'policy.layers.input.policy': 'memory-loss,chunk:2' }, { 'policy.layers.input.policy': 'chunk:2, memory-loss' }],
    });
    // Parts in any order, spaces around them, the default base (threshold) named or not and
    // chunk:1 (each neuron on its own, the default) said or not: 3 + 1 distinct configurations.
    expect(ex.points.map((p) => p.index)).toEqual([0, 3, 5, 7]);
    expect(ex.duplicates.map((d) => [d.from, d.sameAs])).toEqual([['grid', 0], ['grid', 0], ['grid', 3], ['grid', 5], ['points[1]', 7]]);
    // What runs is what the first of them says.
    expect(ex.points.map((p) => p.policy)).toEqual(['memory-loss,reset:4', 'chunk:2', 'threshold', 'threshold']);
  });

  it('such a sweep runs every distinct point once and exits 0 with a note', async () => {
    const out = join(tmp, 'dup.sqlite');
    let notes: unknown[] = [];
    const r = await sweep(spec, { out, workers: 1, svg: null, baseDir: tmp, onStart: (s) => (notes = s.duplicates) });
    expect(r.ran).toBe(3);
    expect(notes).toHaveLength(2);
    expect((await query(out, 'SELECT COUNT(*) AS n FROM sweep_points'))[0]!.n).toBe(3);
    const file = join(tmp, 'dup.yaml');
    writeFileSync(file, `name: dup\nbase: { model: ${GEMM}, frames: ${f3} }\ngrid:\n  policy.threshold: [0.1, 0.1]\n`);
    const cli = await evsim('sweep', file, '--out', join(tmp, 'dup-cli.sqlite'), '--no-svg');
    expect(cli.code).toBe(0);
    // Named by its own number, the one the file's points leave free (was: "grid (…)").
    expect(cli.err).toMatch(/^note: point 2 \(policy\.threshold=0\.1, from grid\) is the same configuration as point 1; it runs once, as point 1$/m);
    expect(cli.out).toMatch(/dup: 1 points — 1 run now/);
  });
});

describe('point keys', () => {
  const keyOf = (spec: SweepSpec): string => expand(spec).points[0]!.key;

  it('change with the content of the frames and labels files, not their timestamps', () => {
    const f = frames('key-frames.npy', 3);
    const l = labels('key-labels.npy', [1, 2, 3]);
    const spec: SweepSpec = { base: { model: GEMM, frames: f, labels: l } };
    const k0 = keyOf(spec);
    // The same bytes written again: the same key.
    writeFileSync(f, readFileSync(f));
    expect(keyOf(spec)).toBe(k0);
    frames('key-frames.npy', 3, 0.5);
    const k1 = keyOf(spec);
    expect(k1).not.toBe(k0);
    labels('key-labels.npy', [1, 2, 0]);
    expect(keyOf(spec)).not.toBe(k1);
  });

  it('change with trace_level', () => {
    const base = { model: GEMM, frames: frames('key-level.npy', 2) };
    expect(keyOf({ base, trace_level: 'cores' })).not.toBe(keyOf({ base, trace_level: 'summary' }));
    // summary is the default.
    expect(keyOf({ base })).toBe(keyOf({ base, trace_level: 'summary' }));
  });

  it('a resume after the frames changed runs the point again', async () => {
    const f = frames('resume-frames.npy', 3);
    const spec: SweepSpec = { name: 'refresh', base: { model: GEMM, frames: f } };
    const out = join(tmp, 'refresh.sqlite');
    expect((await sweep(spec, { out, svg: null, workers: 1 })).ran).toBe(1);
    expect((await sweep(spec, { out, svg: null, workers: 1 })).ran).toBe(0);
    frames('resume-frames.npy', 3, 1);
    const again = await sweep(spec, { out, svg: null, workers: 1 });
    expect(again.ran).toBe(1);
    expect(again.points).toHaveLength(1);
  });

  it('points carry the model file hash', () => {
    const p = expand({ base: { model: GEMM, frames: frames('hash.npy', 2) } }).points[0]!;
    expect(p.modelHash).toBe(createHash('sha256').update(readFileSync(GEMM)).digest('hex').slice(0, 16));
  });
});

describe('configuration errors inside points exit 2 at expansion', () => {
  const good = frames('good.npy', 3);
  const base = { model: GEMM, frames: good };
  writeFileSync(join(tmp, 'bad.onnx'), 'not a protobuf');

  it('two paths of one point that set the same field exit 2 naming both (was: the later one won and the stored parameter lied)', () => {
    const cases: [SweepSpec, RegExp][] = [
      [{ base, grid: { 'policy.threshold': [0.1, 0.2], policy: [{ name: 'rounding' }] } }, /grid: 'policy\.threshold' and 'policy' set the same field/],
      [{ base, grid: { chip: ['truenorth'], 'chip.preset': ['loihi'] } }, /grid: 'chip' and 'chip\.preset' set the same field/],
      [{ base, points: [{ 'policy.threshold': 0.1 }, { 'chip.core.neurons': 64, chip: { preset: 'loihi' } }] }, /points\[1\]: 'chip\.core\.neurons' and 'chip' set the same field/],
    ];
    for (const [spec, want] of cases) {
      const e = expansionError(spec);
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(want);
    }
    // Shorthands that do not overlap: chip: NAME is chip.preset, policy: NAME is policy.name.
    const ok = expand({ base, grid: { chip: ['loihi'], 'chip.core.neurons': [512], policy: ['rounding'], 'policy.threshold': [0.1] } });
    expect(ok.points).toHaveLength(1);
  });

  it('run-config keys in a point say where they go in a sweep; a workload without its kind names the kinds', () => {
    const e = expansionError({ base: { ...base, threshold: 0.1, mesh: '4x4', workers: 2 } as never });
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/point 1 \(base\): unknown keys 'threshold', 'mesh', 'workers' \(run-config keys; in a sweep: threshold → policy\.threshold, mesh → mapping\.mesh, workers → evsim sweep's --workers\)$/);
    const kind = expansionError({ base: { model: GEMM }, grid: { 'workload.frames': [3] } });
    expect(kind.message).toMatch(/point 1 \(workload\.frames=3\): workload\.kind must be 'video' or 'temporal-mnist'$/);
  });

  it("pareto with one objective says what it needs (was: the validator's 'Array must contain at least 2 element(s)')", () => {
    expect(expansionError({ base, pareto: ['macs'] as never }).message).toMatch(/pareto needs at least two objectives to rank on, e\.g\. \[energy_pj, latency_ns\]$/);
  });

  it("trace_level says the levels a sweep records, and why not events (was: the validator's 'Invalid enum value. Expected …')", () => {
    const events = expansionError({ base, trace_level: 'events' as never });
    expect([events.code, events.exitCode]).toEqual(['BAD_CONFIG', 2]);
    expect(events.message).toMatch(/: trace_level must be 'summary' or 'cores', got "events" \(a sweep does not record per-message events; .*evsim run --trace-level events\)$/);
    expect(expansionError({ base, trace_level: 'verbose' as never }).message).toMatch(/: trace_level must be 'summary' or 'cores', got "verbose"$/);
    expect(expansionError({ base, trace_level: 2 as never }).message).toMatch(/: trace_level must be 'summary' or 'cores', got 2$/);
  });

  it("a point's chip that fails inside its mesh names the field under chip. (was: chip.mesh must be \"auto\" or a number)", () => {
    const base = { model: GEMM, frames: frames('mesh.npy', 2), chip: 'ideal' };
    expect(expansionError({ base, grid: { 'chip.mesh.height': [2] } }).message).toMatch(/point 1 \(chip\.mesh\.height=2\): chip\.mesh\.width is missing$/);
  });

  it('a missing frames file names the point and the path', () => {
    const e = expansionError({ base, points: [{}, { frames: 'nope.npy' }] });
    expect(e.exitCode).toBe(2);
    expect(e.code).toBe('BAD_NPY');
    expect(e.message).toMatch(/point 2 \(frames=nope\.npy\): frames: cannot read .*nope\.npy: no such file/);
  });

  it('an unreadable or invalid model file', () => {
    const bad = expansionError({ base, grid: { model: [GEMM, 'bad.onnx'] } });
    expect(bad.exitCode).toBe(2);
    expect(bad.code).toBe('BAD_MODEL');
    expect(bad.message).toMatch(/point 2 \(model=bad\.onnx\): model: \S*\/bad\.onnx: not a valid ONNX model/);
    expect(expansionError({ base, points: [{ model: 'missing.onnx' }] }).message).toMatch(/point 1 .*: model: cannot read model .*missing\.onnx: no such file; check the path$/);
  });

  it('frames whose shape is not the model input', () => {
    const e = expansionError({ base, points: [{ frames: frames('wide.npy', 3, 0, 7) }] });
    expect(e.code).toBe('BAD_FRAMES');
    expect(e.message).toMatch(/point 1 .*: frames: .*wide\.npy: frames have shape \[3, 7\] but the model input .* needs \[T, 6\]/);
  });

  it('too few labels for the frames', () => {
    const e = expansionError({ base: { ...base, labels: labels('short-labels.npy', [1, 2]) } });
    expect(e.code).toBe('BAD_FRAMES');
    expect(e.message).toMatch(/point 1 \(base\): labels: .*short-labels\.npy: 2 labels for a video of 3 frames/);
  });

  it('labels that are not classes of the model output, or more labels than frames', () => {
    // gemm_trans has 4 outputs: classes 0…3.
    expect(expansionError({ base: { ...base, labels: labels('big-label.npy', [1, 4, 2]) } }).message).toMatch(/big-label\.npy: label 4 of frame 1 is not a class of the model's 4 outputs \(0…3\)/);
    expect(expansionError({ base: { ...base, labels: labels('neg-label.npy', [1, -1, 2]) } }).message).toMatch(/label -1 of frame 1/);
    expect(expansionError({ base: { ...base, labels: labels('long-labels.npy', [1, 2, 3, 0]) } }).message).toMatch(/4 labels for a video of 3 frames/);
  });

  it('a workload that does not fit the model input', () => {
    expect(expansionError({ base: { model: GEMM, workload: { kind: 'video' } } }).message).toMatch(/point 1 \(base\): workload: the video workload needs an image model/);
    const mnist = expansionError({ base: { model: join(FIX, 'resnet_block.onnx'), workload: { kind: 'temporal-mnist', frames: 2 } } });
    expect(mnist.exitCode).toBe(2);
    expect(mnist.message).toMatch(/workload: the temporal-mnist workload has 28×28 = 784-pixel frames; this model's input is \[1, 3, 16, 16\]/);
  });

  it('a video workload too large to generate, an infinite or null threshold, a zero mesh', () => {
    // resnet_block's input is [1, 3, 16, 16]: 768 values a frame; 2^28 / 768 ≈ 349525 frames.
    expect(expansionError({ base: { model: join(FIX, 'resnet_block.onnx'), workload: { kind: 'video', frames: 400000 } } }).message)
      .toMatch(/point 1 \(base\): workload: 400000 frames of \[3, 16, 16\] are 3\.07e\+8 values, more than evsim generates at once/);
    const good = frames('thr-frames.npy', 2);
    expect(expansionError({ base: { model: GEMM, frames: good }, grid: { 'policy.threshold': [Infinity] } }).message).toMatch(/point 1 \(policy\.threshold=Infinity\): policy\.threshold must be finite/);
    expect(expansionError({ base: { model: GEMM, frames: good }, grid: { 'policy.threshold': [0.1, null] } }).message).toMatch(/point 2 \(policy\.threshold=null\): policy\.threshold expected number, received null/);
    expect(expansionError({ base: { model: GEMM, frames: good }, grid: { 'mapping.mesh': ['0x4'] } }).message).toMatch(/point 1 \(mapping\.mesh="0x4"\): mapping\.mesh must be 'auto', 'chip' or WxH of positive integers/);
  });

  it("labels quote a string that would read as another value ('0.1' is not 0.1), and only such strings", () => {
    const good = frames('label-frames.npy', 2);
    // A string threshold is refused; its label must not claim the number 0.1 was given.
    expect(expansionError({ base: { model: GEMM, frames: good }, grid: { 'policy.threshold': [0.1, '0.1'] } }).message)
      .toMatch(/point 2 \(policy\.threshold="0\.1"\): policy\.threshold expected number, received string/);
    expect(expansionError({ base: { model: GEMM, frames: good }, grid: { 'policy.bn_gamma': ['true'] } }).message).toMatch(/point 1 \(policy\.bn_gamma="true"\)/);
    expect(expansionError({ base: { model: GEMM, frames: good }, grid: { 'policy.name': ['null'] } }).message).toMatch(/point 1 \(policy\.name="null"\)/);
    // Ordinary strings stay bare, numbers and booleans too.
    const ex = expand({ base: { model: GEMM, frames: good }, grid: { 'policy.name': ['memory-loss,reset:4'], 'mapping.mesh': ['8x4'], 'policy.bn_gamma': [true], 'policy.threshold': [0.1] } });
    expect(ex.points[0]!.label).toBe('policy.name=memory-loss,reset:4 mapping.mesh=8x4 policy.bn_gamma=true policy.threshold=0.1');
  });

  it('a grid larger than a sweep runs exits 2 with its size', () => {
    const values = Array.from({ length: 100 }, (_, i) => i / 100);
    expect(expansionError({ base: { model: GEMM }, grid: { 'policy.threshold': values, 'chip.core.neurons': values.map((_, i) => i + 1), 'chip.core.queue_depth': values.slice(0, 11).map((_, i) => i + 1) } }).message)
      .toMatch(/grid: 100 × 100 × 11 = 110000 points, more than one sweep runs \(100000\); split it into several sweeps/);
  });

  it('chip.mesh.width alone overrides the preset mesh width (loihi: 8 × 4 tiles)', () => {
    const ex = expand({ base: { model: GEMM, frames: frames('mesh-frames.npy', 2) }, grid: { 'chip.mesh.width': [2, 3] } });
    expect(ex.points.map((p) => p.chip.mesh)).toEqual([{ width: 2, height: 4 }, { width: 3, height: 4 }]);
  });

  it('a model that cannot be placed on a chip (it can on ideal)', () => {
    const model = join(FIX, 'activations.onnx'); // multiplies two layers' values
    const e = expansionError({ base: { model, workload: { kind: 'video', frames: 2 } }, grid: { chip: ['ideal', 'loihi'] } });
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/point 2 \(chip=loihi\): model: '\/Mul' multiplies values of two different layers; .* \(use chip: ideal\)$/);
  });

  it('an unknown gate in policy.layers, a bad per-layer policy, channel_thresholds of the wrong length', () => {
    const unknown = expansionError({ base, points: [{ 'policy.layers': { nosuch: { threshold: 0.1 } } }] });
    expect(unknown.code).toBe('BAD_CONFIG');
    expect(unknown.message).toMatch(/point 1 .*: policy\.layers\.nosuch: no gate of that name; gates are: \S+/);
    const gate = expand({ base }).points[0]!;
    expect(gate.layers).toEqual({});
    const name = /gates are: ([^,\s]+)/.exec(unknown.message)![1]!;
    expect(expansionError({ base, points: [{ [`policy.layers.${name}.policy`]: 'reset:4' }] }).message).toMatch(/reset:N is network-wide/);
    // The input gate has 6 channels ([1, 6]: channels are dimension 1).
    expect(expansionError({ base, points: [{ [`policy.layers.${name}.channel_thresholds`]: [0.1, 0.2] }] }).message).toMatch(/channel_thresholds has 2 entries; the gate has 6 channels/);
    expect(expansionError({ base: { ...base, policy: { name: 'rounding', threshold: 0 } } }).message).toMatch(/policy\.threshold is 0 but the rounding policy needs a threshold > 0/);
  });

  it('a gate whose name holds dots (as exporters name nodes) is swept by its path, a typo after it named', () => {
    const model = join(FIX, 'se_block.onnx');
    const se = { model, workload: { kind: 'video' as const, frames: 2 }, chip: 'ideal' };
    const ex = expand({ base: se, grid: { 'policy.layers./stem/stem.2/Mul.threshold': [0.1, 0.2] } });
    expect(ex.points.map((p) => p.layers)).toEqual([0.1, 0.2].map((h) => ({ '/stem/stem.2/Mul': { threshold: h, policy: undefined, channelThresholds: undefined } })));
    expect(expansionError({ base: se, grid: { 'policy.layers./stem/stem.2/Mul.thresh': [0.1] } }).message)
      .toMatch(/unknown path 'policy\.layers\.\/stem\/stem\.2\/Mul\.thresh': policy\.layers\.\/stem\/stem\.2\/Mul has no field 'thresh' \(it has threshold, policy, channel_thresholds\)/);
    // A dotted path into a one-part key's field reports that field.
    expect(expansionError({ base, grid: { 'policy.layers.input.channel_thresholds.x': [1] } }).message).toMatch(/policy\.layers\.input\.channel_thresholds is a single value/);
  });

  it('the CLI exits 2 with one line, before any point runs or the sweep file is made', async () => {
    const file = join(tmp, 'bad-points.yaml');
    const out = join(tmp, 'bad-points.sqlite');
    writeFileSync(file, `name: bad\nbase: { model: ${GEMM}, frames: ${good} }\ngrid:\n  policy.threshold: [0.1, 0.2]\npoints:\n  - { frames: missing.npy }\n`);
    expectBadInput(await evsim('sweep', file, '--out', out), /point 3 \(frames=missing\.npy\): frames: cannot read .*missing\.npy: no such file/);
    expect(existsSync(out)).toBe(false);
  });
});
