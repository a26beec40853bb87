/**
 * Deterministic synthetic video: a smooth textured scene, a few moving objects, camera
 * motion (`none`, `minor`, `major`) and faint sensor noise. Seeded, so the same
 * arguments always give the same bytes.
 */
import { EvsimError, shownValue } from '../errors.js';

export type Motion = 'none' | 'minor' | 'major';

export interface VideoOptions {
  frames: number;
  channels?: number;
  height: number;
  width: number;
  motion?: Motion;
  seed?: number;
  /** Standard deviation of the per-pixel sensor noise (default 0.004). */
  noise?: number;
}

/** mulberry32: small, fast, seedable 32-bit PRNG. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Camera offset (pixels) at frame t: none is still, minor pans slowly, major pans fast and shakes. */
function cameraAt(motion: Motion, t: number, rand: () => number): [number, number] {
  switch (motion) {
    case 'none': return [0, 0];
    case 'minor': return [Math.floor(t / 4), 0];
    case 'major': return [2 * t + Math.floor(rand() * 3) - 1, Math.floor(t / 2) + Math.floor(rand() * 3) - 1];
  }
}

/** The largest video seed (the generator's state is 32 bits). */
export const MAX_SEED = 4294967295;

/** Returns frames as float32 [T, C, H, W], values roughly in [−1, 1]. */
export function syntheticVideo(o: VideoOptions): { shape: number[]; data: Float32Array } {
  if (o === null || typeof o !== 'object') throw new EvsimError('BAD_USAGE', `syntheticVideo() takes options { frames, height, width, … }, got ${shownValue(o)}`);
  const { frames: T, height: H, width: W } = o;
  const C = o.channels ?? 3;
  const motion = o.motion ?? 'minor';
  for (const [k, v] of [['frames', T], ['height', H], ['width', W], ['channels', C]] as const) {
    if (!(Number.isInteger(v) && v > 0)) throw new EvsimError('BAD_USAGE', `video ${k} must be a positive integer, got ${shownValue(v)}`);
  }
  if (!['none', 'minor', 'major'].includes(motion)) throw new EvsimError('BAD_USAGE', `video motion must be none, minor or major, got ${shownValue(motion)}`);
  const seed = o.seed ?? 1;
  // The generator takes 32 bits: a larger seed would silently repeat a smaller one's video.
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED)) throw new EvsimError('BAD_USAGE', `video seed must be an integer in 0…${MAX_SEED}, got ${shownValue(seed)}`);
  const rand = mulberry32(seed);
  const noise = o.noise ?? 0.004;
  // NaN or infinite noise would make every frame NaN (refused later as frames, far from here).
  if (typeof noise !== 'number' || !(noise >= 0 && noise < Infinity)) throw new EvsimError('BAD_USAGE', `video noise must be a number ≥ 0 (a standard deviation), got ${shownValue(noise)}`);
  // The scene is larger than the view so the camera can pan across it. Its values are
  // computed when first viewed, 64 columns at a time (float32, as stored before): a pan
  // views a band of it, and the whole (H + T) × (W + 2T) scene grew with T².
  const SH = H + T + 8;
  const SW = W + 2 * T + 8;
  // The texture's scale is the view's, never the video's length: the first k frames are
  // the same whatever T (a sweep over frames, or --max-frames, compares one video). It is
  // the scale a 48-frame video had when it followed the scene's size.
  const waves = Array.from({ length: 6 }, () => ({
    fy: (rand() * 6 + 1) / (H + 56), fx: (rand() * 6 + 1) / (W + 104), ph: rand() * 6.283, amp: 0.15 + 0.2 * rand(), ch: Array.from({ length: C }, () => rand()),
  }));
  const nBlocks = Math.ceil(SW / 64);
  const blocks = new Map<number, Float32Array>();
  const sceneBlock = (c: number, y: number, bx: number): Float32Array => {
    const key = (c * SH + y) * nBlocks + bx;
    let b = blocks.get(key);
    if (!b) {
      b = new Float32Array(64);
      for (let i = 0; i < 64 && bx * 64 + i < SW; i++) {
        const x = bx * 64 + i;
        let v = 0;
        for (const w of waves) v += w.amp * w.ch[c]! * Math.sin(6.283 * (w.fy * y + w.fx * x) + w.ph);
        b[i] = v;
      }
      blocks.set(key, b);
    }
    return b;
  };
  const objects = Array.from({ length: 3 }, () => ({
    y: rand() * H, x: rand() * W, vy: (rand() - 0.5) * 1.2, vx: (rand() - 0.5) * 1.2,
    r: 0.08 * Math.min(H, W) + rand() * 0.1 * Math.min(H, W), color: Array.from({ length: C }, () => rand() * 1.6 - 0.8),
  }));
  const data = new Float32Array(T * C * H * W);
  const gauss = (): number => {
    // Box-Muller from the seeded stream.
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(6.283185307 * rand());
  };
  for (let t = 0; t < T; t++) {
    const [cx, cy] = cameraAt(motion, t, rand);
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        const sy = Math.min(Math.max(y + cy, 0), SH - 1);
        let block = sceneBlock(c, sy, 0);
        let bx = 0;
        for (let x = 0; x < W; x++) {
          const sx = Math.min(Math.max(x + cx, 0), SW - 1);
          if (sx >> 6 !== bx) block = sceneBlock(c, sy, (bx = sx >> 6));
          let v = block[sx & 63]!;
          for (const ob of objects) {
            const oy = ob.y + ob.vy * t;
            const ox = ob.x + ob.vx * t;
            const d = Math.hypot(y - oy, x - ox);
            // One-pixel soft edge: sub-pixel motion changes only the rim.
            const cover = Math.min(Math.max(ob.r - d + 0.5, 0), 1);
            if (cover > 0) v = v * (1 - cover) + ob.color[c]! * cover;
          }
          data[((t * C + c) * H + y) * W + x] = v + noise * gauss();
        }
      }
    }
  }
  return { shape: [T, C, H, W], data };
}
