/**
 * The worker shell of a core-group actor (DESIGN §6): one long-lived piscina task per
 * actor. It decodes batches from its MessagePorts, hands them to the pure CoreGroup
 * logic, and encodes what it emits: batches to peers (direct MessageChannels, buffers
 * transferred), reports and errors to the coordinator. Errors cross as data.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ChipSetup } from '../../chip/setup.js';
import type { EvnetOptions } from '../../model/evnet/engine.js';
import { EvsimError } from '../../errors.js';
import { decode, decodeCoordinator, encode } from '../codec.js';
import type { ActorMessage, DeltaBatch } from '../messages.js';
import { CoreGroup } from './core-group.js';

export interface ActorTask {
  actor: number;
  setup: ChipSetup;
  coreActor: Int32Array;
  opts: EvnetOptions;
  /** Port to the coordinator. */
  coordinator: MessagePort;
  /** peers[j]: port to actor j (undefined for itself). */
  peers: (MessagePort | undefined)[];
  /** Test hook: throw while processing this frame (fault injection). */
  failAtFrame: number | null;
  /** Record received messages for the `events` trace level. */
  events: boolean;
}

function post(port: MessagePort, msg: ActorMessage): void {
  const own = encode(msg);
  port.postMessage(own, [own.buffer]);
}

export default function runActor(task: ActorTask): Promise<string> {
  const { actor, coordinator, peers } = task;
  const group = new CoreGroup(task.setup, actor, task.coreActor, task.opts, task.events);
  const describe = (): string => {
    const cs = group.cores;
    const layers = new Set<string>();
    for (const c of cs) {
      const p = task.setup.mapping.partitions[task.setup.mapping.cores[c]!.partition]!;
      const seg = task.setup.mapping.segments[p.segment]!;
      layers.add(seg.synaptic.map((s) => s.node.name).join('+') || seg.acc.name);
    }
    const ids = Array.from(cs.slice(0, 8)).join(', ') + (cs.length > 8 ? ', …' : '');
    return `actor ${actor} (cores ${ids || 'none'}; partitions of ${[...layers].join(', ')})`;
  };
  return new Promise((resolve) => {
    const fail = (e: unknown, frame = group.frameNow): void => {
      // Bad input found mid-run (a NaN reaching a gate) reads as it would in process.
      if (e instanceof EvsimError) post(coordinator, { type: 'ctl.error', actor, message: e.message, code: e.code });
      else post(coordinator, { type: 'ctl.error', actor, message: `${describe()} failed at frame ${frame}: ${(e as Error)?.message ?? String(e)}`, code: null });
    };
    // Step until nothing can run: input-core cues first, then batches (my own delivered
    // at once, peers' sent as soon as their segment ran), then a finished frame's report.
    const pump = (): void => {
      for (;;) {
        const r = group.advance();
        for (let i = 0; i < r.inputs.length; i++) post(coordinator, r.inputs[i]!);
        for (let i = 0; i < r.out.length; i++) {
          const { to, batch } = r.out[i]!;
          if (to === actor) group.receive(batch);
          else post(peers[to]!, batch);
        }
        for (let i = 0; i < r.reports.length; i++) post(coordinator, r.reports[i]!);
        if (!r.ran) return;
      }
    };
    const onBatch = (data: Uint8Array): void => {
      try {
        const msg = decode(data) as DeltaBatch;
        group.receive(msg);
        pump();
      } catch (e) {
        fail(e);
      }
    };
    for (const p of peers) p?.on('message', onBatch);
    coordinator.on('message', (data: Uint8Array) => {
      try {
        const msg = decodeCoordinator(data);
        switch (msg.type) {
          case 'delta.batch':
            group.receive(msg);
            pump();
            return;
          case 'ctl.close':
            for (const p of peers) p?.close();
            coordinator.close();
            resolve(`actor ${actor} done`);
            return;
          case 'frame.start':
            if (task.failAtFrame !== null && msg.frame === task.failAtFrame) {
              fail(new Error('injected fault'), msg.frame);
              return;
            }
            group.startFrame(msg.frame, msg.flush);
            pump();
            return;
          default:
            throw new Error(`unknown message ${(msg as { type: string }).type}`);
        }
      } catch (e) {
        fail(e);
      }
    });
  });
}
