/**
 * Typed-array helpers of a core group (core-group.ts): routes restricted to its cores,
 * items grouped by core, accumulation, ownership masks, shadow rows. Set-up helpers run
 * once per segment; the accumulate and grouping loops run every frame.
 */
import type { StreamRoutes } from '../../chip/routing.js';
import { SENSOR } from '../../chip/setup.js';
import { accumulatorOffsets, type EvPlan } from '../../model/evnet/plan.js';
import type { DeltaList, IndexList } from '../../model/evnet/sparse.js';
import { COORDINATOR, type CoreStats } from '../messages.js';
import { messageAddsOf, type Needers } from './dendrites.js';
import type { Scratch } from './scratch.js';

/**
 * A stream's routes kept only where they reach the marked cores (same order). With
 * several actors, each walks just the routes into its own cores, not every actor's.
 */
export function routesInto(r: StreamRoutes, mark: Uint8Array): StreamRoutes {
  const n = r.offsets.length - 1;
  const offsets = new Int32Array(n + 1);
  let m = 0;
  for (let s = 0; s < n; s++) {
    for (let k = r.offsets[s]!; k < r.offsets[s + 1]!; k++) if (mark[r.core[k]!]) m++;
    offsets[s + 1] = m;
  }
  const core = new Int32Array(m);
  const synops = new Int32Array(m);
  const halo = new Int32Array(m);
  let j = 0;
  for (let k = 0; k < r.core.length; k++) {
    if (!mark[r.core[k]!]) continue;
    core[j] = r.core[k]!;
    halo[j] = r.halo[k]!;
    synops[j++] = r.synops[k]!;
  }
  return { stream: r.stream, offsets, core, synops, halo };
}

/** Each route entry's adds as a message (looked up once here, not per message per frame); null when none. */
export function entryAdds(r: StreamRoutes, needers: Needers | null, cores: Int32Array): Int32Array | null {
  if (!needers) return null;
  const local = new Map<number, number>();
  cores.forEach((c, i) => local.set(c, i));
  const out = new Int32Array(r.core.length);
  for (let s = 0; s + 1 < r.offsets.length; s++) {
    for (let k = r.offsets[s]!; k < r.offsets[s + 1]!; k++) out[k] = messageAddsOf(needers, s, local.get(r.core[k]!)!);
  }
  return out;
}


/** The cores of some partitions, ascending. */
export function coresOf(parts: readonly { core: number }[]): Int32Array {
  const out = new Int32Array(parts.length);
  for (let i = 0; i < parts.length; i++) out[i] = parts[i]!.core;
  return out.sort();
}

/** [0, 1, …, n − 1] into `a` (TypedArray.from with a map function is an order of magnitude slower). */
export function iota(a: Int32Array): Int32Array {
  for (let i = 0; i < a.length; i++) a[i] = i;
  return a;
}

/** Whether a[i] < a[i + 1] throughout. */
export function ascending(a: Int32Array): boolean {
  for (let i = 1; i < a.length; i++) if (a[i - 1]! >= a[i]!) return false;
  return true;
}

/** out[k] = src[ix[k]] for every k of out. */
export function gather<T extends Int32Array | Float32Array | Float64Array>(out: T, ix: ArrayLike<number>, src: ArrayLike<number>): T {
  for (let k = 0; k < out.length; k++) out[k] = src[ix[k]!]!;
  return out;
}

/** Scratch keys (scratch.ts) of the send-time buffers, and of groupByCore's three buffers per use. */
export const SEND_KEYS = ['send.0', 'send.1', 'send.2', 'send.3'];
const GROUP_KEYS = { upd: ['upd.start', 'upd.fill', 'upd.list'], sp: ['sp.start', 'sp.fill', 'sp.list'] } as const;

/**
 * Stable counting sort of `n` items by owning core (actor-local slot): returns the
 * items regrouped and each core's [start, end) range. `byItem` reads the owner of
 * item i directly (spikes) instead of through the element index (updates).
 */
export function groupByCore(
  items: Int32Array, n: number, ownerOf: Int32Array, slot: Int32Array, nMine: number, byItem: boolean, scratch: Scratch, key: 'upd' | 'sp',
  shadows: HaloRuntime | null = null,
): { list: Int32Array; start: Int32Array } {
  const [kStart, kFill, kList] = GROUP_KEYS[key];
  const start = scratch.ints(kStart, nMine + 1, true);
  // With shadows (updates of a segment with shadow rows), an item also goes to each of my
  // cores holding it as a shadow row, and an item whose owner is not mine only there.
  const off = shadows?.shadowOff;
  const to = shadows?.shadowSlots;
  let total = 0;
  for (let k = 0; k < n; k++) {
    const s = slot[ownerOf[byItem ? k : items[k]!]!]!;
    if (s >= 0) { start[s + 1]++; total++; }
    if (off) for (let q = off[items[k]!]!; q < off[items[k]! + 1]!; q++) { start[to![q]! + 1]++; total++; }
  }
  for (let i = 0; i < nMine; i++) start[i + 1] += start[i]!;
  const fill = scratch.ints(kFill, nMine);
  fill.set(start.subarray(0, nMine));
  const list = scratch.ints(kList, total);
  for (let k = 0; k < n; k++) {
    const s = slot[ownerOf[byItem ? k : items[k]!]!]!;
    if (s >= 0) list[fill[s]!++] = items[k]!;
    if (off) for (let q = off[items[k]!]!; q < off[items[k]! + 1]!; q++) list[fill[to![q]!]!++] = items[k]!;
  }
  return { list, start };
}

