/**
 * Which actor owns which core (DESIGN §6: partitions are fixed by the mapper, the
 * worker count only groups them). Cores are dealt as a pipeline: in plan order
 * (segment, then rows, then channel groups) cut into N contiguous stretches of equal
 * estimated work, so every batch flows from an actor to itself or a later one. With
 * frames in flight, actor 0 runs frame k + 1 while actor 1 finishes frame k, and no
 * actor ever waits on a later one within a frame. (Dealing every layer's rows to all
 * actors instead made each layer a barrier between them: 1.42× on two workers, where
 * the pipeline gives 1.8×.)
 *
 * The estimate is static: dense synops plus a fixed cost per core. Real work per layer
 * follows how much of it changes, which grows with depth in an EvNet and swings from
 * frame to frame; estimating it from the run's first frames on the functional engine
 * was tried and dropped, since those frames were far quieter than the run's average
 * (36 k vs 140 k messages per frame into the demo CNN's second layer). The assignment
 * never changes results, only how evenly the actors are loaded.
 */
import type { Mapping } from '../../chip/mapper.js';

/**
 * Simulator work of a core per frame beside its synaptic ops, in synop equivalents
 * (merging and timing its messages, its neuron updates and gate): a least-squares fit
 * of per-segment times of the demo CNN (npm run bench's chip run, 96 frames) to dense
 * synops and cores gives 12.8 ms per million dense synops and 2.6 ms per core.
 */
const CORE_OVERHEAD_SYNOPS = 200_000;

/**
 * Cores to `n` actors as a pipeline: cores in plan order, cut into n stretches of equal
 * estimated work, a core's work being its dense synops (neurons × fan-in) plus a fixed
 * overhead per core. Every actor gets at least one core (the caller keeps n ≤ cores).
 */
export function pipelineAssignment(mapping: Mapping, n: number): Int32Array {
  const nCores = mapping.cores.length;
  const out = new Int32Array(nCores);
  if (n <= 1) return out;
  const part = (c: number): (typeof mapping.partitions)[number] => mapping.partitions[mapping.cores[c]!.partition]!;
  const work = new Float64Array(nCores);
  let total = 0;
  for (let c = 0; c < nCores; c++) {
    const p = part(c);
    work[c] = p.neurons * mapping.segments[p.segment]!.fanIn + CORE_OVERHEAD_SYNOPS;
    total += work[c]!;
  }
  const order = Array.from({ length: nCores }, (_, c) => c).sort((a, b) => {
    const pa = part(a);
    const pb = part(b);
    return pa.segment - pb.segment || pa.r0 - pb.r0 || pa.c0 - pb.c0 || a - b;
  });
  let done = 0;
  let prev = -1;
  for (let i = 0; i < nCores; i++) {
    const c = order[i]!;
    // Each core goes to the stretch holding the middle of its work, but no actor is left
    // without cores: at most one stretch further than the last core's, and never so late
    // that the cores left cannot reach the last actor.
    const mid = Math.min(n - 1, Math.floor(((done + work[c]! / 2) / total) * n));
    prev = Math.max(Math.min(mid, prev + 1), n - nCores + i);
    out[c] = prev;
    done += work[c]!;
  }
  return out;
}
