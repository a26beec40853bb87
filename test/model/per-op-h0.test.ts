/**
 * With h = 0 the EvNet equals the dense network at every frame, op by op (DESIGN §3;
 * issue acceptance 1), on seeded random videos where ~30% of the inputs change per
 * frame. The dense conv and pools are also checked against naive loops written here.
 */
import { describe, expect, it } from 'vitest';
import { DenseExecutor } from '../../src/model/dense/executor.js';
import { createEngine } from '../../src/model/evnet/engine.js';
import { parsePolicy } from '../../src/model/evnet/policy.js';
import { normalizeInts, type ConvOp, type Graph, type GraphNode, type Op } from '../../src/model/ir.js';
import { mulberry32 } from '../../src/workloads/video.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const rnd = mulberry32(2024);
const weights = (n: number) => Float32Array.from({ length: n }, () => rnd() - 0.5);

/** A graph from a list of (op, input tensor ids, output shape); tensor 0 is the input. */
function build(inShape: number[], nodes: [Op, number[], number[]][]): Graph {
  const tensors = [{ name: 't0', shape: inShape, size: size(inShape) }];
  const gn: GraphNode[] = nodes.map(([op, inputs, shape], id) => {
    tensors.push({ name: `t${id + 1}`, shape, size: size(shape) });
    return { id, name: `n${id}`, onnxOp: op.kind, op: normalizeInts(op), inputs, output: id + 1 };
  });
  return { name: 'g', opset: 13, tensors, nodes: gn, input: 0, output: tensors.length - 1 };
}

function conv(cin: number, cout: number, k: number, o: Partial<ConvOp> = {}): ConvOp {
  const group = o.group ?? 1;
  return {
    kind: 'conv', cin, cout, kh: k, kw: k, strideH: 1, strideW: 1, padT: 0, padL: 0, padB: 0, padR: 0, dilH: 1, dilW: 1, group,
    weight: weights((cout * cin * k * k) / group), bias: weights(cout), bnGamma: null, ...o,
  };
}
const relu: Op = { kind: 'unary', fn: 'relu', a: 0, b: 0 };

/** Runs both networks over a random video and compares every frame. */
function expectH0Equal(g: Graph, frames = 6): void {
  const e = createEngine(g, { threshold: 0, policy: parsePolicy('threshold') });
  const d = new DenseExecutor(g);
  const n = g.tensors[g.input]!.size;
  const x = Float32Array.from({ length: n }, () => rnd() * 2 - 1);
  for (let t = 0; t < frames; t++) {
    if (t > 0) for (let i = 0; i < n; i++) if (rnd() < 0.3) x[i] = rnd() * 2 - 1;
    const y = d.run(x);
    e.step(x);
    let scale = 1e-6;
    for (const v of y) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < y.length; i++) expect(Math.abs(e.output[i]! - y[i]!)).toBeLessThanOrEqual(1e-4 * scale);
  }
}

