/**
 * A TraceSink that keeps a run in memory, to be replayed into another sink later.
 * A sweep point runs in a worker thread and records its run here; the sweep's main
 * thread, the only writer of the sweep file, replays it there (DESIGN §7: one writer).
 *
 * Frames are kept in columns (a few growable Float64Arrays, not objects per frame): the
 * recording crosses to the main thread as a handful of buffers, so receiving it costs a
 * copy instead of rebuilding thousands of objects, which the sweep's main thread did
 * before it could hand the worker its next point.
 */
import { Growable } from '../growable.js';
import type { FrameRecord } from './result.js';
import type { RunScores, RunStatus, TraceCoreFrame, TraceLayerFrame, TraceRunInfo, TraceSink } from './trace-sink.js';

/** The FrameRecord fields, in column order. */
const FRAME_KEYS = ['frame', 'macs', 'dense_macs', 'adds', 'transmissions', 'synops', 'messages', 'hops', 'energy_pj', 'latency_ns'] as const;
/** Fails to compile when FrameRecord gains a field FRAME_KEYS lacks. */
const _everyFrameKey: Record<Exclude<keyof FrameRecord, (typeof FRAME_KEYS)[number]>, never> = {};
void _everyFrameKey;
const LAYER_KEYS = ['macs', 'adds', 'updates', 'transmissions'] as const;
const CORE_KEYS = ['messagesIn', 'synops', 'neuronUpdates', 'messagesOut', 'busyNs', 'stallNs', 'queueMax', 'energyPj', 'endNs', 'haloSynops', 'haloUpdates'] as const;

export interface Recording {
  level: 'summary' | 'cores';
  info: TraceRunInfo | null;
  /** Frames recorded. */
  frames: number;
  /** FRAME_KEYS of each frame, frame after frame. */
  records: Float64Array;
  /** Per frame whether it had layer figures; if so, LAYER_KEYS × `nLayers` of them in `layers`. */
  hasLayers: Uint8Array;
  nLayers: number;
  layers: Float64Array;
  /** Per frame whether it had core figures (level cores); if so, CORE_KEYS × `nCores` of them in `cores`. */
  hasCores: Uint8Array;
  nCores: number;
  cores: Float64Array;
  status: RunStatus | null;
  error: string | null;
  scores: RunScores | null;
  /** When the run began and ended where it ran (ISO 8601), for the replayed row. */
  createdAt: string | null;
  endedAt: string | null;
}

export class RecordingSink implements TraceSink {
  private info: TraceRunInfo | null = null;
  private frames = 0;
  private readonly records = new Growable((n) => new Float64Array(n));
  private readonly layers = new Growable((n) => new Float64Array(n));
  private readonly cores = new Growable((n) => new Float64Array(n));
  private readonly hasLayers: number[] = [];
  private readonly hasCores: number[] = [];
  private nLayers = -1;
  private nCores = -1;
  private status: RunStatus | null = null;
  private error: string | null = null;
  private scores: RunScores | null = null;
  private createdAt: string | null = null;
  private endedAt: string | null = null;

  /** `path` is where the run will be replayed (reported as the run's trace). */
  constructor(readonly path: string, readonly level: 'summary' | 'cores') {}

  async begin(info: TraceRunInfo): Promise<void> {
    this.info = info;
    this.createdAt = new Date().toISOString();
  }

  frame(rec: FrameRecord, layers: TraceLayerFrame | null, cores: TraceCoreFrame | null): void {
    for (const k of FRAME_KEYS) this.records.push(rec[k]);
    this.hasLayers.push(layers ? 1 : 0);
    if (layers) {
      this.nLayers = sameCount(this.nLayers, layers.macs.length, 'layer');
      for (const k of LAYER_KEYS) this.layers.pushAll(layers[k]);
    }
    const keepCores = cores !== null && this.level === 'cores';
    this.hasCores.push(keepCores ? 1 : 0);
    if (keepCores) {
      this.nCores = sameCount(this.nCores, cores.synops.length, 'core');
      for (const k of CORE_KEYS) this.cores.pushAll(cores[k]);
    }
    this.frames++;
  }

  async end(status: RunStatus, error?: string, scores?: RunScores): Promise<void> {
    this.status = status;
    this.error = error ?? null;
    this.scores = scores ?? null;
    this.endedAt = new Date().toISOString();
  }

  /** Whether the run began (a run that failed before it has nothing to replay). */
  get began(): boolean {
    return this.info !== null;
  }

  /** What was recorded, in buffers that survive structured cloning. */
  get recording(): Recording {
    return {
      level: this.level, info: this.info, frames: this.frames, records: this.records.take(),
      hasLayers: Uint8Array.from(this.hasLayers), nLayers: Math.max(0, this.nLayers), layers: this.layers.take(),
      hasCores: Uint8Array.from(this.hasCores), nCores: Math.max(0, this.nCores), cores: this.cores.take(),
      status: this.status, error: this.error, scores: this.scores, createdAt: this.createdAt, endedAt: this.endedAt,
    };
  }
}

function sameCount(have: number, got: number, what: string): number {
  if (have >= 0 && have !== got) throw new Error(`internal: a recorded frame has ${got} ${what}s, an earlier one ${have}`);
  return got;
}

/**
 * Writes a recorded run into `sink`. A run that never began (it failed before its first
 * frame, e.g. a network that does not fit) has nothing to replay and returns false.
 */
export async function replayRecording(rec: Recording, sink: TraceSink): Promise<boolean> {
  if (!rec.info) return false;
  await sink.begin(rec.info);
  const nf = FRAME_KEYS.length;
  const L = rec.nLayers;
  const C = rec.nCores;
  let lo = 0;
  let co = 0;
  for (let f = 0; f < rec.frames; f++) {
    const r = {} as Record<(typeof FRAME_KEYS)[number], number>;
    for (let k = 0; k < nf; k++) r[FRAME_KEYS[k]!] = rec.records[f * nf + k]!;
    let layers: TraceLayerFrame | null = null;
    if (rec.hasLayers[f]) {
      const v = (k: number): Float64Array => rec.layers.subarray(lo + k * L, lo + (k + 1) * L);
      layers = { macs: v(0), adds: v(1), updates: v(2), transmissions: v(3) };
      lo += LAYER_KEYS.length * L;
    }
    let cores: TraceCoreFrame | null = null;
    if (rec.hasCores[f]) {
      const v = (k: number): Float64Array => rec.cores.subarray(co + k * C, co + (k + 1) * C);
      cores = {
        messagesIn: v(0), synops: v(1), neuronUpdates: v(2), messagesOut: v(3), busyNs: v(4), stallNs: v(5), queueMax: v(6), energyPj: v(7), endNs: v(8),
        haloSynops: v(9), haloUpdates: v(10),
      };
      co += CORE_KEYS.length * C;
    }
    sink.frame(r as FrameRecord, layers, cores);
  }
  await sink.end(rec.status ?? 'failed', rec.error ?? undefined, rec.scores ?? undefined);
  return true;
}
