/** The message codec (msgpackr with typed arrays): a delta batch crosses threads intact. */
import { describe, expect, it } from 'vitest';
import { decode, decodeCoordinator, encode } from '../../src/runtime/codec.js';
import type { DeltaBatch } from '../../src/runtime/messages.js';

describe('codec', () => {
  it('a batch whose arrays are views of one buffer decodes to the same types and values', () => {
    const m = 5;
    const buf = new ArrayBuffer(20 * m);
    const batch: DeltaBatch = {
      type: 'delta.batch', frame: 3, stream: 7, srcActor: 1,
      sendNs: new Float64Array(buf, 0, m), idx: new Int32Array(buf, 8 * m, m), srcCore: new Int32Array(buf, 12 * m, m), val: new Float32Array(buf, 16 * m, m),
      tokenCore: Int32Array.of(4, 9), tokenNs: Float64Array.of(12.5, 1e300),
    };
    // Values written by hand through the views, so neighbouring views overlapping would show.
    const send = [0.1, 2.5, 1e-9, 123456789.123, -0.5];
    const idx = [0, 3, 6, 2147483647, -2147483648];
    const src = [-1, 0, 1, 576, 2];
    const val = [1.5, -0.25, 3.4028234663852886e38, 1e-45, 0];
    for (let i = 0; i < m; i++) {
      batch.sendNs[i] = send[i]!;
      batch.idx[i] = idx[i]!;
      batch.srcCore[i] = src[i]!;
      batch.val[i] = val[i]!;
    }
    const back = decode(encode(batch)) as DeltaBatch;
    expect(back.sendNs).toBeInstanceOf(Float64Array);
    expect(back.idx).toBeInstanceOf(Int32Array);
    expect(back.srcCore).toBeInstanceOf(Int32Array);
    expect(back.val).toBeInstanceOf(Float32Array);
    expect(Array.from(back.sendNs)).toEqual(send);
    expect(Array.from(back.idx)).toEqual(idx);
    expect(Array.from(back.srcCore)).toEqual(src);
    expect(Array.from(back.val)).toEqual(val.map((v) => Math.fround(v)));
    expect(Array.from(back.tokenNs)).toEqual([12.5, 1e300]);
    expect({ ...back, sendNs: 0, idx: 0, srcCore: 0, val: 0, tokenCore: 0, tokenNs: 0 }).toEqual({ ...batch, sendNs: 0, idx: 0, srcCore: 0, val: 0, tokenCore: 0, tokenNs: 0 });
  });

  it("the coordinator's frame starts and close go through the codec too (one vocabulary, any transport)", () => {
    expect(decodeCoordinator(encode({ type: 'frame.start', frame: 12, flush: true }))).toEqual({ type: 'frame.start', frame: 12, flush: true });
    expect(decodeCoordinator(encode({ type: 'ctl.close' }))).toEqual({ type: 'ctl.close' });
  });
});
