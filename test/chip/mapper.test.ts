/** Mapper and chip description (DESIGN §5): partitions, capacities, placement, validation. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mapNetwork, tileOrder } from '../../src/chip/mapper.js';
import type { Partition } from '../../src/chip/mapper.js';
import { partsByRow, segmentOwners } from '../../src/chip/routing.js';
import type { Segment } from '../../src/chip/segments.js';
import { buildChipSetup } from '../../src/chip/setup.js';
import { chipFromObject, loadChip, loadChipRaw } from '../../src/config/chip-config.js';
import { buildPlan } from '../../src/model/evnet/plan.js';
import { loadOnnx } from '../../src/model/onnx/import.js';
import { denseOp, GraphBuilder, relu } from '../helpers/graph.js';
import { mulberry32 } from '../helpers/rng.js';

const FIX = join(__dirname, '..', 'fixtures', 'onnx');
const plan = (name: string) => buildPlan(loadOnnx(join(FIX, `${name}.onnx`)));

/** The partition owning accumulator element i of a segment's grid, found by search (the reference for segmentOwners). */
function ownerOf(seg: Segment, rowParts: Partition[][], i: number): Partition | undefined {
  let ch: number;
  let row: number;
  if (seg.denseGrid) {
    // [m, n]: element i = row·n + channel.
    row = Math.floor(i / seg.channels);
    ch = i - row * seg.channels;
  } else {
    const plane = seg.rows * seg.cols;
    ch = Math.floor(i / plane);
    row = Math.floor((i - ch * plane) / seg.cols);
  }
  return rowParts[row]?.find((p) => ch >= p.c0 && ch < p.c1);
}

describe('presets', () => {
  it('carry the DESIGN §5 values', () => {
    const l = loadChip('loihi');
    expect([l.costs.synop.energyPj, l.costs.synop.latencyNs, l.costs.neuron_update.energyPj, l.costs.hop_ns.latencyNs]).toEqual([23.6, 3.5, 81, 6.5]);
    expect([l.core.neurons, l.core.synapseBytes, l.core.queueDepth, l.coresPerTile, l.mesh]).toEqual([1024, 131072, 64, 4, { width: 8, height: 4 }]);
    const f = loadChip('loihi-fitted');
    expect([f.costs.spike.energyPj, f.costs.spike.latencyNs, f.costs.message_out.energyPj, f.costs.message_in.latencyNs]).toEqual([69.3, 30, 111, 16]);
    const t = loadChip('truenorth');
    expect([t.costs.synop.energyPj, t.core.neurons, t.core.fanIn, t.core.queueDepth]).toEqual([26, 256, 256, 256]);
    expect(Object.values(loadChip('ideal').costs).every((c) => c.energyPj === 0 && c.latencyNs === 0)).toBe(true);
  });

  it('a row wider than a core exits 2 saying no mesh helps and which core size does', () => {
    const tiny = chipFromObject({ ...(loadChipRaw('loihi').raw as object), core: { neurons: 8, synapse_bytes: 131072, weight_bits: 8, queue_depth: 64 } }, 'tiny.yaml');
    // cnn_basic's first conv: 8 channels of 16 × 16, then a 2 × 2 max pool: 2-row strips of 32 neurons.
    expect(() => mapNetwork(plan('cnn_basic'), tiny)).toThrow(/a 2-row strip of one channel holds 32 neurons but a loihi core holds 8; a row is never split across cores, so no mesh size helps: use a chip with core\.neurons ≥ 32$/);
  });

  it('a bad chip file reports every problem with its path', () => {
    let msg = '';
    try {
      chipFromObject({ name: 'x', mesh: { width: 0, height: 2 }, cores_per_tile: 1, core: { neurons: -5, synapse_bytes: 1, weight_bits: 8, queue_depth: 1 }, costs: {} }, 'x.yaml');
    } catch (e) {
      expect((e as { code: string }).code).toBe('BAD_CHIP');
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^x\.yaml: /);
    expect(msg).toMatch(/mesh/);
    expect(msg).toMatch(/core\.neurons/);
    expect(msg).toMatch(/costs\.synop is missing/);
    // YAML's .inf is a number too: an infinite cost is named, not simulated as NaN times.
    expect(() => chipFromObject({ ...(loadChipRaw('loihi').raw as object), static_mw: Infinity }, 'y.yaml')).toThrow(/^y\.yaml: static_mw must be at most 1000000000000000/);
    expect(msg).not.toMatch(/\n/);
    // An infinite or fractional capacity says what a capacity takes (was: "expected integer, received float" of .inf).
    // -1.5 fails two rules, and is still said once (was: the message twice).
    for (const neurons of [Infinity, 1.5, -3, -1.5]) {
      expect(() => chipFromObject({ ...(loadChipRaw('loihi').raw as object), core: { neurons, synapse_bytes: 1, weight_bits: 8, queue_depth: 1 } }, 'c.yaml'))
        .toThrow(/^c\.yaml: core\.neurons must be a positive integer, or 'unlimited' for no limit$/);
    }
    expect(() => chipFromObject({ ...(loadChipRaw('loihi').raw as object), mesh: { width: 1.5, height: -2.5 } }, 'm.yaml'))
      .toThrow(/^m\.yaml: mesh\.width must be a positive integer; mesh\.height must be a positive integer$/);
    // A mesh object with a wrong field names it (was: "mesh must be "auto" or a number", though a number is refused).
    expect(() => chipFromObject({ ...(loadChipRaw('loihi').raw as object), mesh: { width: '2', height: 1 } }, 'm.yaml')).toThrow(/^m\.yaml: mesh\.width expected number, received string$/);
    expect(() => chipFromObject({ ...(loadChipRaw('loihi').raw as object), mesh: { width: 'x', height: 1, extra: 2 } }, 'm.yaml')).toThrow(/^m\.yaml: mesh\.width expected number, received string; unknown key 'mesh\.extra'$/);
  });

  it('a chip file can start from a preset (or another file) and set only what differs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evsim-chip-'));
    writeFileSync(join(dir, 'small.yaml'), 'preset: loihi\nname: small-loihi\ncore: { neurons: 256 }\n');
    writeFileSync(join(dir, 'slow.yaml'), 'preset: small.yaml\ncosts: { synop: { energy_pj: 50, latency_ns: 7 } }\n');
    const loihi = loadChip('loihi');
    const slow = loadChip(join(dir, 'slow.yaml'));
    // Named after its file unless it names itself (small.yaml does).
    expect(slow.name).toBe('slow');
    expect(loadChip(join(dir, 'small.yaml')).name).toBe('small-loihi');
    expect(slow.core).toEqual({ ...loihi.core, neurons: 256 });
    expect(slow.costs).toEqual({ ...loihi.costs, synop: { energyPj: 50, latencyNs: 7 } });
    writeFileSync(join(dir, 'loop.yaml'), 'preset: loop.yaml\n');
    expect(() => loadChip(join(dir, 'loop.yaml'))).toThrow(/loop\.yaml: presets nest more than 8 files deep/);
  });
});

