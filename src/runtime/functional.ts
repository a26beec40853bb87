/**
 * The functional run (`--chip ideal`): the EvNet engine frame by frame, with the
 * dense network alongside when asked (`--compare-dense`), producing the §8 result.
 */
import { createEngine, type EvnetOptions } from '../model/evnet/engine.js';
import { formatPolicy } from '../model/evnet/policy.js';
import type { Graph } from '../model/ir.js';
import { outputFrameShape, type Frames } from './inputs.js';
import type { TraceRunInfo, TraceSink } from './trace-sink.js';
import { denseReference, LayerSums, runResult, RunAccumulator, type RunResult } from './result.js';

export interface FunctionalOptions extends EvnetOptions {
  compareDense?: boolean;
  /** Precomputed dense outputs to compare against (see denseReference). */
  denseOutputs?: Float32Array | null;
  labels?: Int32Array | null;
  /** Keep every frame's output (for --outputs). */
  keepOutputs?: boolean;
  /** Called after every frame (progress). */
  onFrame?: (done: number, total: number) => void;
  /** Checked between frames; a true value stops the run (SIGINT). */
  shouldStop?: () => boolean;
  /** Where frames are recorded (begun here, ended by the caller). */
  trace?: { sink: TraceSink; info: Omit<TraceRunInfo, 'layers' | 'cores'> } | null;
}

export interface FunctionalRun {
  result: RunResult;
  outputs: Float32Array | null;
  outputShape: number[];
  interrupted: boolean;
}

/** Yields to the event loop so signals and progress get a chance between frames. */
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function runFunctional(graph: Graph, frames: Frames, count: number, opts: FunctionalOptions): Promise<FunctionalRun> {
  const engine = createEngine(graph, opts);
  const dense = denseReference(graph, opts.compareDense, opts.denseOutputs);
  const outT = graph.tensors[graph.output]!;
  const outSize = outT.size;
  const acc = new RunAccumulator(outSize, count, !!opts.keepOutputs, opts.labels, dense);
  const nLayers = engine.layers.length;
  const layerSums = new LayerSums(nLayers);
  let done = 0;
  let interrupted = false;
  if (opts.trace) {
    await opts.trace.sink.begin({
      ...opts.trace.info,
      layers: engine.layers.map((l) => ({
        layer_id: l.id, name: l.name, op: l.op, kind: l.kind, shape: l.shape.join('x'),
        dense_macs: l.denseMacs, weight_bytes: l.weightBytes, state_bytes: l.stateBytes,
      })),
      cores: [],
    });
  }
  let lastYield = performance.now();
  for (let t = 0; t < count; t++) {
    if (opts.shouldStop?.()) {
      interrupted = true;
      break;
    }
    const frame = frames.data.subarray(t * frames.frameSize, (t + 1) * frames.frameSize);
    const fc = engine.step(frame);
    acc.add(
      { frame: t, macs: fc.macs, dense_macs: fc.denseMacs, adds: fc.adds, transmissions: fc.transmissions, synops: fc.macs, messages: 0, hops: 0, energy_pj: 0, latency_ns: 0 },
      { gateUpdates: fc.gateUpdates, accUpdates: fc.accUpdates, stallNs: 0 }, engine.output, frame,
    );
    opts.trace?.sink.frame(acc.perFrame[t]!, engine.counts, null);
    const behind = opts.trace?.sink.backlog?.();
    if (behind) await behind;
    layerSums.add(engine.counts);
    done++;
    opts.onFrame?.(done, count);
    if (performance.now() - lastYield > 50) {
      await tick();
      lastYield = performance.now();
    }
  }
  const mem = engine.memory();
  const fin = acc.finish(0);
  const result = runResult(acc, fin, {
    model: graph.name, chip: 'ideal', policy: formatPolicy(opts.policy), threshold: opts.threshold,
    memory: { weight_bytes: mem.weightBytes, state_bytes: mem.stateBytes }, cores: 0, mesh: null,
    layers: layerSums.totals(engine.layers.map((l) => ({ layer_id: l.id, name: l.name, kind: l.kind, op: l.op, dense_macs: l.denseMacs })), done),
  });
  return { result, outputs: fin.outputs, outputShape: [done, ...outputFrameShape(outT.shape)], interrupted };
}
