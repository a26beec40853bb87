/**
 * How a gate stream's transmissions leave a sender (a core-group actor, or the input
 * sensor on tile (0, 0)): per neuron, precomputed once from the routes, the hops of its
 * messages and the actors they reach; per frame, one batch per destination actor.
 */
import type { StreamRoutes } from '../../chip/routing.js';
import type { Mapping } from '../../chip/mapper.js';
import type { DeltaList } from '../../model/evnet/sparse.js';
import type { DeltaBatch } from '../messages.js';

/** A batch and the actor it goes to. */
export interface Outbound {
  to: number;
  batch: DeltaBatch;
}

/**
 * Where one gate stream's messages go, per neuron (element index; set for the sender's
 * neurons only): the hops of all its messages and the actors they reach, each once
 * (act[actOff[s], actOff[s + 1])).
 */
export interface GateFan {
  hopsEw: Int32Array;
  hopsNs: Int32Array;
  actOff: Int32Array;
  act: Int32Array;
}

/** Bytes handed out by slabBytes, from one backing store until it is used up. */
const SLAB_BYTES = 1 << 18;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * `n` bytes (8-aligned) of some ArrayBuffer no one else was given: a stretch of the
 * current slab, a new slab when it is used up, a buffer of their own when large. A slab
 * is never rewound or reused; it is freed once no view of it is left (its frames done),
 * so a batch's arrays are its own for as long as anyone holds them.
 */
function slabBytes(n: number): { buf: ArrayBuffer; offset: number } {
  if (n > SLAB_BYTES / 4) return { buf: new ArrayBuffer(n), offset: 0 };
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const offset = slabUsed;
  slabUsed += (n + 7) & ~7;
  return { buf: slab, offset };
}

/** Tile coordinates by core id + 1 (index 0: the sensor's tile (0, 0), as SENSOR is −1). */
export function tilesPlusOne(mapping: Mapping): { tileX1: Int32Array; tileY1: Int32Array } {
  const n = mapping.cores.length;
  const tileX1 = new Int32Array(n + 1);
  const tileY1 = new Int32Array(n + 1);
  for (let c = 0; c < n; c++) {
    tileX1[c + 1] = mapping.cores[c]!.tileX;
    tileY1[c + 1] = mapping.cores[c]!.tileY;
  }
  return { tileX1, tileY1 };
}

/** How many actors an assignment of cores uses (at least one). */
export function actorCount(coreActor: Int32Array): number {
  let n = 1;
  for (let c = 0; c < coreActor.length; c++) n = Math.max(n, coreActor[c]! + 1);
  return n;
}

/**
 * Where a gate stream goes from the cores `sends` accepts: the fan (null without
 * routes, e.g. the network output) and, per destination actor, the sending cores
 * upstream of it (ascending), whose frame.end tokens its batch carries.
 */
export function gateFan(
  r: StreamRoutes | undefined, own: Int32Array, sends: (core: number) => boolean, coreActor: Int32Array,
  tileX1: Int32Array, tileY1: Int32Array, nActors: number,
): { fan: GateFan | null; dests: Map<number, Int32Array> } {
  const byActor = new Map<number, Set<number>>();
  let fan: GateFan | null = null;
  if (r) {
    const hopsEw = new Int32Array(own.length);
    const hopsNs = new Int32Array(own.length);
    const actOff = new Int32Array(own.length + 1);
    const acts: number[] = [];
    const last = new Int32Array(nActors).fill(-1);
    for (let s = 0; s < own.length; s++) {
      actOff[s] = acts.length;
      const c = own[s]!;
      if (!sends(c)) continue;
      for (let k = r.offsets[s]!; k < r.offsets[s + 1]!; k++) {
        const d = r.core[k]!;
        hopsEw[s] += Math.abs(tileX1[d + 1]! - tileX1[c + 1]!);
        hopsNs[s] += Math.abs(tileY1[d + 1]! - tileY1[c + 1]!);
        const a = coreActor[d]!;
        if (last[a] !== s) {
          last[a] = s;
          acts.push(a);
          let cs = byActor.get(a);
          if (!cs) byActor.set(a, (cs = new Set()));
          cs.add(c);
        }
      }
    }
    actOff[own.length] = acts.length;
    fan = { hopsEw, hopsNs, actOff, act: Int32Array.from(acts) };
  }
  const dests = new Map<number, Int32Array>();
  for (const [a, cs] of [...byActor.entries()].sort((x, y) => x[0] - y[0])) dests.set(a, Int32Array.from([...cs].sort((x, y) => x - y)));
  return { fan, dests };
}

/**
 * A gate's transmissions `o` (of `stream` in `frame`, from `srcActor`) as one batch per destination actor (ascending; an actor
 * none of them reaches this frame gets an empty batch, so it knows the stream is
 * complete), entries in ascending neuron order, appended to `out`. `sendNs[e]` is when
 * entry e left, `tokenNs(cores)` the frame.end times of a batch's token cores; `count`
 * is scratch, one slot per actor.
 */
export function fanOut(
  frame: number, stream: number, srcActor: number, o: DeltaList, fan: GateFan | null, dests: Map<number, Int32Array>, own: Int32Array,
  sendNs: Float64Array, tokenNs: (cores: Int32Array) => Float64Array, count: Int32Array, out: Outbound[],
): void {
  count.fill(0);
  if (fan) {
    for (let e = 0; e < o.n; e++) {
      const s = o.idx[e]!;
      for (let j = fan.actOff[s]!; j < fan.actOff[s + 1]!; j++) count[fan.act[j]!]++;
    }
  }
  const batches = new Array<DeltaBatch | null>(count.length).fill(null);
  // Every batch's four arrays are views of one stretch of a slab (the Float64 ones first
  // for alignment): allocating each small typed array on its own took half this
  // function's time, and a backing store per call still a quarter.
  let total = 0;
  for (const act of dests.keys()) total += count[act]!;
  const { buf, offset } = slabBytes(20 * total);
  let at8 = offset / 8;
  let at4 = offset + 8 * total;
  for (const [act, tokenCores] of dests) {
    const m = count[act]!;
    const batch: DeltaBatch = {
      type: 'delta.batch', frame, stream, srcActor,
      sendNs: new Float64Array(buf, 8 * at8, m), idx: new Int32Array(buf, at4, m), val: new Float32Array(buf, at4 + 4 * total, m),
      srcCore: new Int32Array(buf, at4 + 8 * total, m), tokenCore: tokenCores, tokenNs: tokenNs(tokenCores),
    };
    at8 += m;
    at4 += 4 * m;
    batches[act] = batch;
    out.push({ to: act, batch });
  }
  if (!fan) return;
  count.fill(0);
  for (let e = 0; e < o.n; e++) {
    const s = o.idx[e]!;
    for (let j = fan.actOff[s]!; j < fan.actOff[s + 1]!; j++) {
      const a = fan.act[j]!;
      const b = batches[a]!;
      const at = count[a]!++;
      b.idx[at] = s;
      b.val[at] = o.val[e]!;
      b.sendNs[at] = sendNs[e]!;
      b.srcCore[at] = own[s]!;
    }
  }
}