describe('partitioning', () => {
  it('splits a conv by output rows aligned to the following pool, then by channels', () => {
    // cnn_basic: conv1 3→8 on 16×16 (stride 1) then MaxPool 2: 8·16·16 = 2048 neurons.
    // With 512 neurons per core: all 8 channels fit 512 / (16·8) = 4 rows, a multiple of
    // the pool's 2 → 4 partitions of 4 rows × 8 channels.
    const chip = { ...loadChip('loihi'), core: { ...loadChip('loihi').core, neurons: 512 } };
    const m = mapNetwork(plan('cnn_basic'), chip, { mesh: 'auto' });
    const first = m.partitions.filter((p) => p.segment === 0);
    expect(first.map((p) => [p.r0, p.r1, p.c0, p.c1])).toEqual([[0, 4, 0, 8], [4, 8, 0, 8], [8, 12, 0, 8], [12, 16, 0, 8]]);
    // 100 neurons per core: 100 / (16·8) < 1 row, so 2-row strips (the pool) of
    // 100 / (2·16) = 3 channels: rows 8 strips × channel groups [0,3) [3,6) [6,8).
    const tiny = { ...chip, core: { ...chip.core, neurons: 100 } };
    const t = mapNetwork(plan('cnn_basic'), tiny, { mesh: 'auto' }).partitions.filter((p) => p.segment === 0);
    expect(t).toHaveLength(8 * 3);
    expect(t.slice(0, 3).map((p) => [p.r0, p.r1, p.c0, p.c1])).toEqual([[0, 2, 0, 3], [0, 2, 3, 6], [0, 2, 6, 8]]);
  });

  it('segment ownership filled by partition equals ownerOf element by element', () => {
    // Conv grids split by rows and channels, dense grids, a grouped conv; tiny cores make many partitions.
    for (const [name, neurons] of [['cnn_basic', 100], ['cnn_basic', 512], ['cnn_group', 64], ['mlp', 12], ['mlp_flatten', 33]] as const) {
      const pl = plan(name);
      const chip = { ...loadChip('loihi'), core: { ...loadChip('loihi').core, neurons } };
      const m = mapNetwork(pl, chip, { mesh: 'auto' });
      for (const seg of m.segments) {
        const parts = m.partitions.filter((p) => p.segment === seg.id);
        const size = pl.tensors[seg.acc.out]!.size;
        const rows = partsByRow(seg, parts);
        const want = Int32Array.from({ length: size }, (_, i) => ownerOf(seg, rows, i)?.core ?? -1);
        expect(segmentOwners(seg, parts, size, -1), `${name} segment ${seg.id}`).toEqual(want);
        expect(new Set(want).size).toBe(new Set(parts.map((p) => p.core)).size);
      }
    }
  });

  it('a network that does not fit exits with the number of cores it needs', () => {
    expect(() => mapNetwork(plan('cnn_group'), loadChip('loihi'), { mesh: { width: 1, height: 1 } })).toThrow(/needs 21 cores but the 1×1 mesh of loihi has 4/);
  });

  it('fan-in and synapse memory are enforced', () => {
    expect(() => mapNetwork(plan('mlp'), loadChip('truenorth'))).toThrow(/'\/fc1\/Gemm'.*784 inputs.*fan-in of 256/);
    const small = { ...loadChip('loihi'), core: { ...loadChip('loihi').core, synapseBytes: 100 } };
    // One fc1 neuron holds 784 one-byte weights > 100 bytes.
    expect(() => mapNetwork(plan('mlp'), small)).toThrow(/one output channel needs 784 bytes/);
    // chunk:8 keeps 8 fc1 channels on a core: 8 × 784 one-byte weights = 6272 bytes > 5000,
    // though 8 neurons fit its 1024 many times: the message names the synapses.
    const mid = { ...loadChip('loihi'), core: { ...loadChip('loihi').core, synapseBytes: 5000 } };
    expect(() => mapNetwork(plan('mlp'), mid, { chunks: { '/Relu': 8 } })).toThrow(/chunk:8 policy .* need 6272 bytes of synapses, but a loihi core has 5000/);
    // A chunk wider than fc1's 200 channels is all of them: 200 × 784 = 156800 bytes (was: 1000 × 784).
    expect(() => mapNetwork(plan('mlp'), mid, { chunks: { '/Relu': 1000 } })).toThrow(/chunk:1000 policy keeps all 200 channels of a position on one core, whose weights need 156800 bytes/);
  });

  it('strips grow taller when synapse memory, not neurons, limits a core\'s channels (was: 70 cores where 46 do)', () => {
    // cnn_basic on 64-neuron cores with 512 B of 8-bit synapses. conv2 ([16, 4, 4], 8 × 3 × 3
    // = 72 weights a channel): 512 / 72 → 7 channels a core, then 64 / (7 × 4) → 2 rows:
    // 2 row strips × 3 channel groups (7, 7, 2) = 6 cores. conv3 (16 × 3 × 3 = 144 a channel):
    // 3 channels, 64 / (3 × 4) = 5 → all 4 rows: 6 channel groups = 6 cores.
    const small = chipFromObject({ ...(loadChipRaw('loihi').raw as object), cores_per_tile: 1, core: { neurons: 64, synapse_bytes: 512, weight_bits: 8, queue_depth: 64 } }, 'small.yaml');
    const m = mapNetwork(plan('cnn_basic'), small, { mesh: 'auto' });
    // Each layer's partitions as (rows, channels), sorted.
    const shapes = (layer: string): number[][] => m.partitions.filter((p) => m.segments[p.segment]!.acc.name === layer)
      .map((p) => [p.r1 - p.r0, p.c1 - p.c0]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
    expect(shapes('/conv2/Conv')).toEqual([[2, 2], [2, 2], [2, 7], [2, 7], [2, 7], [2, 7]]);
    expect(shapes('/conv3/Conv')).toEqual([[4, 1], [4, 3], [4, 3], [4, 3], [4, 3], [4, 3]]);
    expect(m.cores.length).toBe(46);
    // Each within both limits.
    for (const p of m.partitions) expect([p.neurons <= 64, p.synapseBytes <= 512]).toEqual([true, true]);
  });

  it('networks the chip cannot take exit naming the limit and the way out', () => {
    // input → Relu → Gemm: the sensor sends the input itself, so no core would run the Relu.
    const b = new GraphBuilder([1, 3], 'relu-first');
    const r = b.add(relu(), [0], [1, 3]);
    b.add(denseOp(mulberry32(1), 1, 3, 2), [r], [1, 2]);
    expect(() => buildChipSetup(b.build(), loadChip('loihi'))).toThrow(/^relu-first: the network input feeds only nonlinear nodes .*use --chip ideal\)$/);
    // The input feeding a Gemm and, through a Relu, another Gemm: the Relu has no core.
    const m = new GraphBuilder([1, 3], 'relu-beside');
    const a = m.add(denseOp(mulberry32(2), 1, 3, 2), [0], [1, 2]);
    const r2 = m.add(relu(), [0], [1, 3]);
    const c = m.add(denseOp(mulberry32(3), 1, 3, 2), [r2], [1, 2]);
    m.add({ kind: 'add', sign: 1 }, [a, c], [1, 2]);
    expect(() => buildChipSetup(m.build(), loadChip('loihi'))).toThrow(/is computed from the network input by a nonlinear node outside any layer .*use --chip ideal\)$/);
  });

  it('snake and Hilbert orders visit every tile once', () => {
    for (const s of ['snake', 'hilbert'] as const) {
      const order = tileOrder(3, 5, s);
      expect(new Set(order.map(([x, y]) => `${x},${y}`)).size).toBe(15);
    }
    expect(tileOrder(3, 2, 'snake')).toEqual([[0, 0], [1, 0], [2, 0], [2, 1], [1, 1], [0, 1]]);
    // Hilbert: consecutive tiles are always neighbours on a 4×4 mesh.
    const h = tileOrder(4, 4, 'hilbert');
    for (let i = 1; i < h.length; i++) expect(Math.abs(h[i]![0] - h[i - 1]![0]) + Math.abs(h[i]![1] - h[i - 1]![1])).toBe(1);
  });
});
