/** A relay segment's stream source (segments.ts), and the owned-entries filter it uses. */
import type { Gate } from '../../model/evnet/gate.js';
import type { DeltaList, IndexList } from '../../model/evnet/sparse.js';

/** Compacts idx[0, n) (and val alongside, when given) to the entries whose owner is one of mine; returns the new length. */
export function keepOwned(idx: Int32Array, val: Float32Array | null, n: number, own: Int32Array, isMine: Uint8Array): number {
  let m = 0;
  for (let k = 0; k < n; k++) {
    const i = idx[k]!;
    if (own[i]! < 0 || isMine[own[i]!] !== 1) continue;
    idx[m] = i;
    if (val) val[m] = val[k]!;
    m++;
  }
  return m;
}

/** What fills a segment's outgoing stream each frame: a gate, or a relay's neurons. */
export type StreamSource = Pick<Gate, 'updates' | 'transmissions' | 'flushOwned' | 'run'>;

/**
 * A relay segment's neurons (segments.ts): the synaptic output list is the stream; each
 * actor keeps the entries its own cores hold and sends them as they are — the frame's
 * summed deltas, bit for bit the functional run's. Not a gate: no updates, no
 * transmissions counted (DESIGN §4 counts what gates send); the messages still cost.
 */
export class Relay implements StreamSource {
  updates = 0;
  transmissions = 0;
  constructor(private readonly own: Int32Array, private readonly isMine: Uint8Array) {}
  flushOwned(_x: Float32Array, _owned: Int32Array, out: DeltaList): void {
    this.keepMine(out);
  }
  run(_x: Float32Array, _changed: IndexList, out: DeltaList): void {
    this.keepMine(out);
  }
  private keepMine(out: DeltaList): void {
    out.n = keepOwned(out.idx, out.val, out.n, this.own, this.isMine);
  }
}
