/**
 * A typed array that grows as values are pushed (doubling), then hands back exactly the
 * values pushed. Routing tables and recorded runs are built with it.
 */
type NumberArray = Int32Array | Float64Array;

export class Growable<T extends NumberArray> {
  private a: T;
  n = 0;

  constructor(private readonly make: (n: number) => T, capacity = 1024) {
    this.a = make(capacity);
  }

  push(v: number): void {
    if (this.n === this.a.length) this.grow(this.n + 1);
    this.a[this.n++] = v;
  }

  pushAll(v: ArrayLike<number>): void {
    if (this.n + v.length > this.a.length) this.grow(this.n + v.length);
    for (let i = 0; i < v.length; i++) this.a[this.n++] = v[i]!;
  }

  /** The values pushed, exactly sized (a copy: a view would carry the whole buffer across threads). */
  take(): T {
    return this.a.slice(0, this.n) as T;
  }

  private grow(need: number): void {
    const b = this.make(Math.max(need, 2 * this.a.length));
    b.set(this.a.subarray(0, this.n));
    this.a = b;
  }
}
