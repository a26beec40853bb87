/**
 * Sparse containers of the EvNet path. Every list is kept in ascending index order,
 * the order in which DESIGN §3 applies contributions, and every structure is reused
 * across frames so the work per frame is linear in the number of changes.
 */

/** Nonzero deltas of a tensor: (idx[i], val[i]) for i < n, idx ascending. */
export class DeltaList {
  readonly idx: Int32Array;
  readonly val: Float32Array;
  n = 0;
  constructor(readonly capacity: number) {
    this.idx = new Int32Array(capacity);
    this.val = new Float32Array(capacity);
  }
  push(i: number, v: number): void {
    this.idx[this.n] = i;
    this.val[this.n++] = v;
  }
  /** Becomes a copy of `src` (a node that passes its deltas on unchanged). */
  copyFrom(src: DeltaList): void {
    this.idx.set(src.idx.subarray(0, src.n));
    this.val.set(src.val.subarray(0, src.n));
    this.n = src.n;
  }
}

/** Positions of a value tensor that changed this frame, ascending. */
export class IndexList {
  readonly idx: Int32Array;
  n = 0;
  constructor(readonly capacity: number) {
    this.idx = new Int32Array(capacity);
  }
  push(i: number): void {
    this.idx[this.n++] = i;
  }
  /** Marks every position changed (a flush). */
  fillAll(): void {
    for (let i = 0; i < this.capacity; i++) this.idx[i] = i;
    this.n = this.capacity;
  }
}

/**
 * The float32 bits of a Float32Array as an Int32Array over the same memory, remade
 * only when the array changes. Hot loops use them to select without branches (a
 * data-dependent branch per element costs more than the arithmetic around it).
 */
export class BitsView {
  private src: Float32Array | null = null;
  private view: Int32Array = new Int32Array(0);
  of(f: Float32Array): Int32Array {
    if (f !== this.src) {
      this.src = f;
      this.view = new Int32Array(f.buffer, f.byteOffset, f.length);
    }
    return this.view;
  }
}

/** Order-preserving int32 key of float32 bits (not NaN); −0 and +0 share a key, as they compare equal. */
export function floatKey(bits: number): number {
  const k = bits ^ ((bits >> 31) & 0x7fffffff);
  return k - (k >> 31);
}

/**
 * ReLU on float32 bits, without a branch: x > 0 ⟺ 0 < bits ≤ bits(+Inf), so NaN and
 * −0 give +0, as `x > 0 ? x : 0` does.
 */
export function reluBits(b: number): number {
  return b & (0 - (+(b > 0) & +(b <= 0x7f800000)));
}

/**
 * A set of indices with O(1) insert and O(1) clear (generation stamps instead of
 * zeroing a bitmap), listing its members in ascending order on demand.
 */
export class StampSet {
  private readonly stamp: Uint32Array;
  private gen = 1;
  /** Raw stamps and generation, for hot loops that inline `add`. */
  get stampArray(): Uint32Array {
    return this.stamp;
  }
  get generation(): number {
    return this.gen;
  }
  readonly members: Int32Array;
  n = 0;
  constructor(readonly capacity: number) {
    this.stamp = new Uint32Array(capacity);
    // One spare slot: branch-free inserts write members[n] before knowing whether i is new.
    this.members = new Int32Array(capacity + 1);
  }
  add(i: number): void {
    if (this.stamp[i] !== this.gen) {
      this.stamp[i] = this.gen;
      this.members[this.n++] = i;
    }
  }
  has(i: number): boolean {
    return this.stamp[i] === this.gen;
  }
  /**
   * Members in ascending order (valid until the next clear). A dense set is listed by
   * scanning the stamps, which beats sorting once n·log n outgrows the capacity.
   */
  sorted(): Int32Array {
    const n = this.n;
    const view = this.members.subarray(0, n);
    if (n * Math.log2(n + 1) * 4 > this.capacity) {
      const st = this.stamp;
      const gen = this.gen;
      let k = 0;
      for (let i = 0; i < this.capacity && k < n; i++) if (st[i] === gen) view[k++] = i;
    } else {
      view.sort();
    }
    return view;
  }
  clear(): void {
    this.n = 0;
    this.gen++;
    if (this.gen === 0xffffffff) {
      this.stamp.fill(0);
      this.gen = 1;
    }
  }
}

/**
 * Accumulates scattered contributions into a dense scratch buffer, then emits the
 * nonzero sums (with `keepZeros`, every touched element) in ascending index order and
 * zeroes what it touched.
 */
export class DeltaBuilder {
  readonly scratch: Float32Array;
  readonly touched: StampSet;
  constructor(readonly capacity: number, private readonly keepZeros = false) {
    this.scratch = new Float32Array(capacity);
    this.touched = new StampSet(capacity);
  }
  add(i: number, v: number): void {
    this.scratch[i] += v;
    this.touched.add(i);
  }
  emit(out: DeltaList): void {
    out.n = 0;
    const s = this.scratch;
    const members = this.touched.sorted();
    for (let k = 0; k < members.length; k++) {
      const i = members[k]!;
      const v = s[i]!;
      s[i] = 0;
      if (v !== 0 || this.keepZeros) out.push(i, v);
    }
    this.touched.clear();
  }
}

/** Merges two ascending index lists into `out` (union, ascending). */
export function mergeIndexLists(a: IndexList, b: IndexList, out: IndexList): void {
  let i = 0;
  let j = 0;
  out.n = 0;
  while (i < a.n || j < b.n) {
    const x = i < a.n ? a.idx[i]! : 0x7fffffff;
    const y = j < b.n ? b.idx[j]! : 0x7fffffff;
    if (x <= y) {
      out.push(x);
      i++;
      if (x === y) j++;
    } else {
      out.push(y);
      j++;
    }
  }
}
