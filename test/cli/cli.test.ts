/**
 * The `evsim` command end to end (built JS in dist/, as `npm test` builds first):
 * exit codes, one-line errors without stack traces, the --json contract of DESIGN §8.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '../../src/workloads/npy.js';
import { cliIn, expectBadInput, ROOT } from '../helpers/cli.js';
import { encode, floats, valueInfo } from '../helpers/onnx.js';

const { onnx } = onnxProto;
const FIX = join(ROOT, 'test', 'fixtures', 'onnx');
const tmp = mkdtempSync(join(tmpdir(), 'evsim-cli-'));

const evsim = cliIn(tmp);

/** A one-node ONNX model with an op evsim does not support. */
function modelWithOp(op: string): Uint8Array {
  const vi = (name: string, dims: number[]) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [{ name: 'weird_node', opType: op, input: ['x'], output: ['y'] }],
      input: [vi('x', [1, 4])],
      output: [vi('y', [1, 4])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

describe('evsim run: bad input exits 2 with one line', () => {
  const mlp = join(FIX, 'mlp.onnx');
  const frames = join(FIX, 'mlp.input.npy');

  it('malformed ONNX', async () => {
    const bad = join(tmp, 'bad.onnx');
    writeFileSync(bad, readFileSync(mlp).subarray(0, 700));
    expectBadInput(await evsim('run', '--model', bad, '--frames', frames), /bad\.onnx: not a valid ONNX model/);
  });

  it('a missing or folder path, or a file used as a folder, says so in words, with the fix (was: ENOENT, EISDIR, ENOTDIR)', async () => {
    const nope = join(tmp, 'nope');
    expectBadInput(await evsim('run', '--model', `${nope}.onnx`, '--frames', frames), new RegExp(`^evsim: cannot read model ${nope}\\.onnx: no such file; check the path$`));
    expectBadInput(await evsim('run', '--model', tmp, '--frames', frames), new RegExp(`^evsim: cannot read model ${tmp}: it is a folder; check the path$`));
    // A file used as a folder (was: ENOTDIR).
    expectBadInput(await evsim('run', '--model', `${mlp}/x.onnx`, '--frames', frames), new RegExp(`^evsim: cannot read model ${mlp}/x\\.onnx: a part of the path is a file, not a folder; check the path$`));
    expectBadInput(await evsim('run', `${nope}.yaml`), new RegExp(`^evsim: cannot read config ${nope}\\.yaml: no such file; check the path$`));
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--chip', `${nope}.yaml`), new RegExp(`^evsim: cannot read chip ${nope}\\.yaml: no such file; check the path$`));
    expectBadInput(await evsim('report', join(tmp, 'none.sqlite'), '--html', join(nope, 'r.html')), new RegExp(`^evsim: --html ${nope}/r\\.html: folder ${nope} does not exist; create it or choose another path$`));
  });

  it('unknown op names the node and the op', async () => {
    const p = join(tmp, 'hardmax.onnx');
    writeFileSync(p, modelWithOp('Hardmax'));
    expectBadInput(await evsim('run', '--model', p, '--frames', frames), /node 'weird_node' \(Hardmax\).*not supported.*supported ops: Conv/);
    expectBadInput(await evsim('inspect', p), /weird_node/);
  });

  it('truncated .npy', async () => {
    const p = join(tmp, 'short.npy');
    writeFileSync(p, readFileSync(frames).subarray(0, 300));
    expectBadInput(await evsim('run', '--model', mlp, '--frames', p), /short\.npy.*truncated/);
  });

  it('no frames: the CLI names its flag and config key (not the library option), before any traces folder is made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evsim-noframes-'));
    expectBadInput(await cliIn(dir)('run', '--model', mlp), /^evsim: no frames given: pass --frames F\.npy \(float32 \[T, \.\.\.input shape\]\) or set frames: in the config$/);
    expect(existsSync(join(dir, 'traces'))).toBe(false);
  });

  it('wrong input shape names the expected shape', async () => {
    expectBadInput(await evsim('run', '--model', mlp, '--frames', join(FIX, 'cnn_basic.input.npy')), /needs \[T, 784\]/);
    // An image model's message says how evsim makes a video of its size.
    expectBadInput(await evsim('run', '--model', join(FIX, 'cnn_basic.onnx'), '--frames', frames), /needs \[T, 3, 16, 16\]; save the video as float32 \[T, 3, 16, 16\] \(evsim workload video --channels 3 --size 16x16 --frames T --out DIR writes one\)$/);
  });

  it('a chip cost far beyond any hardware (which would make the energy infinite) names the field', async () => {
    const p = join(tmp, 'huge-static.yaml');
    writeFileSync(p, 'preset: loihi\nstatic_mw: 1e308\n');
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--chip', p, '--no-trace'), /static_mw must be at most 1000000000000000/);
  });

  it('--outputs through a symbolic link writes the file it names; onto a pipe exits 2 (was: both replaced by a plain file)', async () => {
    const target = join(tmp, 'linked-target.npy');
    const link = join(tmp, 'link.npy');
    symlinkSync(target, link);
    expect((await evsim('run', '--model', mlp, '--frames', frames, '--chip', 'ideal', '--no-trace', '--quiet', '--outputs', link)).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(parseNpy(readFileSync(target)).shape[0]).toBe(parseNpy(readFileSync(frames)).shape[0]);
    const fifo = join(tmp, 'fifo.npy');
    spawnSync('mkfifo', [fifo]);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--no-trace', '--outputs', fifo), /fifo\.npy is not a regular file/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('messages name what was really wrong: a surplus argument, --trace with --no-trace, a mesh YAML read as a number', async () => {
    const cfg = join(tmp, 'plain.yaml');
    writeFileSync(cfg, `model: ${mlp}\nframes: ${frames}\n`);
    expectBadInput(await evsim('run', cfg, 'extra'), /^evsim: unexpected argument 'extra' \(see evsim run --help\)$/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--no-trace', '--trace', join(tmp, 'x.sqlite')), /^evsim: --trace and --no-trace both given; give one$/);
    const hex = join(tmp, 'hex.yaml');
    writeFileSync(hex, `model: ${mlp}\nframes: ${frames}\nmesh: 0x3\n`);
    expectBadInput(await evsim('run', hex), /mesh must be a string, got a number \(quote it in YAML, e\.g\. '8x4'\)$/);
    // Only a mesh is told about 8x4.
    writeFileSync(hex, `model: ${mlp}\nframes: ${frames}\nchip: 5\n`);
    expectBadInput(await evsim('run', hex), /hex\.yaml: chip must be a string, got a number$/);
  });

  it('workload --out naming a file exits 2', async () => {
    expectBadInput(await evsim('workload', 'video', '--frames', '2', '--out', mlp), /--out .*mlp\.onnx is a file; give a folder/);
  });

  it('float64 frames are refused with the fix', async () => {
    const p = join(tmp, 'f64.npy');
    writeFileSync(p, encodeNpy({ shape: [2, 784], data: new Float64Array(2 * 784) }));
    expectBadInput(await evsim('run', '--model', mlp, '--frames', p), /float32/);
  });

  it('negative threshold, bad policy, unknown flag, unknown chip, bad mesh', async () => {
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--threshold', '-1'), /threshold/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--policy', 'sometimes'), /unknown part 'sometimes'/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--policy', 'chunk:3,chunk:4'), /policy 'chunk:3,chunk:4' gives chunk:N more than once; give it once/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--policy', 'memory-loss,memory-loss'), /gives 'memory-loss' more than once/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--policy', 'threshold,rounding'), /names more than one of threshold, memory-loss, rounding/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--frobnicate-me'), /^evsim: unknown option --frobnicate-me \(see evsim run --help\)$/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--chip', 'loihi9000'), /unknown chip 'loihi9000'.*loihi, loihi-fitted, truenorth, ideal/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--mesh', '8by4'), /--mesh must be 'auto' or WxH/);
    expectBadInput(await evsim('run', '--model', join(FIX, 'cnn_basic.onnx'), '--frames', join(FIX, 'cnn_basic.input.npy'), '--mesh', '1x1'), /needs 5 cores but the 1×1 mesh of loihi has 4/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--chip', 'truenorth'), /'\/fc1\/Gemm'.*fan-in of 256/);
  });

  it('--no- of a valued flag, a switch given a value or both ways: exit 2 (was: --no-threshold ran with h = 0, --no-pareto an internal error, --dense=maybe ran the EvNet)', async () => {
    const base = ['--model', mlp, '--frames', frames, '--no-trace', '--quiet'];
    expectBadInput(await evsim('run', ...base, '--no-threshold'), /^evsim: --no-threshold is not an option: --threshold takes a value/);
    expectBadInput(await evsim('run', ...base, '--no-labels'), /^evsim: --no-labels is not an option/);
    expectBadInput(await evsim('run', ...base, '--no-placement'), /^evsim: --no-placement is not an option: --placement takes a value/);
    expectBadInput(await evsim('inspect', mlp, '--chip', 'loihi', '--no-policy'), /^evsim: --no-policy is not an option/);
    expectBadInput(await evsim('sweep', join(ROOT, 'sim-configs', 'sweeps', 'threshold.yaml'), '--no-pareto'), /^evsim: --no-pareto is not an option/);
    expectBadInput(await evsim('run', ...base, '--dense=maybe'), /^evsim: --dense is a switch: give --dense \(or --no-dense\), not '--dense=maybe'/);
    expectBadInput(await evsim('run', ...base, '--compare-dense', '--no-compare-dense'), /^evsim: --compare-dense and --no-compare-dense both given; give one/);
    expectBadInput(await evsim('run', ...base, '--trace-level', 'events'), /^evsim: --trace-level events with --no-trace: no trace is written; drop one of them$/);
    // The two that mean something, and a switch's own --no- form.
    expect((await evsim('run', ...base, '--no-dense', '--max-frames', '2')).code).toBe(0);
  });

  it('a flag given twice, a flag without its value, a non-number: exit 2 echoing what was typed', async () => {
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--frames', frames), /^evsim: --frames given 2 times; give it once$/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--chip', 'loihi', '--chip', 'ideal'), /--chip given 2 times/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--outputs'), /^evsim: --outputs needs a value \(see evsim run --help\)$/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--trace='), /--trace needs a value/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--threshold', 'abc'), /--threshold needs a number, got 'abc'/);
    // An empty number (an unset shell variable) is no 0: yargs would have run with h = 0.
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--threshold', ''), /--threshold needs a value, got an empty one/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--threshold='), /--threshold needs a value, got an empty one/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--workers', '1.5'), /--workers must be a positive integer, got '1\.5'/);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--placement'), /--placement must be one of snake, hilbert, got no value/);
    expectBadInput(await evsim('frobnicate'), /^evsim: unknown command 'frobnicate'; commands: run, inspect/);
    expectBadInput(await evsim('inspect', mlp, '--mesh', '4x4'), /--mesh describes a mapping: add --chip/);
  });

  it('an output path that is an input exits 2 and leaves the input alone', async () => {
    const model = join(tmp, 'model-copy.onnx');
    writeFileSync(model, readFileSync(mlp));
    expectBadInput(await evsim('run', '--model', model, '--frames', frames, '--outputs', model, '--no-trace'), /--outputs .*model-copy\.onnx is also the model; .*choose another path/);
    expect(readFileSync(model).equals(readFileSync(mlp))).toBe(true);
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--trace', join(tmp, 'same.npy'), '--outputs', join(tmp, 'same.npy')), /--trace .*same\.npy is also the --outputs/);
    expectBadInput(await evsim('report', model, '--html', model), /--html .* is also the trace/);
    // Set in a config, the output is named by its key (was: as the flag --outputs, which was not given).
    const cfg = join(tmp, 'outputs-onto-frames.yaml');
    writeFileSync(cfg, `model: ${mlp}\nframes: ${frames}\noutputs: ${frames}\n`);
    expectBadInput(await evsim('run', cfg, '--no-trace'), /^evsim: outputs: .*mlp\.input\.npy is also the frames; writing it would overwrite that file/);
  });

  it('labels must name a class of the output, one per frame', async () => {
    const lp = join(tmp, 'bad-labels.npy');
    writeFileSync(lp, encodeNpy({ shape: [4], data: Int32Array.of(1, 2, 10, 3) }));
    expectBadInput(await evsim('run', '--model', mlp, '--frames', frames, '--labels', lp, '--no-trace'), /label 10 of frame 2 is not a class of the model's 10 outputs \(0…9\)/);
  });

  it("a config's chip file is found beside the config, like its other files", async () => {
    const dir = join(tmp, 'cfgdir');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'mychip.yaml'), readFileSync(join(__dirname, '..', '..', 'sim-configs', 'chips', 'loihi.yaml')));
    writeFileSync(join(dir, 'run.yaml'), `model: ${mlp}\nframes: ${frames}\nchip: mychip.yaml\ntrace: false\n`);
    const r = await evsim('run', join(dir, 'run.yaml'), '--json');
    expect(r.err).toBe('');
    expect(JSON.parse(r.out).chip).toBe('loihi');
  });

  // One rule a case: [what, the config's YAML (null: none), the arguments (CFG: the config), the one line expected].
  const configCases: [string, string | null, string[], RegExp][] = [
    ['invalid YAML names its line', `model: ${mlp}\nframes: [1\nx: 2\n`, ['CFG'], /invalid YAML: .* \(line 3, column 1\)$/],
    // An unknown tag was a 4-line parser warning, then a run of the untagged value.
    ['an unknown YAML tag', `model: !foo ${mlp}\nframes: ${frames}\n`, ['CFG', '--no-trace'], /bad\.yaml: invalid YAML: Unresolved tag: !foo \(line 1, column 8\)$/],
    ['trace: true', `model: ${mlp}\nframes: ${frames}\ntrace: true\n`, ['CFG'], /bad\.yaml: trace must be a string or false$/],
    ['memory_loss with another policy, in the config', `model: ${mlp}\nframes: ${frames}\nmemory_loss: true\npolicy: rounding\n`, ['CFG'], /memory_loss: true conflicts with policy: rounding \(config\)/],
    ['--memory-loss with another --policy', `model: ${mlp}\nframes: ${frames}\n`, ['CFG', '--policy', 'rounding', '--memory-loss'], /--memory-loss conflicts with --policy rounding/],
    ['a bad per-gate policy', `model: ${mlp}\nframes: ${frames}\nlayers:\n  input: { policy: sometimes }\n`, ['CFG', '--no-trace'], /^evsim: layers\.input\.policy: policy 'sometimes': unknown part/],
    // On a chip too (its chunks are read before any gate is built).
    ['a bad per-gate policy, on a chip', `model: ${mlp}\nframes: ${frames}\nlayers:\n  input: { policy: sometimes }\n`, ['CFG', '--no-trace', '--chip', 'loihi'], /^evsim: layers\.input\.policy: policy 'sometimes': unknown part/],
    ["a config's mesh, by its key", `model: ${mlp}\nframes: ${frames}\nmesh: '0x0'\n`, ['CFG', '--no-trace'], /bad\.yaml: mesh must be 'auto' or WxH with W, H ≥ 1/],
    ['an ONNX model given as the config', null, ['--model', mlp, mlp], /is an ONNX model, not a YAML run config: pass it as --model/],
    ['a misspelt key', `model: ${mlp}\nframes: ${frames}\nthreshhold: 0.1\n`, ['CFG'], /unknown key 'threshhold'/],
    ['a negative threshold', `model: ${mlp}\nframes: ${frames}\nthreshold: -0.5\n`, ['CFG'], /threshold must be greater than or equal to 0/],
    ['an unknown gate', `model: ${mlp}\nframes: ${frames}\nlayers:\n  no_such_gate: { threshold: 0.1 }\n`, ['CFG'], /layers\.no_such_gate: no gate of that name/],
    // Caught before the chip's workers start (exit 2, not 1).
    ['rounding at h = 0 for one gate, on a chip', `model: ${mlp}\nframes: ${frames}\nlayers:\n  /Relu: { policy: rounding, threshold: 0 }\n`, ['CFG', '--chip', 'loihi', '--no-trace'], /rounding policy needs a threshold > 0/],
    // Thresholds are float32: beyond its range (an infinity), or 0 once rounded (1/h infinite
    // under rounding), exit 2 before anything runs (was: NaN mid-run, blamed on the model).
    ['a threshold beyond float32', null, ['--model', mlp, '--frames', frames, '--threshold', '1e39', '--trace', 'f32.sqlite'], /^evsim: the run's threshold \(--threshold, or threshold: in a config\) is 1e\+39, beyond float32; give at most 3\.4e38$/],
    ['a rounding threshold that is 0 in float32', null, ['--model', mlp, '--frames', frames, '--policy', 'rounding', '--threshold', '1e-300', '--chip', 'ideal', '--trace', 'f32.sqlite'], /rounding policy needs a threshold > 0 .*\(1e-300 is 0 in float32; give at least 1\.4e-45\)$/],
    ["a gate's threshold beyond float32", `model: ${mlp}\nframes: ${frames}\nlayers:\n  /Relu: { threshold: 1.0e+40 }\n`, ['CFG', '--trace', 'f32.sqlite'], /layers\.\/Relu: the threshold is 1e\+40, beyond float32/],
  ];
  it.each(configCases.map((c, i) => [i, ...c] as const))('config error %i, %s: exit 2 naming the key, no trace begun', async (i, _what, yaml, args, pattern) => {
    const dir = join(tmp, `config-${i}`);
    mkdirSync(dir, { recursive: true });
    const cfg = join(dir, 'bad.yaml');
    if (yaml !== null) writeFileSync(cfg, yaml);
    expectBadInput(await cliIn(dir)('run', ...args.map((x) => (x === 'CFG' ? cfg : x))), pattern);
    expect(existsSync(join(dir, 'f32.sqlite'))).toBe(false);
  });

  it('3.4e38 itself is a float32 threshold', async () => {
    expect((await evsim('run', '--model', mlp, '--frames', frames, '--threshold', '3.4e38', '--no-trace', '--quiet')).code).toBe(0);
  });
});

