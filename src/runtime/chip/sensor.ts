/**
 * The input sensor on tile (0, 0) (DESIGN §5): runs the input gate on each frame and
 * sends its transmissions to the first-layer cores. It costs nothing but its messages;
 * they leave at the frame's entry time, and its frame.end token follows them.
 */
import { SENSOR, type ChipSetup } from '../../chip/setup.js';
import { createGate, gateOverride, type EvnetOptions } from '../../model/evnet/engine.js';
import type { Gate } from '../../model/evnet/gate.js';
import { DeltaList, IndexList } from '../../model/evnet/sparse.js';
import { COORDINATOR, type DeltaBatch } from '../messages.js';
import { objects } from '../objects.js';
import type { Outbound } from './core-group.js';

export interface SensorFrame {
  out: Outbound[];
  transmissions: number;
  gateUpdates: number;
  messages: number;
  hopsEw: number;
  hopsNs: number;
  energyPj: number;
}

export class Sensor {
  private readonly gate: Gate;
  private readonly x: Float32Array;
  private readonly changed: IndexList;
  private readonly sent: DeltaList;
  /** Actors that await a sensor batch each frame (even an empty one), ascending. */
  private readonly actors: number[];
  /** Actor id → its place in `actors`; per place, entries counted and the last entry sent. */
  private readonly actorIndex: Int32Array;
  private readonly count: Int32Array;
  private readonly lastEntry: Int32Array;

  constructor(private readonly setup: ChipSetup, private readonly coreActor: Int32Array, opts: EvnetOptions) {
    const { plan } = setup;
    const gs = setup.inputGate;
    this.gate = createGate(plan, gs, opts, gateOverride(plan, gs, opts.layers)?.ov);
    const size = plan.tensors[gs.in]!.size;
    this.x = new Float32Array(size);
    this.changed = new IndexList(size);
    this.sent = new DeltaList(size);
    this.actors = [...new Set(Array.from(setup.inputCores, (c) => coreActor[c]!))].sort((a, b) => a - b);
    this.actorIndex = new Int32Array(coreActor.reduce((m, a) => Math.max(m, a), 0) + 1).fill(-1);
    this.actors.forEach((a, i) => (this.actorIndex[a] = i));
    this.count = new Int32Array(this.actors.length);
    this.lastEntry = new Int32Array(this.actors.length);
  }

  run(frame: number, data: Float32Array, flush: boolean, entryNs: number): SensorFrame {
    const { chip, mapping, routes, inputGate } = this.setup;
    const x = this.x;
    if (flush) {
      x.set(data);
      this.gate.flush(x, this.sent);
    } else {
      const ch = this.changed;
      ch.n = 0;
      for (let i = 0; i < x.length; i++) {
        if (data[i] !== x[i]) {
          x[i] = data[i]!;
          ch.push(i);
        }
      }
      this.gate.run(x, ch, this.sent);
    }
    const r = routes.get(inputGate.out)!;
    const nA = this.actors.length;
    const count = this.count;
    const lastEntry = this.lastEntry;
    count.fill(0);
    lastEntry.fill(-1);
    let messages = 0;
    let hopsEw = 0;
    let hopsNs = 0;
    const s = this.sent;
    // Each entry goes once to every actor owning one of its destination cores.
    for (let e = 0; e < s.n; e++) {
      const n = s.idx[e]!;
      for (let k = r.offsets[n]!; k < r.offsets[n + 1]!; k++) {
        const d = r.core[k]!;
        messages++;
        hopsEw += mapping.cores[d]!.tileX;
        hopsNs += mapping.cores[d]!.tileY;
        const ai = this.actorIndex[this.coreActor[d]!]!;
        if (lastEntry[ai] !== e) {
          lastEntry[ai] = e;
          count[ai]++;
        }
      }
    }
    const out: Outbound[] = objects([]);
    for (let ai = 0; ai < nA; ai++) {
      const m = count[ai]!;
      const batch: DeltaBatch = {
        type: 'delta.batch', frame, stream: inputGate.out, srcActor: COORDINATOR, idx: new Int32Array(m), val: new Float32Array(m),
        sendNs: new Float64Array(m).fill(entryNs), srcCore: new Int32Array(m).fill(SENSOR),
        tokenCore: Int32Array.of(SENSOR), tokenNs: Float64Array.of(entryNs),
      };
      out.push({ to: this.actors[ai]!, batch });
    }
    if (s.n > 0) {
      count.fill(0);
      lastEntry.fill(-1);
      for (let e = 0; e < s.n; e++) {
        const n = s.idx[e]!;
        for (let k = r.offsets[n]!; k < r.offsets[n + 1]!; k++) {
          const ai = this.actorIndex[this.coreActor[r.core[k]!]!]!;
          if (lastEntry[ai] === e) continue;
          lastEntry[ai] = e;
          const b = out[ai]!.batch;
          const at = count[ai]++;
          b.idx[at] = n;
          b.val[at] = s.val[e]!;
        }
      }
    }
    const c = chip.costs;
    return {
      out, transmissions: this.gate.transmissions, gateUpdates: this.gate.updates, messages, hopsEw, hopsNs,
      energyPj: messages * c.message_out.energyPj + hopsEw * c.hop_ew.energyPj + hopsNs * c.hop_ns.energyPj,
    };
  }
}
