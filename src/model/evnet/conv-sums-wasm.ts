/**
 * The inner loop of the sparse Conv (see conv-scatter.ts) as a small WebAssembly SIMD
 * function, assembled here byte by byte (no toolchain needed at build or run time).
 *
 * Why: per output element the contract is a chain of float32 adds `a = f32(a + w·v)`
 * in ascending source order (DESIGN §3). In JS every MAC of that chain costs a scalar
 * load, convert, multiply, add, round and widen, plus bounds and map checks. In wasm
 * two channels go through the same steps in one f64x2 lane pair: the weight is
 * widened to f64, multiplied by v (exact: 24 × 24 bits fit in 53), added in f64 and
 * rounded to f32 (`f32x4.demote_f64x2_zero`), which is the very rounding sequence of
 * `Math.fround(a + w * v)` in JS, so the results are bit-identical.
 *
 * Memory layout (byte offsets chosen by the caller): weights f32 [cin][kh][kw][coutG];
 * `first` i32 per touched key rank (n + 1 entries, byte offsets of pair records);
 * `keys` i32 per rank; pair records (i32 weight byte offset, f32 delta); output
 * index and value arrays in final list order.
 */

/** `sum(j0, j1, np, slot0, coutG, ohw, idxBase, first, keys, outIdx, outVal) → zeros`. */
export type ConvSumFn = (
  j0: number, j1: number, np: number, slot0: number, coutG: number, ohw: number, idxBase: number,
  firstAt: number, keysAt: number, outIdxAt: number, outValAt: number,
) => number;

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;
const VOID = 0x40;
const BLOCK = 0x02;
const LOOP = 0x03;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const F64_CONST = 0x44;
const I32_LOAD = 0x28;
const F32_LOAD = 0x2a;
const I32_STORE = 0x36;
const F32_STORE = 0x38;
const I32_GE_S = 0x4e;
const I32_GT_S = 0x4a;
const F64_EQ = 0x61;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_OR = 0x72;
const I32_SHL = 0x74;
const F64_ADD = 0xa0;
const F64_MUL = 0xa2;
const F32_DEMOTE_F64 = 0xb6;
const F64_PROMOTE_F32 = 0xbb;
// SIMD opcodes (prefix 0xfd, final numbering of the WebAssembly 2.0 spec).
const V128_CONST = 0x0c;
const F32X4_EXTRACT_LANE = 0x1f;
const F64X2_SPLAT = 0x14;
const F64X2_EQ = 0x47;
const V128_ANY_TRUE = 0x53;
const V128_LOAD64_ZERO = 0x5d;
const F32X4_DEMOTE_F64X2_ZERO = 0x5e;
const F64X2_PROMOTE_LOW_F32X4 = 0x5f;
const F64X2_ADD = 0xf0;
const F64X2_MUL = 0xf2;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
/** memarg: alignment exponent, then offset. */
const memarg = (align: number, offset: number): number[] => [align, ...uleb(offset)];

