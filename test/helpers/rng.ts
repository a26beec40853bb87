/**
 * Seeded randomness for tests (STYLE §10: seed all randomness). mulberry32 is written
 * here rather than imported from src so a test's inputs never depend on the code under
 * test.
 */

export type Rng = () => number;

/** mulberry32: a 32-bit state PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform float in [lo, hi). */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/** Uniform integer in [lo, hi] (inclusive). */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** n floats uniform in [lo, hi), as float32. */
export function randArray(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = uniform(rng, lo, hi);
  return a;
}

/**
 * A random "video" of T frames of n values: frame 0 is uniform in [lo, hi); every
 * later frame copies the previous one and redraws a random subset of about
 * `changeFraction` of its elements (at least one).
 */
export function randomVideo(rng: Rng, n: number, T: number, changeFraction = 0.3, lo = -1, hi = 1): Float32Array[] {
  const frames: Float32Array[] = [randArray(rng, n, lo, hi)];
  for (let t = 1; t < T; t++) {
    const x = Float32Array.from(frames[t - 1]!);
    let changed = 0;
    for (let i = 0; i < n; i++) {
      if (rng() < changeFraction) {
        x[i] = uniform(rng, lo, hi);
        changed++;
      }
    }
    // Tiny inputs could draw no change at all; a frame always changes something.
    if (changed === 0) x[Math.floor(rng() * n)] = uniform(rng, lo, hi);
    frames.push(x);
  }
  return frames;
}
