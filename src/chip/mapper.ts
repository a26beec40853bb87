/**
 * The mapper (DESIGN §5): splits every segment's neurons into partitions that fit a
 * core — by output rows (aligned to any following pooling window), then by channel
 * groups — checks synapse memory and fan-in, and places one partition per core on the
 * tile mesh (snake order, or along a Hilbert curve so that consecutive partitions,
 * which talk most, stay close).
 */
import { EvsimError } from '../errors.js';
import type { EvPlan } from '../model/evnet/plan.js';
import { buildSegments, type Segment } from './segments.js';
import type { ChipSpec } from './spec.js';

export type PlacementStrategy = 'snake' | 'hilbert';

export interface Partition {
  id: number;
  segment: number;
  core: number;
  /** Channel range [c0, c1) and row range [r0, r1) of the segment's neuron grid. */
  c0: number;
  c1: number;
  r0: number;
  r1: number;
  /**
   * Shadow rows [r1, s1) (s1 = r1: none): rows of the next partitions that this one's
   * max-pool windows read, accumulated here as well (segments.ts `halo`).
   */
  s1: number;
  neurons: number;
  synapseBytes: number;
}

export interface CoreInfo {
  id: number;
  tileX: number;
  tileY: number;
  partition: number;
}

export interface Mapping {
  chip: ChipSpec;
  width: number;
  height: number;
  strategy: PlacementStrategy;
  segments: Segment[];
  partitions: Partition[];
  cores: CoreInfo[];
}

export interface MapOptions {
  /** 'auto' grows the mesh to fit; otherwise a fixed W×H. Defaults to the chip's mesh, else auto. */
  mesh?: 'auto' | { width: number; height: number };
  strategy?: PlacementStrategy;
  /**
   * Per gate name, its `chunk:C` where C > 1: a segment's channel groups are cut at
   * multiples of its gates' C (their least common multiple), so a chunk's channels share
   * a core — a gate averages |d| over a chunk, and an actor sees only its own cores' d.
   */
  chunks?: Readonly<Record<string, number>>;
}

function noFit(msg: string): EvsimError {
  return new EvsimError('DOES_NOT_FIT', msg);
}

/** Weights one output channel holds, summed over the segment's synaptic nodes. */
function weightsPerChannel(seg: Segment): number {
  let w = 0;
  for (const s of seg.synaptic) {
    const op = s.node.op;
    if (op.kind === 'conv') w += (op.cin / op.group) * op.kh * op.kw;
    else if (op.kind === 'dense') w += op.k;
  }
  return w;
}