/** Assembles the module: one imported memory, one exported function `sum`. */
export function convSumModuleBytes(): Uint8Array {
  const P = { j0: 0, j1: 1, np: 2, slot0: 3, coutG: 4, ohw: 5, idxBase: 6, first: 7, keys: 8, outIdx: 9, outVal: 10 };
  const nParams = 11;
  let n = nParams;
  const L = { j: n++, q: n++, q0: n++, q1: n++, slot: n++, idx: n++, cb: n++, w: n++, zf: n++, npB: n++, cEnd: n++ };
  const nI32 = n - nParams;
  const s = n++; // f64: the odd last channel's sum
  const vv = n++; // v128: the delta in both f64 lanes
  const acc = n; // v128 × 8: sixteen channel sums
  const c: number[] = [];
  const get = (i: number): void => void c.push(LOCAL_GET, ...uleb(i));
  const set = (i: number): void => void c.push(LOCAL_SET, ...uleb(i));
  const i32 = (v: number): void => void c.push(I32_CONST, ...sleb(v));
  const zeroV = (): void => void c.push(...simd(V128_CONST, ...new Array<number>(16).fill(0)));
  const f64Zero = (): void => void c.push(F64_CONST, 0, 0, 0, 0, 0, 0, 0, 0);
  /** Opens block+loop; `br_if 1` leaves, `br 0` repeats. */
  const loopOpen = (): void => void c.push(BLOCK, VOID, LOOP, VOID);
  const loopClose = (): void => void c.push(BR, 0, END, END);

  get(P.np); i32(2); c.push(I32_SHL); set(L.npB);
  get(P.coutG); i32(2); c.push(I32_SHL); set(L.cEnd);
  get(P.j0); set(L.j);
  loopOpen(); // over touched keys j
  get(L.j); get(P.j1); c.push(I32_GE_S, BR_IF, 1);
  get(P.first); get(L.j); i32(2); c.push(I32_SHL, I32_ADD, I32_LOAD, ...memarg(2, 0)); set(L.q0);
  get(P.first); get(L.j); i32(2); c.push(I32_SHL, I32_ADD, I32_LOAD, ...memarg(2, 4)); set(L.q1);
  get(P.slot0); get(L.j); c.push(I32_ADD); get(P.j0); c.push(I32_SUB); i32(2); c.push(I32_SHL); set(L.slot);
  get(P.idxBase); get(P.keys); get(L.j); i32(2); c.push(I32_SHL, I32_ADD, I32_LOAD, ...memarg(2, 0), I32_ADD); set(L.idx);
  i32(0); set(L.cb);
  /** Channels in blocks of 2·nAcc while a whole block fits (cb is a byte offset). */
  const channelBlocks = (nAcc: number): void => {
    const bytes = 8 * nAcc;
    loopOpen();
    get(L.cb); i32(bytes); c.push(I32_ADD); get(L.cEnd); c.push(I32_GT_S, BR_IF, 1);
    for (let a = 0; a < nAcc; a++) { zeroV(); set(acc + a); }
    get(L.q0); set(L.q);
    loopOpen(); // over the key's pair records
    get(L.q); get(L.q1); c.push(I32_GE_S, BR_IF, 1);
    get(L.q); c.push(I32_LOAD, ...memarg(2, 0)); get(L.cb); c.push(I32_ADD); set(L.w);
    get(L.q); c.push(F32_LOAD, ...memarg(2, 4), F64_PROMOTE_F32, ...simd(F64X2_SPLAT)); set(vv);
    for (let a = 0; a < nAcc; a++) {
      // acc = f32(acc + f64(w) · v), two channels per lane pair.
      get(acc + a);
      get(L.w); c.push(...simd(V128_LOAD64_ZERO, ...memarg(3, 8 * a)), ...simd(F64X2_PROMOTE_LOW_F32X4));
      get(vv);
      c.push(...simd(F64X2_MUL), ...simd(F64X2_ADD), ...simd(F32X4_DEMOTE_F64X2_ZERO), ...simd(F64X2_PROMOTE_LOW_F32X4));
      set(acc + a);
    }
    get(L.q); i32(8); c.push(I32_ADD); set(L.q);
    loopClose();
    for (let a = 0; a < nAcc; a++) {
      get(L.zf); get(acc + a); zeroV(); c.push(...simd(F64X2_EQ), ...simd(V128_ANY_TRUE), I32_OR); set(L.zf);
      for (let lane = 0; lane < 2; lane++) {
        get(P.outVal); get(L.slot); c.push(I32_ADD);
        get(acc + a); c.push(...simd(F32X4_DEMOTE_F64X2_ZERO), ...simd(F32X4_EXTRACT_LANE, lane), F32_STORE, ...memarg(2, 0));
        get(P.outIdx); get(L.slot); c.push(I32_ADD); get(L.idx); c.push(I32_STORE, ...memarg(2, 0));
        get(L.slot); get(L.npB); c.push(I32_ADD); set(L.slot);
        get(L.idx); get(P.ohw); c.push(I32_ADD); set(L.idx);
      }
    }
    get(L.cb); i32(bytes); c.push(I32_ADD); set(L.cb);
    loopClose();
  };
  channelBlocks(8);
  channelBlocks(4);
  channelBlocks(1);
  // An odd last channel, in scalar f64 with the same rounding.
  c.push(BLOCK, VOID);
  get(L.cb); get(L.cEnd); c.push(I32_GE_S, BR_IF, 0);
  f64Zero(); set(s);
  get(L.q0); set(L.q);
  loopOpen();
  get(L.q); get(L.q1); c.push(I32_GE_S, BR_IF, 1);
  get(s);
  get(L.q); c.push(I32_LOAD, ...memarg(2, 0)); get(L.cb); c.push(I32_ADD, F32_LOAD, ...memarg(2, 0), F64_PROMOTE_F32);
  get(L.q); c.push(F32_LOAD, ...memarg(2, 4), F64_PROMOTE_F32, F64_MUL, F64_ADD, F32_DEMOTE_F64, F64_PROMOTE_F32);
  set(s);
  get(L.q); i32(8); c.push(I32_ADD); set(L.q);
  loopClose();
  get(L.zf); get(s); f64Zero(); c.push(F64_EQ, I32_OR); set(L.zf);
  get(P.outVal); get(L.slot); c.push(I32_ADD); get(s); c.push(F32_DEMOTE_F64, F32_STORE, ...memarg(2, 0));
  get(P.outIdx); get(L.slot); c.push(I32_ADD); get(L.idx); c.push(I32_STORE, ...memarg(2, 0));
  c.push(END);
  get(L.j); i32(1); c.push(I32_ADD); set(L.j);
  loopClose();
  get(L.zf);
  c.push(END);

  const body = [3, ...uleb(nI32), I32, 1, F64, 9, V128, ...c];
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  const name = (t: string): number[] => [...uleb(t.length), ...Array.from(t, (ch) => ch.charCodeAt(0))];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, nParams, ...new Array<number>(nParams).fill(I32), 1, I32]),
    ...section(2, [1, ...name('m'), ...name('mem'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('sum'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

/** The few WebAssembly APIs used here (the project's TS libs carry no wasm typings). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (mod: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number }) => WasmMemory;
}

const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
let compiled: WasmModule | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable (callers then use JS). */
function convSumModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      const bytes = convSumModuleBytes();
      compiled = wasm && wasm.validate(bytes) ? new wasm.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** A fresh memory of `pages` 64 KiB pages with the `sum` function over it, or null without wasm SIMD. */
export function createConvSum(pages: number): { memory: WasmMemory; sum: ConvSumFn } | null {
  const mod = convSumModule();
  if (!mod || !wasm) return null;
  const memory = new wasm.Memory({ initial: pages });
  const inst = new wasm.Instance(mod, { m: { mem: memory } });
  return { memory, sum: inst.exports.sum as ConvSumFn };
}
