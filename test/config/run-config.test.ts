/**
 * The run config's validator (STYLE §6): one test per rule, each asserting the error
 * code and the path it names (the CLI tests check the exit code and the one line).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunConfig, resolveSettings } from '../../src/config/run-config.js';
import { expectError } from '../helpers/onnx.js';

const tmp = mkdtempSync(join(tmpdir(), 'evsim-run-config-'));
let n = 0;
function configOf(yaml: string): string {
  const p = join(tmp, `c${n++}.yaml`);
  writeFileSync(p, yaml);
  return p;
}

describe('loadRunConfig', () => {
  it.each([
    ['an unknown key', 'model: m.onnx\nthreshhold: 0.1\n', /c\d+\.yaml: unknown key 'threshhold'/],
    ['a negative threshold', 'model: m.onnx\nthreshold: -0.5\n', /threshold must be greater than or equal to 0/],
    ['trace: true', 'model: m.onnx\ntrace: true\n', /trace must be a string or false$/],
    ['a mesh that is no size', "model: m.onnx\nmesh: '0x0'\n", /mesh must be 'auto' or WxH with W, H ≥ 1/],
    ['a per-gate key misspelt', 'model: m.onnx\nlayers:\n  relu: { treshold: 0.1 }\n', /unknown key 'layers\.relu\.treshold'/],
    ['invalid YAML', 'model: [1\nx: 2\n', /invalid YAML: .*\(line 2, column 1\)$/],
    ["an unknown trace level (was: the validator's 'Invalid enum value')", 'model: m.onnx\ntrace_level: verbose\n', /c\d+\.yaml: trace_level must be 'summary', 'cores' or 'events', got "verbose"$/],
    // A schema rebuilds the layers map by assignment: the key would become its prototype, the gate's settings dropped.
    ['a __proto__ key', 'model: m.onnx\nlayers:\n  __proto__: { threshold: 0.1 }\n', /c\d+\.yaml: layers\.__proto__: '__proto__' is not a key evsim reads; remove it$/],
  ])('%s is BAD_CONFIG naming it', (_what, yaml, pattern) => {
    expectError(() => loadRunConfig(configOf(yaml)), 'BAD_CONFIG', pattern);
  });

  it('resolves files beside the config, keeps presets as names', () => {
    const c = loadRunConfig(configOf('model: m.onnx\nframes: /abs/f.npy\nchip: chips/x.yaml\n'));
    expect([c.model, c.frames, c.chip]).toEqual([join(tmp, 'm.onnx'), '/abs/f.npy', join(tmp, 'chips', 'x.yaml')]);
    expect(loadRunConfig(configOf('model: m.onnx\nchip: loihi-fitted\n')).chip).toBe('loihi-fitted');
  });
});

describe('resolveSettings', () => {
  const trace = (m: string): string => `${m}.sqlite`;
  it('memory loss with rounding is BAD_USAGE, said as the config or as the flags', () => {
    expectError(() => resolveSettings({ model: 'm', memory_loss: true, policy: 'rounding' }, {}, trace), 'BAD_USAGE', /^memory_loss: true conflicts with policy: rounding \(config\)/);
    expectError(() => resolveSettings({ model: 'm' }, { memory_loss: true, policy: 'rounding' }, trace), 'BAD_USAGE', /^--memory-loss conflicts with --policy rounding/);
  });

  it('a trace level for a trace that is off is refused wherever the two come from, unless --no-trace overrides the config (was: accepted from a config)', () => {
    const off = /no trace is written; drop one of them/;
    expectError(() => resolveSettings({ model: 'm', trace: false, trace_level: 'events' }, {}, trace), 'BAD_USAGE', /^trace_level: events with trace: false in the config: /, off);
    expectError(() => resolveSettings({ model: 'm', trace: false }, { trace_level: 'events' }, trace), 'BAD_USAGE', /^--trace-level events with trace: false in the config: .*or pass --trace PATH/);
    expectError(() => resolveSettings({ model: 'm' }, { trace: false, trace_level: 'events' }, trace), 'BAD_USAGE', /^--trace-level events with --no-trace: /, off);
    // --no-trace drops the config's trace, its level with it.
    const s = resolveSettings({ model: 'm', trace_level: 'events' }, { trace: false }, trace);
    expect([s.trace, s.traceLevel]).toEqual([null, 'events']);
  });

  it('no model is BAD_USAGE naming the flag and the key', () => {
    expectError(() => resolveSettings({}, {}, trace), 'BAD_USAGE', /--model M\.onnx or set model: in the config/);
  });

  it('flags win over the file; --memory-loss keeps the policy\'s other parts', () => {
    const s = resolveSettings({ model: 'm', threshold: 0.2, policy: 'chunk:2' }, { threshold: 0.3, memory_loss: true }, trace);
    expect([s.threshold, s.policy, s.trace]).toEqual([0.3, 'memory-loss', 'm.sqlite']);
    expect(resolveSettings({ model: 'm', policy: 'chunk:2,reset:4', memory_loss: true }, {}, trace).policy).toBe('memory-loss,chunk:2,reset:4');
  });
});