describe("the run summary and the chip's own mesh", () => {
  it('offers --mesh WxH only when the network fits that mesh (was: also when it needs more cores)', async () => {
    // A chip whose own mesh is 1×2 tiles of 4 cores (8 cores): cnn_basic needs 5 cores
    // (auto: a 2×1 mesh, other than 1×2), resnet_block 9 (a 2×2 mesh).
    const chip = join(tmp, 'own-mesh.yaml');
    writeFileSync(chip, 'preset: loihi\nmesh: { width: 1, height: 2 }\n');
    const run = (m: string): Promise<{ code: number; out: string }> => evsim('run', '--model', join(FIX, `${m}.onnx`), '--frames', join(FIX, `${m}.input.npy`), '--chip', chip, '--no-trace');
    const fits = await run('cnn_basic');
    expect(fits.out).toMatch(/5 cores on a 2×1 mesh of tiles \(--mesh auto, the default: sized to fit; own-mesh's own mesh is 1×2, --mesh 1x2 holds a run to it\)/);
    const big = await run('resnet_block');
    expect(big.out).toMatch(/9 cores on a 2×2 mesh of tiles \(--mesh auto, the default: sized to fit; the network does not fit own-mesh's own 1×2 mesh, 9 > 8 cores\)/);
  });
});

describe('chip-only settings on a functional run', () => {
  it('are named as having had no effect (was: silently dropped), and no note when none was given', async () => {
    const io = ['--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--chip', 'ideal', '--json'];
    const r = await evsim('run', ...io, '--mesh', '2x2', '--placement', 'hilbert', '--no-trace');
    expect(r.code).toBe(0);
    expect(r.err).toBe('note: chip ideal runs the functional EvNet, without cores or messages: mesh, placement had no effect\n');
    const ev = await evsim('run', ...io, '--trace', join(tmp, 'ideal-events.sqlite'), '--trace-level', 'events');
    expect(ev.err).toMatch(/: trace level events \(no messages to record\) had no effect\n$/);
    expect((await evsim('run', ...io, '--no-trace')).err).toBe('');
  });
});

describe('evsim run --json', () => {
  it('prints every §8 field, and outputs/labels agree with an independent argmax', async () => {
    const out = join(tmp, 'out.npy');
    const frames = parseNpy(readFileSync(join(FIX, 'cnn_basic.input.npy')));
    // Labels: frame 0 labelled with the torch output's argmax, the others with the class
    // after their argmax (never right).
    const ref = parseNpy(readFileSync(join(FIX, 'cnn_basic.output.npy')));
    const t = frames.shape[0]!;
    const k = ref.shape[1]!;
    const refData = ref.data as Float32Array;
    const labels = new Int32Array(t);
    for (let i = 0; i < t; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (refData[i * k + j]! > refData[i * k + best]!) best = j;
      labels[i] = i === 0 ? best : (best + 1) % k;
    }
    const lp = join(tmp, 'labels.npy');
    writeFileSync(lp, encodeNpy({ shape: [t], data: labels }));
    const r = await evsim('run', '--model', join(FIX, 'cnn_basic.onnx'), '--frames', join(FIX, 'cnn_basic.input.npy'),
      '--labels', lp, '--threshold', '0', '--compare-dense', '--outputs', out, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.frames).toBe(t);
    for (const key of ['macs', 'dense_macs', 'adds', 'transmissions', 'synops', 'messages', 'hops', 'energy_pj', 'latency_ns', 'mean_latency_ns', 'stall_ns']) {
      expect(typeof j.totals[key]).toBe('number');
    }
    expect(j.per_frame).toHaveLength(t);
    for (const key of ['frame', 'macs', 'dense_macs', 'transmissions', 'synops', 'messages', 'hops', 'energy_pj', 'latency_ns']) {
      expect(typeof j.per_frame[0][key]).toBe('number');
    }
    // Frame 0 is right (h = 0 equals the dense network), the others carry a wrong label.
    expect(j.accuracy).toBeCloseTo(1 / t, 12);
    expect(j.error_vs_dense.max_abs).toBeLessThan(1e-4);
    // Default trace: traces/<model>.sqlite under the working directory (created on demand).
    expect(j.trace).toBe(join('traces', 'cnn_basic.sqlite'));
    expect(existsSync(join(tmp, 'traces', 'cnn_basic.sqlite'))).toBe(true);
    const o = parseNpy(readFileSync(out));
    expect(o.shape).toEqual([t, k]);
    const od = o.data as Float32Array;
    for (let i = 0; i < od.length; i++) expect(Math.abs(od[i]! - refData[i]!)).toBeLessThan(1e-4 * 2);
  });

  it('a boolean flag overrides the config both ways', async () => {
    const cfg = join(tmp, 'cd.yaml');
    writeFileSync(cfg, `model: ${join(FIX, 'mlp.onnx')}\nframes: ${join(FIX, 'mlp.input.npy')}\ncompare_dense: true\n`);
    expect(JSON.parse((await evsim('run', cfg, '--json', '--no-trace')).out).error_vs_dense).not.toBeNull();
    expect(JSON.parse((await evsim('run', cfg, '--json', '--no-trace', '--no-compare-dense')).out).error_vs_dense).toBeNull();
  });

  it('--policy and --memory-loss replace the config\'s policy and memory_loss as a whole (flags override the config)', async () => {
    const cfg = join(tmp, 'policy.yaml');
    const policyOf = async (...args: string[]): Promise<unknown> => {
      const r = await evsim('run', cfg, '--no-trace', '--json', ...args);
      expect(r.err).toBe('');
      return JSON.parse(r.out).policy;
    };
    writeFileSync(cfg, `model: ${join(FIX, 'mlp.onnx')}\nframes: ${join(FIX, 'mlp.input.npy')}\nmemory_loss: true\n`);
    expect(await policyOf()).toBe('memory-loss');
    expect(await policyOf('--policy', 'threshold')).toBe('threshold');
    expect(await policyOf('--policy', 'rounding')).toBe('rounding');
    expect(await policyOf('--no-memory-loss')).toBe('threshold');
    writeFileSync(cfg, `model: ${join(FIX, 'mlp.onnx')}\nframes: ${join(FIX, 'mlp.input.npy')}\npolicy: rounding\n`);
    expect(await policyOf('--memory-loss')).toBe('memory-loss');
    expect(await policyOf('--no-memory-loss')).toBe('rounding');
  });

  it('--memory-loss is short for --policy memory-loss', async () => {
    const a = JSON.parse((await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--memory-loss', '--json')).out);
    const b = JSON.parse((await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--policy', 'memory-loss', '--json')).out);
    expect(a.policy).toBe('memory-loss');
    expect(a.totals).toEqual(b.totals);
  });
});

describe('the command around its output', () => {
  it("--version prints evsim's own version, whatever project it runs in", async () => {
    const project = join(tmp, 'project');
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-project', version: '9.9.9' }));
    const own = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect((await cliIn(project)('--version')).out.trim()).toBe(own);
  });

  it('output into a pipe closed early (query … | head -1) ends quietly', async () => {
    const trace = join(tmp, 'pipe.sqlite');
    expect((await evsim('run', '--model', join(FIX, 'mlp.onnx'), '--frames', join(FIX, 'mlp.input.npy'), '--trace', trace, '--quiet')).code).toBe(0);
    const cmd = `"${process.execPath}" "${join(ROOT, 'dist', 'src', 'cli', 'main.js')}" query "${trace}" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT i FROM n" --format csv | head -1`;
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
    expect(r.stdout).toBe('i\n');
    expect(r.stderr).toBe('');
  });
});

describe('evsim inspect --chip --policy', () => {
  it('chunk:2 maps as a run with it would: channel groups of 2, not 3 (cnn_basic on 96-neuron cores)', async () => {
    // conv1: 8 channels, 2-row strips of 16 columns (32 neurons a channel): 3 channels fit a
    // core, 8 strips × 3 groups = 24 cores; cut at multiples of 2: 8 × 4 = 32.
    const chip = join(tmp, 'n96.yaml');
    writeFileSync(chip, 'preset: loihi\ncore: { neurons: 96 }\n');
    const cores = async (extra: string[]): Promise<number[]> => (JSON.parse((await evsim('inspect', join(FIX, 'cnn_basic.onnx'), '--chip', chip, '--json', ...extra)).out) as { mapping: { layers: { cores: number }[] } }).mapping.layers.map((l) => l.cores);
    expect((await cores([]))[0]).toBe(24);
    expect((await cores(['--policy', 'chunk:2']))[0]).toBe(32);
    expectBadInput(await evsim('inspect', join(FIX, 'cnn_basic.onnx'), '--policy', 'chunk:2'), /--policy describes a mapping: add --chip/);
  });

  it('checks --policy and --mesh on ideal too, names the model as runs do, and shows no use of an unlimited core', async () => {
    const mlp = join(FIX, 'mlp.onnx');
    expectBadInput(await evsim('inspect', mlp, '--chip', 'ideal', '--policy', 'bogus'), /unknown part 'bogus'/);
    expectBadInput(await evsim('inspect', mlp, '--chip', 'ideal', '--mesh', '0x0'), /--mesh must be 'auto' or WxH/);
    const j = JSON.parse((await evsim('inspect', join(FIX, 'cnn_basic.onnx'), '--json')).out) as { model: string; graph: string };
    expect(j.model).toBe('cnn_basic');
    const chip = join(tmp, 'unlimited.yaml');
    writeFileSync(chip, 'preset: loihi\nname: big\ncore: { neurons: unlimited, synapse_bytes: unlimited }\n');
    const m = JSON.parse((await evsim('inspect', join(FIX, 'cnn_basic.onnx'), '--chip', chip, '--json')).out) as { mapping: { layers: { utilisation: number | null; max_synapse_fill: number | null }[] } };
    for (const l of m.mapping.layers) expect([l.utilisation, l.max_synapse_fill]).toEqual([null, null]);
  });
});

describe('a model with several outputs (--model-output, model_output:)', () => {
  // x → fc1 → Relu → y1;  x → fc2 → y2.
  const model = join(tmp, 'two-heads.onnx');
  writeFileSync(model, encode({
    nodes: [
      { name: 'fc1', opType: 'Gemm', input: ['x', 'w1'], output: ['h'] },
      { name: 'relu', opType: 'Relu', input: ['h'], output: ['y1'] },
      { name: 'fc2', opType: 'Gemm', input: ['x', 'w2'], output: ['y2'] },
    ],
    init: [floats('w1', [4, 4], [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]), floats('w2', [4, 4], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
    outputs: [valueInfo('y1', [1, 4]), valueInfo('y2', [1, 4])],
  }));
  const frames = join(tmp, 'two-heads.npy');
  writeFileSync(frames, encodeNpy({ shape: [2, 4], data: Float32Array.of(1, 2, 3, 4, 1, 2, 3, 5) }));
  const outputsOf = async (...args: string[]): Promise<number[]> => {
    const out = join(tmp, `heads-${args.join('-').replace(/\W/g, '')}.npy`);
    const r = await evsim('run', ...args, '--no-trace', '--quiet', '--outputs', out);
    expect(r.err).toBe('');
    return Array.from(parseNpy(new Uint8Array(readFileSync(out))).data as Float32Array);
  };

  it('run and inspect refuse it without a choice, and simulate the output chosen by flag or config', async () => {
    expectBadInput(await evsim('run', '--model', model, '--frames', frames, '--no-trace'), /the model has 2 outputs \('y1', 'y2'\); choose the one to simulate with --model-output NAME \(model_output: in a config\)/);
    expectBadInput(await evsim('inspect', model), /choose the one to simulate with --model-output NAME/);
    // By hand: y1 = relu(x·W1) = [1, 0, 6, 4] then [1, 0, 6, 5]; y2 = [x0] × 4.
    expect(await outputsOf('--model', model, '--frames', frames, '--model-output', 'y1', '--chip', 'ideal', '--threshold', '0')).toEqual([1, 0, 6, 4, 1, 0, 6, 5]);
    expect(await outputsOf('--model', model, '--frames', frames, '--model-output', 'y2', '--threshold', '0')).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    const cfg = join(tmp, 'heads.yaml');
    writeFileSync(cfg, `model: ${model}\nframes: ${frames}\nmodel_output: y1\nthreshold: 0\n`);
    expect(await outputsOf(cfg)).toEqual([1, 0, 6, 4, 1, 0, 6, 5]);
    const j = JSON.parse((await evsim('inspect', model, '--model-output', 'y2', '--json')).out) as { layers: { op: string }[] };
    expect(j.layers.filter((l) => l.op === 'dense').length).toBe(1);
    expectBadInput(await evsim('run', '--model', model, '--frames', frames, '--model-output', 'y9'), /has no output 'y9'; its outputs are 'y1', 'y2'/);
  });

  it('a sweep point chooses it as model_output, and a bad name is named before anything runs', async () => {
    const sweepFile = join(tmp, 'heads-sweep.yaml');
    writeFileSync(sweepFile, `name: heads\nbase: { model: ${model}, frames: ${frames}, chip: ideal }\ngrid:\n  model_output: [y1, y2]\n`);
    const out = join(tmp, 'heads.sqlite');
    const r = await evsim('sweep', sweepFile, '--out', out, '--no-svg', '--json');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out) as { points: { params: Record<string, string>; macs: number; status: string }[] };
    expect(res.points.map((p) => [p.params.model_output, p.status])).toEqual([['y1', 'completed'], ['y2', 'completed']]);
    // Frame 0 of each head: y1's Gemm reads 4 inputs × 4 outputs, y2's likewise; they are different graphs.
    expect(new Set(res.points.map((p) => JSON.stringify(p))).size).toBe(2);
    // The runs record the model file's own hash, as `evsim run` does, whichever output ran.
    const hash = createHash('sha256').update(readFileSync(model)).digest('hex').slice(0, 16);
    const q = await evsim('query', out, 'SELECT DISTINCT model_hash FROM runs', '--format', 'json');
    expect(JSON.parse(q.out)).toEqual([{ model_hash: hash }]);
    writeFileSync(sweepFile, `name: heads\nbase: { model: ${model}, frames: ${frames}, chip: ideal, model_output: nope }\n`);
    expectBadInput(await evsim('sweep', sweepFile, '--out', join(tmp, 'heads2.sqlite')), /point 1 .*model_output: .*has no output 'nope'/);
    // A model that cannot be read is the model's fault, not the output's.
    writeFileSync(sweepFile, `name: heads\nbase: { model: ${join(tmp, 'nosuch.onnx')}, frames: ${frames}, chip: ideal, model_output: y1 }\n`);
    expectBadInput(await evsim('sweep', sweepFile, '--out', join(tmp, 'heads3.sqlite')), /point 1 \(base\): model: cannot read model/);
  });
});