const c4 = [1, 4, 6, 6];
describe('h = 0 equals dense, per op', () => {
  it('conv: plain, stride 2 + asymmetric pads, dilation 2, groups, depthwise, 1×1', () => {
    expectH0Equal(build([1, 3, 7, 7], [[conv(3, 4, 3), [0], [1, 4, 5, 5]]]));
    expectH0Equal(build([1, 3, 8, 8], [[conv(3, 4, 3, { strideH: 2, strideW: 2, padT: 1, padL: 0, padB: 0, padR: 2 }), [0], [1, 4, 4, 5]]]));
    expectH0Equal(build([1, 2, 9, 9], [[conv(2, 3, 3, { dilH: 2, dilW: 2, padT: 2, padL: 2, padB: 2, padR: 2 }), [0], [1, 3, 9, 9]]]));
    expectH0Equal(build([1, 4, 6, 6], [[conv(4, 6, 3, { group: 2, padT: 1, padL: 1, padB: 1, padR: 1 }), [0], [1, 6, 6, 6]]]));
    expectH0Equal(build([1, 4, 6, 6], [[conv(4, 4, 3, { group: 4, padT: 1, padL: 1, padB: 1, padR: 1 }), [0], [1, 4, 6, 6]]]));
    expectH0Equal(build([1, 4, 6, 6], [[conv(4, 5, 1), [0], [1, 5, 6, 6]], [relu, [1], [1, 5, 6, 6]], [conv(5, 2, 1), [2], [1, 2, 6, 6]]]));
  });

  it('dense: plain, M > 1 rows, transA', () => {
    const dense = (m: number, k: number, n: number, transA = false): Op => ({ kind: 'dense', m, k, n, transA, weight: weights(k * n), bias: weights(m * n), bnGamma: null });
    expectH0Equal(build([1, 7], [[dense(1, 7, 5), [0], [1, 5]], [relu, [1], [1, 5]], [dense(1, 5, 3), [2], [1, 3]]]));
    expectH0Equal(build([3, 4], [[dense(3, 4, 2), [0], [3, 2]]]));
    expectH0Equal(build([4, 3], [[dense(3, 4, 2, true), [0], [3, 2]]]));
  });

  it('add, sub and affine on deltas (with offsets at the flush)', () => {
    const aff = (n: number): Op => ({ kind: 'affine', scale: weights(n), shift: weights(n), bnGamma: null, source: 'test' });
    expectH0Equal(build(c4, [[conv(4, 4, 3, { padT: 1, padL: 1, padB: 1, padR: 1 }), [0], c4], [relu, [1], c4], [{ kind: 'add', sign: 1 }, [2, 0], c4], [relu, [3], c4]]));
    expectH0Equal(build(c4, [[relu, [0], c4], [{ kind: 'add', sign: -1 }, [0, 1], c4]]));
    expectH0Equal(build(c4, [[aff(144), [0], c4], [relu, [1], c4], [aff(144), [2], c4]]));
  });

  it('average pools (pads, count_include_pad both ways, ceil-mode geometry) and global pool', () => {
    const avg = (o: Partial<Op & { kind: 'avgpool' }>): Op => ({ kind: 'avgpool', kh: 3, kw: 3, strideH: 2, strideW: 2, padT: 1, padL: 1, padB: 1, padR: 1, dilH: 1, dilW: 1, countIncludePad: false, global: false, ...o } as Op);
    expectH0Equal(build([1, 2, 7, 7], [[avg({}), [0], [1, 2, 4, 4]]]));
    expectH0Equal(build([1, 2, 7, 7], [[avg({ countIncludePad: true }), [0], [1, 2, 4, 4]]]));
    // ceil mode on 6×6, k 3, s 2, no pad: ceil((6−3)/2)+1 = 3 windows, the last one clipped.
    expectH0Equal(build([1, 2, 6, 6], [[avg({ padT: 0, padL: 0, padB: 0, padR: 0 }), [0], [1, 2, 3, 3]]]));
    expectH0Equal(build(c4, [[relu, [0], c4], [avg({ kh: 6, kw: 6, strideH: 1, strideW: 1, padT: 0, padL: 0, padB: 0, padR: 0, global: true }), [1], [1, 4, 1, 1]]]));
  });

  it('max pool with pads and strides', () => {
    const mp: Op = { kind: 'maxpool', kh: 3, kw: 3, strideH: 2, strideW: 2, padT: 1, padL: 1, padB: 1, padR: 1, dilH: 1, dilW: 1 };
    expectH0Equal(build([1, 3, 7, 7], [[mp, [0], [1, 3, 4, 4]], [conv(3, 2, 1), [1], [1, 2, 4, 4]]]));
  });

  it('concat (axis 1 and 2), reshape, transpose, pad (0 and 0.5), resize', () => {
    expectH0Equal(build(c4, [[relu, [0], c4], [{ kind: 'concat', axis: 1 }, [0, 1], [1, 8, 6, 6]]]));
    expectH0Equal(build(c4, [[relu, [0], c4], [{ kind: 'concat', axis: 2 }, [1, 0], [1, 4, 12, 6]]]));
    expectH0Equal(build(c4, [[{ kind: 'reshape', source: 'Flatten' }, [0], [1, 144]], [{ kind: 'dense', m: 1, k: 144, n: 3, transA: false, weight: weights(432), bias: null, bnGamma: null }, [1], [1, 3]]]));
    expectH0Equal(build([1, 2, 3, 5], [[{ kind: 'transpose', perm: [0, 3, 1, 2] }, [0], [1, 5, 2, 3]], [relu, [1], [1, 5, 2, 3]]]));
    expectH0Equal(build([1, 2, 3, 3], [[{ kind: 'pad', pads: [0, 0, 1, 2, 0, 0, 2, 0], value: 0 }, [0], [1, 2, 6, 5]], [relu, [1], [1, 2, 6, 5]]]));
    expectH0Equal(build([1, 2, 3, 3], [[{ kind: 'pad', pads: [0, 0, 1, 1, 0, 0, 1, 1], value: 0.5 }, [0], [1, 2, 5, 5]], [conv(2, 1, 3), [1], [1, 1, 3, 3]]]));
    const maps = [Int32Array.of(0), Int32Array.of(0, 1), Int32Array.of(0, 0, 1, 1, 2, 2), Int32Array.of(0, 0, 1, 1, 2, 2)];
    expectH0Equal(build([1, 2, 3, 3], [[{ kind: 'resize', maps }, [0], [1, 2, 6, 6]], [relu, [1], [1, 2, 6, 6]]]));
  });

  it('unary activations, softmax (inner 1 and > 1), mul of two activations', () => {
    for (const [fn, a, b] of [['relu', 0, 0], ['leakyrelu', 0.1, 0], ['clip', -0.2, 0.3], ['sigmoid', 0, 0], ['tanh', 0, 0], ['hardsigmoid', 0.2, 0.5], ['hardswish', 1 / 6, 0.5]] as const) {
      expectH0Equal(build(c4, [[conv(4, 3, 3), [0], [1, 3, 4, 4]], [{ kind: 'unary', fn, a, b }, [1], [1, 3, 4, 4]], [conv(3, 2, 1), [2], [1, 2, 4, 4]]]));
    }
    expectH0Equal(build([1, 10], [[{ kind: 'dense', m: 1, k: 10, n: 6, transA: false, weight: weights(60), bias: weights(6), bnGamma: null }, [0], [1, 6]], [{ kind: 'softmax', outer: 1, len: 6, inner: 1 }, [1], [1, 6]]]));
    expectH0Equal(build(c4, [[conv(4, 3, 1), [0], [1, 3, 6, 6]], [{ kind: 'softmax', outer: 1, len: 3, inner: 36 }, [1], [1, 3, 6, 6]]]));
    expectH0Equal(build(c4, [[conv(4, 3, 1), [0], [1, 3, 6, 6]], [{ kind: 'unary', fn: 'sigmoid', a: 0, b: 0 }, [1], [1, 3, 6, 6]], [conv(4, 3, 1), [0], [1, 3, 6, 6]], [{ kind: 'mul' }, [2, 3], [1, 3, 6, 6]]]));
  });
});

