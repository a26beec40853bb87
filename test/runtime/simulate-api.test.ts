/**
 * `simulate()` from TypeScript: in-memory inputs and chips are checked like files (bad
 * ones throw EvsimError naming the option), outputs can stay in memory, and a trace can
 * be a path.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadChip } from '../../src/config/chip-config.js';
import { EvsimError } from '../../src/errors.js';
import { simulate, type SimulateOptions } from '../../src/simulate.js';
import { queryTrace } from '../../src/trace/query.js';
import { readFloat32Npy } from '../../src/workloads/npy.js';
import * as api from '../../src/index.js';

const FIX = join(__dirname, '..', 'fixtures', 'onnx');
const model = join(FIX, 'mlp.onnx');
const input = readFloat32Npy(join(FIX, 'mlp.input.npy'));
const frames = { shape: input.shape, data: input.data };
const tmp = mkdtempSync(join(tmpdir(), 'evsim-api-'));

async function rejection(opts: SimulateOptions): Promise<EvsimError> {
  try {
    await simulate(opts);
  } catch (e) {
    expect(e).toBeInstanceOf(EvsimError);
    return e as EvsimError;
  }
  throw new Error('simulate() resolved');
}

describe('simulate() checks what types cannot', () => {
  it('in-memory frames whose data does not fill their shape, or is not a Float32Array', async () => {
    const short = await rejection({ model, frames: { shape: [20, 784], data: input.data.subarray(0, 3 * 784) }, chip: 'ideal' });
    expect(short.code).toBe('BAD_FRAMES');
    expect(short.message).toMatch(/frames\.shape \[20, 784\] holds 15680 values but frames\.data has 2352/);
    const plain = await rejection({ model, frames: { shape: [1, 784], data: Array(784).fill(0) as unknown as Float32Array }, chip: 'ideal' });
    expect(plain.message).toMatch(/frames\.data must be a Float32Array, got an array/);
  });

  it('options a plain JavaScript caller can get wrong: none, a null model, a non-string policy, layers not an object', async () => {
    expect((await rejection(undefined as unknown as SimulateOptions)).message).toMatch(/simulate\(\) takes an options object/);
    expect((await rejection({ model: null as unknown as string, frames })).message).toMatch(/^no model given: model must be an ONNX file path or an imported graph, got null$/);
    expect((await rejection({ model, frames, policy: 5 as unknown as string })).message).toMatch(/policy must be a string .*got 5/);
    expect((await rejection({ model, frames, layers: 'x' as never })).message).toMatch(/layers must be an object of per-gate settings/);
    expect((await rejection({ model, frames, modelOutput: 5 as unknown as string })).message).toMatch(/^modelOutput must be the name of a model output, got 5$/);
    expect((await rejection({ model, frames, trace: 123 as never })).message).toMatch(/^trace must be a file path, a TraceSink or null, got number$/);
    // Once silently wrong or a raw TypeError: checked and named.
    expect((await rejection({ model: {} as never, frames })).message).toMatch(/^model must be an ONNX file path or a graph from loadOnnx\(\)/);
    expect((await rejection({ model, frames, onFrame: 5 as never })).message).toMatch(/^onFrame must be a function/);
    expect((await rejection({ model, frames, dense: 'no' as never })).message).toMatch(/^dense must be true or false, got "no"$/);
    expect((await rejection({ model, frames, labels: Float32Array.of(1, 2, 3, 4) as never })).message).toMatch(/labels must be an Int32Array of class indices .*got Float32Array/);
    expect((await rejection({ model, frames, layers: { input: { treshold: 5 } } as never })).message).toMatch(/^layers\.input: unknown key 'treshold'/);
    expect((await rejection({ model, frames, layers: { input: { threshold: '0.2' } } as never })).message).toMatch(/^layers\.input\.threshold must be a number, got "0\.2"$/);
    expect((await rejection({ model, frames, compareDense: true, denseOutputs: new Float32Array(3) })).message).toMatch(/^denseOutputs must be a Float32Array of the 4 frames' dense outputs \(4 × 10 values\), got 3 values$/);
    expect((await rejection({ model, frames, trace: { begin: async () => undefined } as never })).message).toMatch(/^trace must be a file path, a TraceSink or null/);
    // null is "not given", as for labels and maxFrames.
    expect((await simulate({ model, frames, modelOutput: null, chip: 'ideal', maxFrames: 1 })).frames).toBe(1);
  });

  it('workers, maxFrames, placement and mesh', async () => {
    expect((await rejection({ model, frames, workers: 0 })).message).toMatch(/^workers must be a positive integer, got 0$/);
    expect((await rejection({ model, frames, workers: 1.5 })).message).toMatch(/workers must be a positive integer, got 1\.5/);
    expect((await rejection({ model, frames, maxFrames: -3 })).message).toMatch(/maxFrames must be a positive integer, got -3/);
    expect((await rejection({ model, frames, placement: 'bogus' as 'snake' })).message).toMatch(/placement must be 'snake' or 'hilbert'/);
    expect((await rejection({ model, frames, mesh: '0x2' })).message).toMatch(/mesh must be 'auto', 'WxH' or \{ width, height \}/);
  });

  it('a value of the wrong type is shown as given: "2" is a string, not the 2 the message would seem to refuse', async () => {
    const cases: [SimulateOptions, RegExp][] = [
      [{ model, frames, workers: '2' as never }, /^workers must be a positive integer, got "2"$/],
      [{ model, frames, maxFrames: '2' as never }, /^maxFrames must be a positive integer, got "2"$/],
      [{ model, frames, threshold: '0.1' as never }, /^threshold must be a number ≥ 0, got "0\.1"$/],
      [{ model, frames, workers: Number.NaN }, /^workers must be a positive integer, got NaN$/],
    ];
    for (const [opts, re] of cases) {
      const e = await rejection(opts);
      expect(e.code).toBe('BAD_USAGE');
      expect(e.message).toMatch(re);
    }
  });

  it('outputs, trace and signal of the wrong kind (were a raw TypeError, a silently ignored "", a misleading folder message, a run that cannot be stopped)', async () => {
    const cases: [SimulateOptions, RegExp][] = [
      [{ model, frames, outputs: 5 as never }, /^outputs must be the path of an \.npy file .*, got 5$/],
      [{ model, frames, outputs: {} as never }, /^outputs must be the path of an \.npy file .*, got \{\}$/],
      [{ model, frames, outputs: '' }, /^outputs must be the path of an \.npy file .*, got ""$/],
      [{ model, frames, trace: '' }, /^trace must be a file path, .*, got ""$/],
      [{ model, frames, signal: 'x' as never }, /^signal must be an AbortSignal, got "x"$/],
      [{ model, frames, signal: null as never }, /^signal must be an AbortSignal, got null$/],
    ];
    for (const [opts, re] of cases) {
      const e = await rejection(opts);
      expect(e.code).toBe('BAD_USAGE');
      expect(e.message).toMatch(re);
    }
  });

  it('a graph without tensors at its input and output index is refused before it is run (was a TypeError reading shape)', async () => {
    expect((await rejection({ model: { tensors: [], nodes: [] } as never, frames })).message).toMatch(/^model must be an ONNX file path or a graph from loadOnnx\(\)/);
  });

  it('a graph edited in code to hold a NaN weight is refused as an imported one is, naming the node (was: NaN outputs)', async () => {
    const g = api.loadOnnx(model);
    const fc = g.nodes.find((n) => n.op.kind === 'dense')!;
    (fc.op as { weight: Float32Array }).weight[3] = Number.NaN;
    const e = await rejection({ model: g, frames, chip: 'ideal' });
    expect(e.code).toBe('BAD_MODEL');
    expect(e.message).toMatch(new RegExp(`^graph '${g.name}': node '${fc.name}' \\(Gemm\\): its weight holds NaN at element 3`));
  });

  it('a chip object: the file format with a preset, or a ChipSpec, validated field by field', async () => {
    const loihi = loadChip('loihi');
    const viaDoc = await simulate({ model, frames, chip: { preset: 'loihi', core: { neurons: 64 } }, workers: 1 });
    const viaSpec = await simulate({ model, frames, chip: { ...loihi, core: { ...loihi.core, neurons: 64 } }, workers: 1 });
    expect(viaDoc.totals).toEqual(viaSpec.totals);
    // 784-200-200-10 on 64-neuron cores: 4 + 4 + 1 cores.
    expect(viaDoc.cores).toBe(9);
    // Named after what changed (was 'loihi (modified)', also with nothing changed).
    expect(viaDoc.chip).toBe('loihi (core.neurons)');
    expect((await simulate({ model, frames, chip: { preset: 'loihi' }, maxFrames: 1 })).chip).toBe('loihi');
    const neg = await rejection({ model, frames, chip: { ...loihi, costs: { ...loihi.costs, synop: { energyPj: -23.6, latencyNs: NaN } } } });
    expect(neg.code).toBe('BAD_CHIP');
    expect(neg.message).toMatch(/^chip: costs\.synop\.energy_pj must be greater than or equal to 0/);
    expect((await rejection({ model, frames, chip: { ...loihi, coresPerTile: 0 } })).message).toMatch(/cores_per_tile must be a positive integer$/);
    expect((await rejection({ model, frames, chip: { preset: 'loihi', core: { neurons: -1 } } })).message).toMatch(/^chip \(preset loihi\): core\.neurons must be/);
  });
});

describe('simulate() results', () => {
  it('keepOutputs returns the outputs without a file; a trace path records the run', async () => {
    const trace = join(tmp, 'api.sqlite');
    const r = await simulate({ model, frames, chip: 'ideal', keepOutputs: true, trace, traceLevel: 'summary' });
    expect(r.outputShape).toEqual([4, 10]);
    expect(r.outputs).toHaveLength(40);
    expect(r.trace).toBe(trace);
    const rows = await queryTrace(trace, 'SELECT status, trace_level, frames_planned FROM runs');
    expect(rows).toEqual([{ status: 'completed', trace_level: 'summary', frames_planned: 4 }]);
    // The run's settings are recorded (was: config_json null from the library).
    const [c] = await queryTrace(trace, "SELECT json_extract(config_json, '$.threshold') AS h, json_extract(config_json, '$.chip') AS chip, json_extract(config_json, '$.frames') AS frames FROM runs");
    expect(c).toEqual({ h: 0.05, chip: 'ideal', frames: '(in memory)' });
  });

  it('dense: every frame applies every weight and every gate neuron transmits', async () => {
    // 784-200-200-10: 784·200 + 200·200 + 200·10 = 198800 synapses; gates on the input and
    // both ReLUs: 784 + 200 + 200 = 1184 neurons.
    const r = await simulate({ model, frames, dense: true, workers: 1 });
    expect(r.policy).toBe('dense');
    for (const f of r.per_frame) {
      expect(f.synops).toBe(198800);
      expect(f.dense_macs).toBe(198800);
      expect(f.transmissions).toBe(1184);
    }
  });

  it('dense: the baseline has no ops reduction, also where its exact MACs skip padding taps that dense_macs counts', async () => {
    const cnn = readFloat32Npy(join(FIX, 'cnn_basic.input.npy'));
    const r = await simulate({ model: join(FIX, 'cnn_basic.onnx'), frames: cnn, dense: true, workers: 1 });
    expect(r.totals.dense_macs).toBeGreaterThan(r.totals.macs);
    expect(r.ops_reduction).toBe(1);
  });
});

describe('exported helpers given a value of the wrong kind', () => {
  it.each([
    // A number was read as an open file descriptor (fs takes both): fd 5 as the model or array.
    ['loadOnnx(5)', () => api.loadOnnx(5 as never), 'BAD_USAGE', /^loadOnnx\(\) takes the path of an \.onnx file, got 5$/],
    ['readNpy(5)', () => api.readNpy(5 as never), 'BAD_USAGE', /^readNpy\(\) takes the path of an \.npy file, got 5$/],
    ['loadChip(5)', () => api.loadChip(5 as never), 'BAD_USAGE', /^loadChip\(\) takes a preset name \(loihi, .*\) or a chip YAML path, got 5$/],
    ['parsePolicy(5)', () => api.parsePolicy(5 as never), 'BAD_POLICY', /^policy must be a string such as 'threshold'.*, got 5$/],
    ['makeWorkload(null)', () => api.makeWorkload(null as never, [1, 784]), 'BAD_USAGE', /^makeWorkload\(\) takes a workload \{ kind: .* \}, got null$/],
    ['temporalMnist({ frames: "5" })', () => api.temporalMnist({ frames: '5' as never }), 'BAD_USAGE', /^temporal MNIST frames must be an integer in 1…10000 .*, got "5"$/],
  ])('%s throws an EvsimError naming it (was a raw TypeError or an fd read)', (_what, call, code, re) => {
    let err: unknown = null;
    try {
      call();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EvsimError);
    expect((err as EvsimError).code).toBe(code);
    expect((err as EvsimError).message).toMatch(re);
  });
});