function partitionSegment(seg: Segment, chip: ChipSpec, chunk: number): { rows: number; chans: number } {
  const N = chip.core.neurons;
  const name = seg.synaptic[0]?.node.name ?? seg.acc.name;
  if (seg.fanIn > chip.core.fanIn) {
    throw noFit(`layer '${name}': each neuron reads ${seg.fanIn} inputs but a ${chip.name} core allows a fan-in of ${chip.core.fanIn}; use a chip file with core.fan_in ≥ ${seg.fanIn} (or none), or another chip`);
  }
  const { rows, cols, channels, rowAlign } = seg;
  let R: number;
  let G: number;
  const fullRows = Math.floor(N / (cols * channels));
  if (seg.rowsWhole && seg.halo && rows * cols * Math.min(channels, Math.max(1, chunk)) > N) {
    // A channel (a chunk's channels under chunk:C) outgrows a core: split its rows, each
    // partition one channel (or chunk) with up to span − 1 shadow rows (the overlap of its
    // last pooling window into the next rows).
    const span = (seg.halo.kh - 1) * seg.halo.dil;
    G = Math.min(channels, Math.max(1, chunk));
    R = Math.floor(N / (G * cols)) - span;
    if (R < 1) throw noFit(`layer '${name}': a row of ${G > 1 ? `${G} channels (chunk:${chunk})` : 'one channel'} holds ${G * cols} neurons, and its ${seg.halo.kh}-row pooling windows need ${1 + span} rows on a core (${(1 + span) * G * cols} neurons), but a ${chip.name} core holds ${N}; use a chip with larger cores`);
  } else if (seg.rowsWhole) {
    R = rows;
    G = Math.min(channels, Math.floor(N / (rows * cols)));
  } else if (fullRows >= Math.min(rowAlign, rows)) {
    R = Math.min(rows, Math.max(rowAlign, Math.floor(fullRows / rowAlign) * rowAlign));
    G = channels;
  } else {
    R = Math.min(rows, rowAlign);
    G = Math.floor(N / (R * cols));
  }
  if (G < 1) {
    const why = seg.rowsWhole ? ` (its rows stay together: ${seg.wholeBecause})` : '';
    throw noFit(`layer '${name}': a ${R}-row strip of one channel holds ${R * cols} neurons but a ${chip.name} core holds ${N}${why}; a row is never split across cores, so no mesh size helps: use a chip with core.neurons ≥ ${R * cols}`);
  }
  const wpc = weightsPerChannel(seg);
  const bytesFor = (g: number): number => Math.ceil((g * wpc * chip.core.weightBits) / 8);
  const bySynapses = bytesFor(G) > chip.core.synapseBytes;
  if (bySynapses) {
    G = Math.floor((chip.core.synapseBytes * 8) / (wpc * chip.core.weightBits));
    if (G < 1) {
      throw noFit(`layer '${name}': one output channel needs ${bytesFor(1)} bytes of synapses but a ${chip.name} core has ${chip.core.synapseBytes}`);
    }
  }
  if (chunk > 1 && G < channels) {
    // A chunk wider than the layer is all of its channels.
    const c = Math.min(chunk, channels);
    G = Math.floor(G / c) * c;
    if (G < 1) {
      // What a core lacks for one chunk: synapse memory for its channels' weights, or neurons.
      const keeps = `the chunk:${chunk} policy keeps ${c === chunk ? `${c} channels` : `all ${c} channels`} of a position on one core`;
      throw noFit(bySynapses
        ? `layer '${name}': ${keeps}, whose weights need ${bytesFor(c)} bytes of synapses, but a ${chip.name} core has ${chip.core.synapseBytes}; use a smaller chunk or a chip file with core.synapse_bytes ≥ ${bytesFor(c)}`
        : `layer '${name}': ${keeps}, ${c * R * cols} neurons in ${R}-row strips, but a ${chip.name} core holds ${N}; use a smaller chunk or a chip with larger cores`);
    }
  }
  if (seg.channelsWhole && G < channels) {
    throw noFit(`layer '${name}': its ${channels} channels must share a core (${seg.wholeBecause}) but a core fits ${G}`);
  }
  // Fewer channels than the strip height was chosen for (synapse memory or chunks bound
  // them): taller strips, whose neurons share their channels' weights, use the neurons
  // (was: strips sized for all channels, up to twice the cores a network needed).
  const splitRows = !seg.rowsWhole && !(seg.halo && rows * cols * Math.min(channels, Math.max(1, chunk)) > N);
  if (splitRows && G < channels) R = Math.max(R, Math.min(rows, Math.floor(Math.floor(N / (G * cols)) / rowAlign) * rowAlign));
  return { rows: R, chans: Math.min(G, channels) };
}

/**
 * The end of a partition's shadow rows: a max-pool output belongs to the partition of its
 * window's first row (clamped into the map, as setup.ts `maxpoolMaps` owns it), and the
 * partition must hold every row its outputs' windows read.
 */
function shadowEnd(seg: Segment, r0: number, r1: number): number {
  const h = seg.halo;
  if (!h || r1 >= seg.rows) return r1;
  let end = r1;
  for (let oy = 0; oy < h.outRows; oy++) {
    const top = oy * h.stride - h.pad;
    if (top >= r1) break;
    const first = Math.min(seg.rows - 1, Math.max(0, top));
    if (first < r0) continue;
    end = Math.max(end, Math.min(seg.rows, top + (h.kh - 1) * h.dil + 1));
  }
  return end;
}

