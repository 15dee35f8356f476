/**
 * Just enough of the WebAssembly binary format to write one module with one exported
 * function over an imported memory — what the wasm tree kernel (`wasm-kernel.ts`) needs.
 * Writing the bytes here keeps the kernel built by the project from reviewable source,
 * with no compiler toolchain and no opaque binary in the repository.
 */

/** The part of the WebAssembly JS API Vigil uses (the project's `lib` has no DOM types). */
export interface WasmApi {
  Memory: new (d: { initial: number }) => { readonly buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

/** The runtime's WebAssembly, when it has one. */
export const wasm = (): WasmApi | undefined => (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** Opcodes used by the kernel (WebAssembly core spec 1.0, §5.4). */
export const Op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f32Load: 0x2a,
  f64Load: 0x2b,
  f64Store: 0x39,
  i32Const: 0x41,
  f64Const: 0x44,
  i32Eqz: 0x45,
  i32LtS: 0x48,
  i32GtS: 0x4a,
  i32GeS: 0x4e,
  f32Gt: 0x5e,
  f64Gt: 0x64,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  f64Add: 0xa0,
} as const;

/** Value types. */
export const I32 = 0x7f;
export const F64 = 0x7c;
/** Block type of a block that yields nothing. */
export const VOID = 0x40;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A byte vector: its length, then the bytes. */
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));

/** The body of a function being written: instructions appended in order. */
export class Code {
  readonly bytes: number[] = [];
  op(...ops: number[]): this {
    for (const b of ops) this.bytes.push(b);
    return this;
  }
  get(local: number): this {
    return this.op(Op.localGet, ...uleb(local));
  }
  set(local: number): this {
    return this.op(Op.localSet, ...uleb(local));
  }
  tee(local: number): this {
    return this.op(Op.localTee, ...uleb(local));
  }
  i32(v: number): this {
    return this.op(Op.i32Const, ...sleb(v));
  }
  f64(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return this.op(Op.f64Const, ...b);
  }
  /** A load or store with its alignment (log2 bytes) and static byte offset. */
  mem(op: number, align: number, offset = 0): this {
    return this.op(op, ...uleb(align), ...uleb(offset));
  }
}

/**
 * A module importing memory `env.memory` and exporting one function `name`.
 * `locals` are the function's extra locals (after its parameters), by type.
 */
export function moduleBytes(fn: {
  name: string;
  params: number[];
  locals: number[];
  body: Code;
}): Uint8Array {
  const type = section(1, vec([[0x60, ...vec(fn.params.map((p) => [p])), ...vec([])]]));
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]]));
  const funcs = section(3, vec([uleb(0)]));
  const exports = section(7, vec([[...name(fn.name), 0x00, ...uleb(0)]]));
  // Locals are declared as runs of one type.
  const runs: number[][] = [];
  for (const t of fn.locals) {
    const last = runs.at(-1);
    if (last && last[1] === t) last[0]++;
    else runs.push([1, t]);
  }
  const body = [...vec(runs.map(([n, t]) => [...uleb(n), t])), ...fn.body.bytes, Op.end];
  const code = section(10, vec([[...uleb(body.length), ...body]]));
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...type,
    ...imports,
    ...funcs,
    ...exports,
    ...code,
  ]);
}
