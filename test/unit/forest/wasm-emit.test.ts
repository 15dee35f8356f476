import { describe, expect, it } from 'vitest';
import { Code, moduleBytes, sleb, uleb, type WasmApi, wasm } from '#core/forest/wasm-emit.ts';

const WebAssembly = wasm() as WasmApi;

describe('wasm-emit', () => {
  // Vectors from the LEB128 definition (DWARF 5 §7.6, and the WebAssembly spec's examples).
  it('writes unsigned LEB128 as the DWARF examples do', () => {
    expect(uleb(0)).toEqual([0x00]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(12857)).toEqual([0xb9, 0x64]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
  });

  it('writes signed LEB128 as the DWARF examples do', () => {
    expect(sleb(2)).toEqual([0x02]);
    expect(sleb(-2)).toEqual([0x7e]);
    expect(sleb(127)).toEqual([0xff, 0x00]);
    expect(sleb(-127)).toEqual([0x81, 0x7f]);
    expect(sleb(128)).toEqual([0x80, 0x01]);
    expect(sleb(-128)).toEqual([0x80, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  it('writes a module the runtime validates and runs (stores p0 + p1 as f64 at address 8)', () => {
    const I32 = 0x7f;
    const body = new Code()
      .i32(8)
      .get(0)
      .get(1)
      .op(0x6a) // i32.add
      .op(0xb7) // f64.convert_i32_s
      .mem(0x39, 3, 0); // f64.store
    const bytes = moduleBytes({ name: 'f', params: [I32, I32], locals: [], body });
    expect(WebAssembly.validate(bytes)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    (exports.f as (a: number, b: number) => void)(40, -2);
    expect(new Float64Array(memory.buffer)[1]).toBe(38);
  });

  it('declares a run of locals of one type as one entry', () => {
    const bytes = moduleBytes({ name: 'g', params: [], locals: [0x7f, 0x7f, 0x7c], body: new Code() });
    expect(WebAssembly.validate(bytes)).toBe(true);
  });
});