/** The chunk a segment's channel groups are cut at: the least common multiple of its gates' (1: none chunked). */
function segmentChunk(seg: Segment, chunks: Readonly<Record<string, number>> | undefined): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let c = 1;
  for (const g of seg.gates) {
    const k = chunks?.[g.name] ?? 1;
    c = (c / gcd(c, k)) * k;
  }
  return c;
}

/** d2xy of a Hilbert curve of side n (a power of two). */
function hilbert(n: number, d: number): [number, number] {
  let x = 0;
  let y = 0;
  let t = d;
  for (let s = 1; s < n; s *= 2) {
    const rx = 1 & (t / 2);
    const ry = 1 & (t ^ rx);
    if (ry === 0) {
      if (rx === 1) {
        x = s - 1 - x;
        y = s - 1 - y;
      }
      [x, y] = [y, x];
    }
    x += s * rx;
    y += s * ry;
    t = Math.floor(t / 4);
  }
  return [x, y];
}

/**
 * Tile coordinates in placement order for a W×H mesh: the first `count` tiles (default
 * all), so a large mesh costs only the tiles a network uses.
 */
export function tileOrder(width: number, height: number, strategy: PlacementStrategy, count = width * height): [number, number][] {
  const out: [number, number][] = [];
  const want = Math.min(count, width * height);
  if (strategy === 'snake') {
    for (let t = 0; t < want; t++) {
      const y = Math.floor(t / width);
      const i = t - y * width;
      out.push([y % 2 === 0 ? i : width - 1 - i, y]);
    }
    return out;
  }
  let n = 1;
  while (n < Math.max(width, height)) n *= 2;
  for (let d = 0; d < n * n && out.length < want; d++) {
    const [x, y] = hilbert(n, d);
    if (x < width && y < height) out.push([x, y]);
  }
  return out;
}

/** A mesh written 'WxH' (positive integers), or null when it is not one. */
export function parseMeshSize(text: string): { width: number; height: number } | null {
  const m = /^(\d+)x(\d+)$/.exec(text);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) return null;
  return { width: Number(m[1]), height: Number(m[2]) };
}

export function mapNetwork(plan: EvPlan, chip: ChipSpec, opts: MapOptions = {}): Mapping {
  const segments = buildSegments(plan);
  const partitions: Partition[] = [];
  for (const seg of segments) {
    const { rows: R, chans: G } = partitionSegment(seg, chip, segmentChunk(seg, opts.chunks));
    const wpc = weightsPerChannel(seg);
    for (let r0 = 0; r0 < seg.rows; r0 += R) {
      for (let c0 = 0; c0 < seg.channels; c0 += G) {
        const r1 = Math.min(r0 + R, seg.rows);
        const c1 = Math.min(c0 + G, seg.channels);
        partitions.push({
          id: partitions.length, segment: seg.id, core: partitions.length, c0, c1, r0, r1, s1: shadowEnd(seg, r0, r1),
          neurons: (r1 - r0) * seg.cols * (c1 - c0),
          synapseBytes: Math.ceil(((c1 - c0) * wpc * chip.core.weightBits) / 8),
        });
      }
    }
  }
  const needed = partitions.length;
  const tilesNeeded = Math.ceil(needed / chip.coresPerTile);
  const mesh = opts.mesh ?? chip.mesh ?? 'auto';
  let width: number;
  let height: number;
  if (mesh === 'auto') {
    width = Math.max(1, Math.ceil(Math.sqrt(tilesNeeded)));
    height = Math.max(1, Math.ceil(tilesNeeded / width));
  } else {
    ({ width, height } = mesh);
    const have = width * height * chip.coresPerTile;
    if (have < needed) {
      throw noFit(`the network needs ${needed} cores but the ${width}×${height} mesh of ${chip.name} has ${have}; use --mesh auto or a larger mesh`);
    }
  }
  const strategy = opts.strategy ?? 'snake';
  const tiles = tileOrder(width, height, strategy, tilesNeeded);
  const cores: CoreInfo[] = partitions.map((p, i) => {
    const [tileX, tileY] = tiles[Math.floor(i / chip.coresPerTile)]!;
    return { id: i, tileX, tileY, partition: p.id };
  });
  return { chip, width, height, strategy, segments, partitions, cores };
}
