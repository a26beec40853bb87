/**
 * Cores dealt to actors as a pipeline: every message goes from an actor to itself or a
 * later one (so no actor waits on a later one within a frame), each actor's cores are
 * one stretch of the plan order, and the stretches carry comparable dense work.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Mapping } from '../../src/chip/mapper.js';
import { buildChipSetup } from '../../src/chip/setup.js';
import { loadChip } from '../../src/config/chip-config.js';
import { loadOnnx } from '../../src/model/onnx/import.js';
import { pipelineAssignment } from '../../src/runtime/chip/balance.js';
import { cliIn, expectBadInput } from '../helpers/cli.js';

const ROOT = join(__dirname, '..', '..');
const models = {
  resnet_block: join(ROOT, 'test', 'fixtures', 'onnx', 'resnet_block.onnx'),
  'demo-cnn': join(ROOT, 'sim-configs', 'models', 'demo-cnn.onnx'),
};

describe('pipeline assignment of cores to actors', () => {
  for (const [name, file] of Object.entries(models)) {
    const setup = buildChipSetup(loadOnnx(file), loadChip('loihi'), { mesh: 'auto' });
    const { mapping, routes, owner } = setup;
    for (const n of [2, 3, 4]) {
      it(`${name}, ${n} actors: messages only flow forward, stretches are contiguous`, () => {
        const actor = pipelineAssignment(setup.mapping, n);
        expect(actor.length).toBe(mapping.cores.length);
        // Every route from a neuron's core to a target core: source actor ≤ target actor.
        let backward = 0;
        let crossing = 0;
        for (const [stream, r] of routes) {
          const own = owner.get(stream)!;
          for (let s = 0; s < own.length; s++) {
            if (own[s]! < 0) continue;
            for (let k = r.offsets[s]!; k < r.offsets[s + 1]!; k++) {
              if (actor[own[s]!]! > actor[r.core[k]!]!) backward++;
              if (actor[own[s]!]! < actor[r.core[k]!]!) crossing++;
            }
          }
        }
        expect(backward).toBe(0);
        expect(crossing).toBeGreaterThan(0);
        // In plan order (segment, rows, channels) the actor never goes down.
        const order = mapping.cores.map((c) => c.id).sort((a, b) => {
          const pa = mapping.partitions[mapping.cores[a]!.partition]!;
          const pb = mapping.partitions[mapping.cores[b]!.partition]!;
          return pa.segment - pb.segment || pa.r0 - pb.r0 || pa.c0 - pb.c0 || a - b;
        });
        for (let i = 1; i < order.length; i++) expect(actor[order[i]!]!).toBeGreaterThanOrEqual(actor[order[i - 1]!]!);
        // All actors get work; none gets more than half the dense synops of the network.
        const dense = new Float64Array(n);
        for (const c of mapping.cores) {
          const p = mapping.partitions[c.partition]!;
          dense[actor[c.id]!] += p.neurons * mapping.segments[p.segment]!.fanIn;
        }
        expect(new Set(actor).size).toBe(Math.min(n, mapping.cores.length));
        if (mapping.cores.length >= 8 * n) {
          const total = dense.reduce((a, b) => a + b, 0);
          for (const d of dense) expect(d).toBeLessThan(0.75 * total);
        }
      });
    }
  }

  it('no actor is left without cores, even beside one heavy core', () => {
    // Five cores in plan order; the first holds nearly all the dense work, so the middle
    // of its work alone lies in the last stretch and would leave the others empty.
    const neurons = [1024, 4, 4, 4, 4];
    const setup = {
      mapping: {
        cores: neurons.map((_, id) => ({ id, tileX: 0, tileY: 0, partition: id })),
        partitions: neurons.map((nn, id) => ({ id, segment: id === 0 ? 0 : 1, core: id, c0: 0, c1: 1, r0: id, r1: id + 1, neurons: nn, synapseBytes: 0 })),
        segments: [{ fanIn: 100_000 }, { fanIn: 1 }],
      } as unknown as Mapping,
    };
    for (let n = 1; n <= 5; n++) {
      const a = Array.from(pipelineAssignment(setup.mapping, n));
      expect(new Set(a).size).toBe(n);
      for (let i = 1; i < a.length; i++) expect(a[i]! - a[i - 1]!).toBeGreaterThanOrEqual(0);
    }
    expect(Array.from(pipelineAssignment(setup.mapping, 2))).toEqual([0, 1, 1, 1, 1]);
  });

  it('one actor owns every core', () => {
    const setup = buildChipSetup(loadOnnx(models.resnet_block), loadChip('loihi'), { mesh: 'auto' });
    expect(Array.from(new Set(pipelineAssignment(setup.mapping, 1)))).toEqual([0]);
  });
});

describe('evsim inspect --workers', () => {
  const run = cliIn(ROOT);
  for (const workers of [2, 3]) {
    it(`shows the pipeline stretches of ${workers} workers, layer by layer in plan order`, async () => {
      const r = await run('inspect', models['demo-cnn'], '--chip', 'loihi', '--workers', String(workers), '--json');
      expect(r.code).toBe(0);
      const m = JSON.parse(r.out) as { workers: number; mapping: { workers: number; layers: { cores: number; actors: Record<string, number> }[] } };
      const layers = m.mapping.layers;
      expect(m.mapping.workers).toBe(workers);
      // Every layer's cores are accounted for, actors only go up from layer to layer, and
      // the first layer starts on actor 0 and the last ends on the last actor.
      let last = 0;
      for (const l of layers) {
        const ids = Object.keys(l.actors).map(Number).sort((a, b) => a - b);
        expect(Object.values(l.actors).reduce((a, b) => a + b, 0)).toBe(l.cores);
        expect(ids[0]!).toBeGreaterThanOrEqual(last);
        last = ids[ids.length - 1]!;
      }
      expect(Object.keys(layers[0]!.actors)).toEqual(['0']);
      expect(last).toBe(workers - 1);
    });
  }

  it('marks relay layers (no activation after them) in the mapping', async () => {
    const r = await run('inspect', join(ROOT, 'test', 'fixtures', 'onnx', 'unet_decoder.onnx'), '--chip', 'loihi');
    expect(r.code).toBe(0);
    // up1 feeds a Concat straight into dec1; up2 is followed by a Relu.
    expect(r.out).toMatch(/^\/up1\/ConvTranspose \(relay\) +\d/m);
    expect(r.out).toMatch(/^\/up2\/ConvTranspose +\d/m);
    expect(r.out).toMatch(/^relay: a layer with no activation after it/m);
  });

  it('rejects a worker count that is not a positive integer', async () => {
    expectBadInput(await run('inspect', models['demo-cnn'], '--chip', 'loihi', '--workers', '0'), /--workers must be a positive integer/);
  });
});
