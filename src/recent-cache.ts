/**
 * A per-thread cache that keeps its most recently used entries within a byte budget (an
 * entry larger than the budget alone stays until the next one comes), so a long-lived
 * process running sweep after sweep over new workloads does not keep every one.
 */
export class RecentCache<V> {
  private readonly m = new Map<string, { v: V; bytes: number }>();
  private total = 0;
  constructor(private readonly budget: number) {}

  get(k: string): V | undefined {
    const e = this.m.get(k);
    if (!e) return undefined;
    this.m.delete(k);
    this.m.set(k, e);
    return e.v;
  }

  has(k: string): boolean {
    return this.m.has(k);
  }

  set(k: string, v: V, bytes: number): void {
    const old = this.m.get(k);
    if (old) {
      this.total -= old.bytes;
      this.m.delete(k);
    }
    this.m.set(k, { v, bytes });
    this.total += bytes;
    // Oldest first; the entry just set is last.
    for (const [key, e] of this.m) {
      if (this.total <= this.budget || key === k) break;
      this.m.delete(key);
      this.total -= e.bytes;
    }
  }
}
