import type { FrameEvents } from '../messages.js';

/** A growable log of message events as parallel typed arrays. */
export class EventLog {
  private n = 0;
  private t = new Float64Array(1024);
  private src = new Int32Array(1024);
  private dst = new Int32Array(1024);
  private neuron = new Int32Array(1024);
  private value = new Float32Array(1024);
  private hops = new Int32Array(1024);
  push(t: number, src: number, dst: number, neuron: number, value: number, hops: number): void {
    if (this.n === this.t.length) this.grow();
    const i = this.n++;
    this.t[i] = t;
    this.src[i] = src;
    this.dst[i] = dst;
    this.neuron[i] = neuron;
    this.value[i] = value;
    this.hops[i] = hops;
  }
  private grow(): void {
    const cap = this.t.length * 2;
    const g = <T extends Float64Array | Int32Array | Float32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.t = g(this.t, (k) => new Float64Array(k));
    this.src = g(this.src, (k) => new Int32Array(k));
    this.dst = g(this.dst, (k) => new Int32Array(k));
    this.neuron = g(this.neuron, (k) => new Int32Array(k));
    this.value = g(this.value, (k) => new Float32Array(k));
    this.hops = g(this.hops, (k) => new Int32Array(k));
  }
  /** The events so far (copied, exact length), and an empty log. */
  take(): FrameEvents {
    const n = this.n;
    this.n = 0;
    return {
      tNs: this.t.slice(0, n), src: this.src.slice(0, n), dst: this.dst.slice(0, n),
      neuron: this.neuron.slice(0, n), value: this.value.slice(0, n), hops: this.hops.slice(0, n),
    };
  }
}
