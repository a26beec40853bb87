/**
 * ActorPool over worker threads: exactly N long-lived actor tasks on a piscina pool
 * (minThreads = maxThreads = N, atomics disabled so a waiting task never blocks its
 * MessagePorts), wired all-to-all with direct MessageChannels. Large static arrays of
 * the setup (weights, routes, ownership) go to the workers on SharedArrayBuffers, so
 * every worker reads the same memory.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ChipSetup } from '../../chip/setup.js';
import { EvsimError, type ErrorCode } from '../../errors.js';
import { compiledScript } from '../../files.js';
import type { EvnetOptions } from '../../model/evnet/engine.js';
import { decode, encode } from '../codec.js';
import type { CoordinatorMessage, DeltaBatch, FrameReport, FrameStart } from '../messages.js';
import type { ActorTask } from './actor-worker.js';
import type { ActorPool } from './run-chip.js';
import { shareLargeArrays } from '../shared.js';

export class WorkerPool implements ActorPool {
  private readonly coord: MessagePort[] = [];
  private readonly waiting = new Map<number, FrameReport[]>();
  /** Per actor: the last frame it reported, and frame starts held back until it is near. */
  private readonly reported: number[];
  private readonly held: FrameStart[][];
  /** Per frame: input-core cues received (count, latest frame.end). */
  private readonly inputs = new Map<number, { n: number; endNs: number }>();
  private wake: (() => void) | null = null;
  private error: { message: string; code: ErrorCode } | null = null;
  private readonly tasks: Promise<unknown>[] = [];
  private closed = false;

  private constructor(private readonly piscina: Piscina, readonly size: number, private readonly inputActors: number) {
    this.reported = new Array<number>(size).fill(-1);
    this.held = Array.from({ length: size }, () => []);
  }

  static async start(setup: ChipSetup, coreActor: Int32Array, n: number, opts: EvnetOptions, failAt: { actor: number; frame: number } | null, events = false): Promise<WorkerPool> {
    const filename = compiledScript(import.meta.url, 'runtime/chip/actor-worker.js');
    // Shared first: nothing can fail between starting the threads and handing them to the pool.
    shareLargeArrays(setup);
    const piscina = new Piscina({ filename, minThreads: n, maxThreads: n, atomics: 'disabled', idleTimeout: 60_000, concurrentTasksPerWorker: 1 });
    const pool = new WorkerPool(piscina, n, new Set(Array.from(setup.inputCores, (c) => coreActor[c]!)).size);
    // peers[i][j]: actor i's port to actor j.
    const peers: (MessagePort | undefined)[][] = Array.from({ length: n }, () => new Array(n).fill(undefined));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const ch = new MessageChannel();
        peers[i]![j] = ch.port1;
        peers[j]![i] = ch.port2;
      }
    }
    for (let a = 0; a < n; a++) {
      const ch = new MessageChannel();
      pool.coord.push(ch.port1);
      ch.port1.on('message', (data: Uint8Array) => pool.onMessage(data));
      const task: ActorTask = {
        actor: a, setup, coreActor, opts, coordinator: ch.port2, peers: peers[a]!,
        failAtFrame: failAt && failAt.actor === a ? failAt.frame : null, events,
      };
      const transfer = [ch.port2, ...peers[a]!.filter((p): p is MessagePort => p !== undefined)];
      const t = piscina.run(task, { transferList: transfer as never }).catch((e: Error) => {
        if (!pool.closed) pool.fail(`actor ${a} crashed: ${e.message}`);
      });
      pool.tasks.push(t);
    }
    return pool;
  }

  private fail(message: string, code: ErrorCode = 'RUN_FAILED'): void {
    this.error ??= { message, code };
    this.wake?.();
  }

  private onMessage(data: Uint8Array): void {
    const msg = decode(data);
    if (msg.type === 'ctl.error') {
      this.fail(msg.message, msg.code ?? 'RUN_FAILED');
      return;
    }
    if (msg.type === 'frame.inputs') {
      const got = this.inputs.get(msg.frame) ?? { n: 0, endNs: -Infinity };
      this.inputs.set(msg.frame, { n: got.n + 1, endNs: Math.max(got.endNs, msg.endNs) });
      this.wake?.();
      return;
    }
    if (msg.type === 'frame.report') {
      this.reported[msg.actor] = msg.frame;
      this.release(msg.actor);
      const l = this.waiting.get(msg.frame) ?? [];
      l.push(msg);
      this.waiting.set(msg.frame, l);
      this.wake?.();
    }
  }

  /** Frame starts go to each actor as soon as it has reported the frame two before (≤ 2 in flight per actor, §6). */
  startFrame(frame: number, flush: boolean): void {
    for (let a = 0; a < this.size; a++) {
      this.held[a]!.push({ type: 'frame.start', frame, flush });
      this.release(a);
    }
  }

  private release(a: number): void {
    const q = this.held[a]!;
    while (q.length > 0 && q[0]!.frame <= this.reported[a]! + 2) this.post(a, q.shift()!);
  }

  deliver(to: number, batch: DeltaBatch): void {
    this.post(to, batch);
  }

  private post(to: number, msg: CoordinatorMessage): void {
    const own = encode(msg);
    this.coord[to]!.postMessage(own, [own.buffer]);
  }

  async inputsDone(frame: number): Promise<number> {
    for (;;) {
      if (this.error) throw new EvsimError(this.error.code, this.error.message);
      const got = this.inputs.get(frame);
      if (got && got.n === this.inputActors) {
        this.inputs.delete(frame);
        return got.endNs;
      }
      await this.message();
    }
  }

  async reports(frame: number): Promise<FrameReport[]> {
    for (;;) {
      if (this.error) throw new EvsimError(this.error.code, this.error.message);
      const got = this.waiting.get(frame) ?? [];
      if (got.length === this.size) {
        this.waiting.delete(frame);
        return got.sort((a, b) => a.actor - b.actor);
      }
      await this.message();
    }
  }

  /** Resolves on the next message from an actor (or a failure). */
  private async message(): Promise<void> {
    await new Promise<void>((r) => (this.wake = r));
    this.wake = null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (let a = 0; a < this.size; a++) {
      this.post(a, { type: 'ctl.close' });
      this.coord[a]!.close();
    }
    if (this.error) {
      await this.piscina.destroy();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.tasks), new Promise((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    await this.piscina.destroy();
  }
}
