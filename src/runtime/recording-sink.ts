/**
 * A TraceSink that keeps a run in memory, to be replayed into another sink later.
 * A sweep point runs in a worker thread and records its run here; the sweep's main
 * thread, the only writer of the sweep file, replays it there (DESIGN §7: one writer).
 * Everything it holds survives structured cloning (plain objects and typed arrays).
 */
import type { FrameRecord } from './result.js';
import type { RunStatus, TraceCoreFrame, TraceLayerFrame, TraceRunInfo, TraceSink } from './trace-sink.js';

export interface RecordedFrame {
  rec: FrameRecord;
  layers: TraceLayerFrame | null;
  cores: TraceCoreFrame | null;
}

export interface Recording {
  level: 'summary' | 'cores';
  info: TraceRunInfo | null;
  frames: RecordedFrame[];
  status: RunStatus | null;
  error: string | null;
}

/** A copy, since the runtime reuses its per-frame buffers. */
const copy = (a: ArrayLike<number>): Float64Array => Float64Array.from(a);

export class RecordingSink implements TraceSink {
  readonly recording: Recording;

  /** `path` is where the run will be replayed (reported as the run's trace). */
  constructor(readonly path: string, readonly level: 'summary' | 'cores') {
    this.recording = { level, info: null, frames: [], status: null, error: null };
  }

  async begin(info: TraceRunInfo): Promise<void> {
    this.recording.info = info;
  }

  frame(rec: FrameRecord, layers: TraceLayerFrame | null, cores: TraceCoreFrame | null): void {
    this.recording.frames.push({
      rec: { ...rec },
      layers: layers && { macs: copy(layers.macs), adds: copy(layers.adds), updates: copy(layers.updates), transmissions: copy(layers.transmissions) },
      cores: cores && this.level === 'cores'
        ? {
            messagesIn: copy(cores.messagesIn), synops: copy(cores.synops), neuronUpdates: copy(cores.neuronUpdates),
            messagesOut: copy(cores.messagesOut), busyNs: copy(cores.busyNs), stallNs: copy(cores.stallNs),
            queueMax: copy(cores.queueMax), energyPj: copy(cores.energyPj), endNs: copy(cores.endNs),
          }
        : null,
    });
  }

  async end(status: RunStatus, error?: string): Promise<void> {
    this.recording.status = status;
    this.recording.error = error ?? null;
  }
}

/**
 * Writes a recorded run into `sink`. A run that never began (it failed before its first
 * frame, e.g. a network that does not fit) has nothing to replay and returns false.
 */
export async function replayRecording(rec: Recording, sink: TraceSink): Promise<boolean> {
  if (!rec.info) return false;
  await sink.begin(rec.info);
  for (const f of rec.frames) sink.frame(f.rec, f.layers, f.cores);
  await sink.end(rec.status ?? 'failed', rec.error ?? undefined);
  return true;
}
