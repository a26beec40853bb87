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
  /** Actors that await a sensor batch each frame (even an empty one). */
  private readonly actors: number[];

  constructor(private readonly setup: ChipSetup, private readonly coreActor: Int32Array, opts: EvnetOptions) {
    const { plan } = setup;
    const gs = setup.inputGate;
    this.gate = createGate(plan, gs, opts, gateOverride(plan, gs, opts.layers)?.ov);
    const size = plan.tensors[gs.in]!.size;
    this.x = new Float32Array(size);
    this.changed = new IndexList(size);
    this.sent = new DeltaList(size);
    this.actors = [...new Set(Array.from(setup.inputCores, (c) => coreActor[c]!))].sort((a, b) => a - b);
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
    const per = new Map<number, number[]>(this.actors.map((a) => [a, []]));
    let messages = 0;
    let hopsEw = 0;
    let hopsNs = 0;
    const s = this.sent;
    for (let e = 0; e < s.n; e++) {
      const n = s.idx[e]!;
      let last = -2;
      for (let k = r.offsets[n]!; k < r.offsets[n + 1]!; k++) {
        const d = r.core[k]!;
        messages++;
        hopsEw += mapping.cores[d]!.tileX;
        hopsNs += mapping.cores[d]!.tileY;
        const a = this.coreActor[d]!;
        if (a !== last && per.get(a)!.at(-1) !== e) per.get(a)!.push(e);
        last = a;
      }
    }
    const out: Outbound[] = this.actors.map((a) => {
      const es = per.get(a)!;
      const idx = new Int32Array(es.length);
      const val = new Float32Array(es.length);
      for (let j = 0; j < es.length; j++) {
        idx[j] = s.idx[es[j]!]!;
        val[j] = s.val[es[j]!]!;
      }
      const batch: DeltaBatch = {
        type: 'delta.batch', frame, stream: inputGate.out, srcActor: COORDINATOR, idx, val,
        sendNs: new Float64Array(es.length).fill(entryNs), srcCore: new Int32Array(es.length).fill(SENSOR),
        tokenCore: Int32Array.of(SENSOR), tokenNs: Float64Array.of(entryNs),
      };
      return { to: a, batch };
    });
    const c = chip.costs;
    return {
      out, transmissions: this.gate.transmissions, gateUpdates: this.gate.updates, messages, hopsEw, hopsNs,
      energyPj: messages * c.message_out.energyPj + hopsEw * c.hop_ew.energyPj + hopsNs * c.hop_ns.energyPj,
    };
  }
}