/**
 * A flush frame's accumulation: every accumulator element held here (`list`, ascending)
 * restarts from its offset plus its deltas; all count as updated.
 */
export function accumulateFlush(a: Float32Array, ach: IndexList, delta: DeltaList, here: Uint8Array, list: Int32Array, offset: Float32Array): number {
  for (let k = 0; k < list.length; k++) a[list[k]!] = offset[list[k]!]!;
  for (let e = 0; e < delta.n; e++) {
    const i = delta.idx[e]!;
    if (here[i]) a[i] += delta.val[e]!;
  }
  for (let k = 0; k < list.length; k++) ach.push(list[k]!);
  return list.length;
}

/** A frame's deltas into the accumulators held here; lists the updated ones in `updIdx` (returns how many) and the changed ones in `ach`. */
export function accumulateDeltas(a: Float32Array, ach: IndexList, delta: DeltaList, here: Uint8Array, updIdx: Int32Array): number {
  let nUpd = 0;
  for (let e = 0; e < delta.n; e++) {
    const i = delta.idx[e]!;
    if (!here[i]) continue;
    updIdx[nUpd++] = i;
    const old = a[i]!;
    a[i] = old + delta.val[e]!;
    if (a[i] !== old) ach.push(i);
  }
  return nUpd;
}

/**
 * Each accumulator's starting values (biases carried through, read-only), per plan:
 * core groups of one setup share them (sweep points, several in-process groups) instead
 * of each running the dense network on constants again.
 */
export const offsetsByPlan = new WeakMap<EvPlan, Map<number, Float32Array>>();
export function offsetsOf(plan: EvPlan): Map<number, Float32Array> {
  let o = offsetsByPlan.get(plan);
  if (!o) offsetsByPlan.set(plan, (o = accumulatorOffsets(plan)));
  return o;
}

/** The elements of a tensor whose owning core is one of mine, ascending. */
export function ownedBy(own: Int32Array, isMine: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < own.length; i++) if (own[i]! >= 0 && isMine[own[i]!]) n++;
  const out = new Int32Array(n);
  let j = 0;
  for (let i = 0; i < own.length; i++) if (own[i]! >= 0 && isMine[own[i]!]) out[j++] = i;
  return out;
}

/** True when `a` never decreases. */
export function nonDecreasing(a: Int32Array): boolean {
  for (let i = 1; i < a.length; i++) if (a[i]! < a[i - 1]!) return false;
  return true;
}

/** A mask of `n` elements with 1 at `items`. */
export function maskOf(items: Int32Array, n: number): Uint8Array {
  const m = new Uint8Array(n);
  for (let k = 0; k < items.length; k++) m[items[k]!] = 1;
  return m;
}

/** The elements set in a mask, ascending. */
export function indicesOf(mask: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  const out = new Int32Array(n);
  for (let i = 0, j = 0; i < mask.length; i++) if (mask[i]) out[j++] = i;
  return out;
}

/** The actors (the coordinator for the sensor) whose batches of a stream reach my cores. */
export function sourceActors(r: StreamRoutes, own: Int32Array, isMine: Uint8Array, coreActor: Int32Array): Set<number> {
  const src = new Set<number>();
  for (let s = 0; s < own.length; s++) {
    for (let k = r.offsets[s]!; k < r.offsets[s + 1]!; k++) {
      if (isMine[r.core[k]!]) {
        src.add(own[s]! === SENSOR ? COORDINATOR : coreActor[own[s]!]!);
        break;
      }
    }
  }
  return src;
}

export function emptyStats(cores: Int32Array): CoreStats {
  const z = (): Float64Array => new Float64Array(cores.length);
  return {
    cores, synops: z(), haloSynops: z(), haloUpdates: z(), dendriteAdds: z(), neuronUpdates: z(), spikes: z(), messagesIn: z(), messagesOut: z(),
    hopsEw: z(), hopsNs: z(), busyNs: z(), stallNs: z(), queueMax: z(), endNs: z(), energyPj: z(),
  };
}

/**
 * A segment's shadow rows on my cores: accumulated here as well as by their owners (with
 * the same deltas in the same order, so bit-identical), so my max-pool windows read them.
 */
export interface HaloRuntime {
  /** Per accumulator element: 1 when it is accumulated here (owned by my core, or a shadow row of one). */
  here: Uint8Array;
  /** Per element, the slots of my cores holding it as a shadow row (CSR). */
  shadowOff: Int32Array;
  shadowSlots: Int32Array;
}

export function haloRuntime(shadow: { offsets: Int32Array; cores: Int32Array } | undefined, accOwn: Int32Array, isMine: Uint8Array, slot: Int32Array): HaloRuntime | null {
  if (!shadow) return null;
  const n = accOwn.length;
  const here = new Uint8Array(n);
  const shadowOff = new Int32Array(n + 1);
  const slots: number[] = [];
  for (let i = 0; i < n; i++) {
    if (accOwn[i]! >= 0 && isMine[accOwn[i]!]) here[i] = 1;
    for (let k = shadow.offsets[i]!; k < shadow.offsets[i + 1]!; k++) {
      const c = shadow.cores[k]!;
      if (isMine[c]) {
        here[i] = 1;
        slots.push(slot[c]!);
      }
    }
    shadowOff[i + 1] = slots.length;
  }
  if (slots.length === 0) return null;
  return { here, shadowOff, shadowSlots: Int32Array.from(slots) };
}
