/**
 * A minimal WebAssembly assembler: enough to write the few hot loops of the sparse
 * Conv (conv-wasm.ts) as bytes, with no toolchain at build or run time, plus the
 * slice of the WebAssembly JS API they use (the project's TS libs carry no wasm
 * typings). Opcodes are those of the WebAssembly 2.0 spec, SIMD included.
 */

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** Core opcodes used here. */
export const Op = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d,
  localGet: 0x20, localSet: 0x21,
  i32Load: 0x28, f32Load: 0x2a, i32Load8U: 0x2d, i32Store: 0x36, f32Store: 0x38,
  i32Const: 0x41, f64Const: 0x44,
  i32Eqz: 0x45, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GeS: 0x4e, i32GeU: 0x4f, f64Eq: 0x61,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32DivU: 0x6e, i32Or: 0x72, i32Shl: 0x74,
  f64Add: 0xa0, f64Mul: 0xa2, f32DemoteF64: 0xb6, f64PromoteF32: 0xbb,
} as const;

/** SIMD opcodes (after the 0xfd prefix). */
export const Simd = {
  v128Const: 0x0c, f64x2Splat: 0x14, f32x4ExtractLane: 0x1f, f64x2Eq: 0x47, anyTrue: 0x53,
  load64Zero: 0x5d, f32x4DemoteF64x2Zero: 0x5e, f64x2PromoteLowF32x4: 0x5f, f64x2Add: 0xf0, f64x2Mul: 0xf2,
} as const;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
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

/** A function body under construction: i32 params first, then declared locals. */
export class Fn {
  readonly code: number[] = [];
  private readonly locals: number[] = [];
  constructor(readonly name: string, readonly nParams: number, readonly result: number | null) {}

  /** Declares a local of `type`; returns its index. */
  local(type: number): number {
    this.locals.push(type);
    return this.nParams + this.locals.length - 1;
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  get(i: number): this {
    return this.op(Op.localGet, ...uleb(i));
  }
  set(i: number): this {
    return this.op(Op.localSet, ...uleb(i));
  }
  i32(v: number): this {
    return this.op(Op.i32Const, ...sleb(v));
  }
  f64Zero(): this {
    return this.op(Op.f64Const, 0, 0, 0, 0, 0, 0, 0, 0);
  }
  simd(op: number, ...imm: number[]): this {
    return this.op(0xfd, ...uleb(op), ...imm);
  }
  v128Zero(): this {
    return this.simd(Simd.v128Const, ...new Array<number>(16).fill(0));
  }
  /** A load or store with its memarg (alignment exponent, byte offset). */
  mem(op: number, align: number, offset = 0): this {
    return this.op(op, align, ...uleb(offset));
  }
  /** `local = local + v` (i32). */
  addTo(i: number, v: number): this {
    return this.get(i).i32(v).op(Op.i32Add).set(i);
  }
  /**
   * A loop: `body` runs while the condition pushed by `exitIf` is false. Inside the
   * body, `br 0` continues, `br 1` leaves.
   */
  loop(exitIf: () => void, body: () => void): this {
    this.op(Op.block, 0x40, Op.loop, 0x40);
    exitIf();
    this.op(Op.brIf, 1);
    body();
    return this.op(Op.br, 0, Op.end, Op.end);
  }
  /** Runs `body` unless the condition pushed by `skipIf` holds (`br 0` inside leaves it). */
  unless(skipIf: () => void, body: () => void): this {
    this.op(Op.block, 0x40);
    skipIf();
    this.op(Op.brIf, 0);
    body();
    return this.op(Op.end);
  }

  /** The encoded body: locals grouped by runs of the same type, then the code. */
  encode(): number[] {
    const groups: [number, number][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const body = [...uleb(groups.length), ...groups.flatMap(([n, t]) => [...uleb(n), t]), ...this.code, Op.end];
    return [...uleb(body.length), ...body];
  }
}

/** A module importing one memory (`m.mem`) and exporting every function by name; all params i32. */
export function assemble(fns: Fn[]): Uint8Array {
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  const name = (t: string): number[] => [...uleb(t.length), ...Array.from(t, (ch) => ch.charCodeAt(0))];
  const types = fns.flatMap((f) => [0x60, ...uleb(f.nParams), ...new Array<number>(f.nParams).fill(I32), ...(f.result === null ? [0] : [1, f.result])]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(fns.length), ...types]),
    ...section(2, [1, ...name('m'), ...name('mem'), 0x02, 0x00, 0x00]),
    ...section(3, [...uleb(fns.length), ...fns.map((_, i) => i)]),
    ...section(7, [...uleb(fns.length), ...fns.flatMap((f, i) => [...name(f.name), 0x00, ...uleb(i)])]),
    ...section(10, [...uleb(fns.length), ...fns.flatMap((f) => f.encode())]),
  ]);
}

/** The few WebAssembly APIs used here. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (mod: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number }) => WasmMemory;
}

const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** Compiles `bytes`, or returns null where WebAssembly (or a feature the bytes use) is unavailable. */
export function compile(bytes: Uint8Array): WasmModule | null {
  try {
    return wasm && wasm.validate(bytes) ? new wasm.Module(bytes) : null;
  } catch {
    return null;
  }
}

/** A fresh memory of `pages` 64 KiB pages and the module's exports over it. */
export function instantiate(mod: WasmModule, pages: number): { memory: WasmMemory; exports: Record<string, unknown> } {
  const memory = new wasm!.Memory({ initial: pages });
  return { memory, exports: new wasm!.Instance(mod, { m: { mem: memory } }).exports };
}
