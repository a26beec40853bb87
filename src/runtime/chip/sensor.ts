/**
 * The input sensor on tile (0, 0) (DESIGN §5): runs the input gate on each frame and
 * sends its transmissions to the first-layer cores. It costs nothing but its messages;
 * they leave at the frame's entry time, and its frame.end token follows them.
 */
import { SENSOR, type ChipSetup } from '../../chip/setup.js';
import { coreEnergyPj } from '../../chip/timing.js';
import { createGate, gateOverride, type EvnetOptions } from '../../model/evnet/engine.js';
import type { Gate } from '../../model/evnet/gate.js';
import { DeltaList, IndexList } from '../../model/evnet/sparse.js';
import { COORDINATOR } from '../messages.js';
import { objects } from '../objects.js';
import { actorCount, fanOut, gateFan, tilesPlusOne, type GateFan, type Outbound } from './fan.js';

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
  /** Owner of every input neuron: the sensor (SENSOR). */
  private readonly own: Int32Array;
  /** Where the input stream goes, as for a core's gate stream (every input actor gets a batch each frame). */
  private readonly fan: GateFan;
  private readonly dests: Map<number, Int32Array>;
  /** Per actor, scratch for fanOut; each entry's send time (all the frame's entry time). */
  private readonly count: Int32Array;
  private sendNs = new Float64Array(0);
  private entryNs = 0;

  constructor(private readonly setup: ChipSetup, coreActor: Int32Array, opts: EvnetOptions) {
    const { plan, routes, mapping } = setup;
    const gs = setup.inputGate;
    this.gate = createGate(plan, gs, opts, gateOverride(plan, gs, opts.layers)?.ov);
    const size = plan.tensors[gs.in]!.size;
    this.x = new Float32Array(size);
    this.changed = new IndexList(size);
    this.sent = new DeltaList(size);
    this.own = setup.owner.get(gs.out)!;
    const { tileX1, tileY1 } = tilesPlusOne(mapping);
    this.count = new Int32Array(actorCount(coreActor));
    const { fan, dests } = gateFan(routes.get(gs.out)!, this.own, (c) => c === SENSOR, coreActor, tileX1, tileY1, this.count.length);
    this.fan = fan!;
    this.dests = dests;
  }

  /** A sensor batch's token: the sensor's frame.end, which is the frame's entry time. */
  private readonly tokenNs = (): Float64Array => Float64Array.of(this.entryNs);

  run(frame: number, data: Float32Array, flush: boolean, entryNs: number): SensorFrame {
    const { chip, routes, inputGate } = this.setup;
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
    const fan = this.fan;
    const s = this.sent;
    let messages = 0;
    let hopsEw = 0;
    let hopsNs = 0;
    for (let e = 0; e < s.n; e++) {
      const n = s.idx[e]!;
      messages += r.offsets[n + 1]! - r.offsets[n]!;
      hopsEw += fan.hopsEw[n]!;
      hopsNs += fan.hopsNs[n]!;
    }
    if (this.sendNs.length < s.n) this.sendNs = new Float64Array(Math.max(s.n, 2 * this.sendNs.length));
    this.sendNs.fill(entryNs, 0, s.n);
    this.entryNs = entryNs;
    const out: Outbound[] = objects([]);
    fanOut(frame, inputGate.out, COORDINATOR, s, fan, this.dests, this.own, this.sendNs, this.tokenNs, this.count, out);
    // DESIGN §5: the sensor costs nothing but its messages (priced as a core's are).
    const energyPj = coreEnergyPj(chip, { synops: 0, dendriteAdds: 0, neuronUpdates: 0, spikes: 0, messagesOut: messages, messagesIn: 0, hopsEw, hopsNs, busyNs: 0 });
    return { out, transmissions: this.gate.transmissions, gateUpdates: this.gate.updates, messages, hopsEw, hopsNs, energyPj };
  }
}