describe('dense kernels against naive loops', () => {
  it('im2col + GEMM conv equals a six-deep loop', () => {
    const op = normalizeInts(conv(4, 6, 3, { group: 2, strideH: 2, strideW: 1, padT: 1, padL: 2, padB: 0, padR: 1, dilH: 1, dilW: 2 }));
    const [H, W] = [7, 8];
    const OH = Math.floor((H + 1 + 0 - 3) / 2) + 1;
    const OW = Math.floor((W + 2 + 1 - 5) / 1) + 1;
    const g = build([1, 4, H, W], [[op, [0], [1, 6, OH, OW]]]);
    const x = weights(4 * H * W);
    const y = new DenseExecutor(g).run(x);
    const cinG = 2;
    for (let co = 0; co < 6; co++) {
      const grp = Math.floor(co / 3);
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let s = op.bias![co]!;
          for (let cl = 0; cl < cinG; cl++) {
            for (let ky = 0; ky < 3; ky++) {
              for (let kx = 0; kx < 3; kx++) {
                const iy = oy * 2 - 1 + ky;
                const ix = ox - 2 + kx * 2;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += op.weight[((co * cinG + cl) * 3 + ky) * 3 + kx]! * x[((grp * cinG + cl) * H + iy) * W + ix]!;
              }
            }
          }
          expect(y[(co * OH + oy) * OW + ox]).toBeCloseTo(s, 5);
        }
      }
    }
  });
});
