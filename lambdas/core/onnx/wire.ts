import { VigilError } from '#core/errors.ts';
import type {
  AttributeProto,
  GraphProto,
  ModelProto,
  NodeProto,
  TensorProto,
  TypeProto,
  ValueInfoProto,
} from './proto.ts';

/**
 * A purpose-built ONNX protobuf reader: decodes exactly the messages and fields the
 * tree-ensemble parser reads (model, graph, node, attribute, tensor, value info,
 * tensor type and shape, metadata) into the same shapes protobufjs' generated
 * `onnx-proto` classes produce, so `parse.ts` reads either. It exists so that the
 * edge entry (`vigil/edge`) carries a few hundred lines instead of the generic
 * protobuf runtime (about 26 KB gzipped); unknown fields are skipped as protobuf
 * requires. int64 values come back as numbers (exact below 2^53, which every
 * count, id and dimension of a servable model is).
 *
 * Field numbers are those of onnx.proto3 (ONNX 1.10, the schema onnx-proto ships).
 */

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    readonly view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new VigilError(
      'InvalidModel',
      `model.onnx is not a valid ONNX protobuf: ${what} at byte ${this.pos}`,
    );
  }

  /** A varint as an unsigned number (lengths, tags, enums, non-negative ints). */
  varint(): number {
    return Number(this.varint64());
  }

  /**
   * A varint as a bigint when it needs more than 49 bits, else as a number: negative
   * int64s are written as 10-byte two's complement, which a float64 cannot hold.
   */
  private varint64(): number | bigint {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    let big = BigInt(result);
    for (let shift = 49n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return big;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** An int64 varint read as two's complement. */
  int64(): number {
    const v = this.varint64();
    return typeof v === 'number' ? v : Number(BigInt.asIntN(64, v));
  }

  /** An int32 varint (negative ones are sign-extended to 10 bytes on the wire). */
  int32(): number {
    return this.int64() | 0;
  }

  float(): number {
    if (this.pos + 4 > this.end) this.fail('truncated float');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail('truncated double');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** The [start, end) of a length-delimited field. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) this.fail('length past the end of its message');
    this.pos = start + len;
    return [start, start + len];
  }

  bytes(): Uint8Array {
    const [s, e] = this.span();
    return this.buf.subarray(s, e);
  }

  string(): string {
    return TEXT.decode(this.bytes());
  }

  sub(): Reader {
    const [s, e] = this.span();
    return new Reader(this.buf, s, e, this.view);
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.span();
    else if (wire === 5) this.pos += 4;
    else this.fail(`unsupported wire type ${wire}`);
    if (this.pos > this.end) this.fail('field past the end of its message');
  }

  /** Calls `field(number, wireType)` for each field; `field` returns false to skip one. */
  each(field: (no: number, wire: number) => boolean): void {
    while (this.pos < this.end) {
      const tag = this.varint();
      const wire = tag & 7;
      if (!field(Math.floor(tag / 8), wire)) this.skip(wire);
    }
  }

  /** A repeated scalar, packed (wire 2) or not. */
  repeated(wire: number, one: (r: Reader) => number, out: number[]): void {
    if (wire !== 2) {
      out.push(one(this));
      return;
    }
    const r = this.sub();
    while (r.pos < r.end) out.push(one(r));
  }

  /**
   * A repeated int64 (or int32: same varint on the wire), packed or not. The packed case is one
   * loop with the varint inlined: a model is decoded once, at a cold start, by code V8 has not
   * optimized yet, where a call per element (`repeated` with `int64`) is most of the cost. Values
   * of up to 7 bytes (< 2^49) take the inline path; longer ones (negative or huge) go through
   * `int64`, which is exact.
   */
  repeatedInt64(wire: number, out: number[]): void {
    if (wire !== 2) {
      out.push(this.int64());
      return;
    }
    const [start, end] = this.span();
    const buf = this.buf;
    let p = start;
    while (p < end) {
      const b0 = buf[p];
      if (b0 < 0x80) {
        out.push(b0);
        p++;
        continue;
      }
      let result = b0 & 0x7f;
      let scale = 128;
      let q = p + 1;
      let done = false;
      for (let i = 1; i < 7 && q < end; i++, q++) {
        const b = buf[q];
        result += (b & 0x7f) * scale;
        if (b < 0x80) {
          done = true;
          q++;
          break;
        }
        scale *= 128;
      }
      if (done) {
        out.push(result);
        p = q;
      } else {
        // 8+ bytes, or truncated: the general reader decides (and fails with the position).
        const r = new Reader(buf, p, end, this.view);
        out.push(r.int64());
        p = r.pos;
      }
    }
  }

  /** A repeated float, packed or not; the packed case reads the span in one loop (see `repeatedInt64`). */
  repeatedFloat(wire: number, out: number[]): void {
    if (wire !== 2) {
      out.push(this.float());
      return;
    }
    const [start, end] = this.span();
    if ((end - start) % 4 !== 0) this.fail('packed float field whose length is not a multiple of 4');
    const view = this.view;
    for (let p = start; p < end; p += 4) out.push(view.getFloat32(p, true));
  }
}

const TEXT = new TextDecoder();
const i32 = (r: Reader) => r.int32();
const f64 = (r: Reader) => r.double();

function tensor(r: Reader): TensorProto {
  const t: TensorProto & Record<string, unknown> = {};
  const dims: number[] = [];
  const floatData: number[] = [];
  const int32Data: number[] = [];
  const int64Data: number[] = [];
  const doubleData: number[] = [];
  const stringData: Uint8Array[] = [];
  r.each((no, wire) => {
    if (no === 1) r.repeatedInt64(wire, dims);
    else if (no === 2) t.dataType = r.int32();
    else if (no === 4) r.repeatedFloat(wire, floatData);
    else if (no === 5) r.repeated(wire, i32, int32Data);
    else if (no === 6) stringData.push(r.bytes());
    else if (no === 7) r.repeatedInt64(wire, int64Data);
    else if (no === 8) t.name = r.string();
    else if (no === 9) t.rawData = r.bytes();
    else if (no === 10) r.repeated(wire, f64, doubleData);
    else return false;
    return true;
  });
  Object.assign(t, { dims, floatData, int32Data, int64Data, doubleData, stringData });
  return t;
}

function attribute(r: Reader): AttributeProto {
  const a: AttributeProto = {};
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: Uint8Array[] = [];
  r.each((no, wire) => {
    if (no === 1) a.name = r.string();
    else if (no === 2) a.f = r.float();
    else if (no === 3) a.i = r.int64();
    else if (no === 4) a.s = r.bytes();
    else if (no === 5) a.t = tensor(r.sub());
    else if (no === 7) r.repeatedFloat(wire, floats);
    else if (no === 8) r.repeatedInt64(wire, ints);
    else if (no === 9) strings.push(r.bytes());
    else if (no === 20) a.type = r.int32();
    else return false;
    return true;
  });
  return Object.assign(a, { floats, ints, strings });
}

function node(r: Reader): NodeProto {
  const n: NodeProto = {};
  const input: string[] = [];
  const output: string[] = [];
  const attrs: AttributeProto[] = [];
  r.each((no) => {
    if (no === 1) input.push(r.string());
    else if (no === 2) output.push(r.string());
    else if (no === 3) n.name = r.string();
    else if (no === 4) n.opType = r.string();
    else if (no === 5) attrs.push(attribute(r.sub()));
    else if (no === 7) n.domain = r.string();
    else return false;
    return true;
  });
  return Object.assign(n, { input, output, attribute: attrs });
}

function typeProto(r: Reader): TypeProto {
  const t: TypeProto = {};
  r.each((no) => {
    if (no !== 1) return false;
    const tt: NonNullable<TypeProto['tensorType']> = {};
    const tr = r.sub();
    tr.each((tno) => {
      if (tno === 1) tt.elemType = tr.int32();
      else if (tno === 2) {
        const dim: Array<{ dimValue?: number; dimParam?: string }> = [];
        const sr = tr.sub();
        sr.each((sno) => {
          if (sno !== 1) return false;
          const d: { dimValue?: number; dimParam?: string } = {};
          const dr = sr.sub();
          dr.each((dno) => {
            if (dno === 1) d.dimValue = dr.int64();
            else if (dno === 2) d.dimParam = dr.string();
            else return false;
            return true;
          });
          dim.push(d);
          return true;
        });
        tt.shape = { dim };
      } else return false;
      return true;
    });
    t.tensorType = tt;
    return true;
  });
  return t;
}

function valueInfo(r: Reader): ValueInfoProto {
  const v: ValueInfoProto = {};
  r.each((no) => {
    if (no === 1) v.name = r.string();
    else if (no === 2) v.type = typeProto(r.sub());
    else return false;
    return true;
  });
  return v;
}

function graph(r: Reader): GraphProto {
  const g: GraphProto = {};
  const nodes: NodeProto[] = [];
  const initializer: TensorProto[] = [];
  const input: ValueInfoProto[] = [];
  const output: ValueInfoProto[] = [];
  r.each((no) => {
    if (no === 1) nodes.push(node(r.sub()));
    else if (no === 2) g.name = r.string();
    else if (no === 5) initializer.push(tensor(r.sub()));
    else if (no === 11) input.push(valueInfo(r.sub()));
    else if (no === 12) output.push(valueInfo(r.sub()));
    else return false;
    return true;
  });
  return Object.assign(g, { node: nodes, initializer, input, output });
}

/**
 * Decodes model.onnx into the fields Vigil's parser reads.
 * @throws VigilError InvalidModel for bytes that are not a well-formed protobuf message
 */
export function decodeOnnx(bytes: Uint8Array): ModelProto {
  const m: ModelProto = {};
  const metadataProps: Array<{ key?: string; value?: string }> = [];
  const opsetImport: Array<{ domain?: string; version?: number }> = [];
  const r = new Reader(bytes, 0, bytes.length);
  r.each((no) => {
    if (no === 1) m.irVersion = r.int64();
    else if (no === 2) m.producerName = r.string();
    else if (no === 3) m.producerVersion = r.string();
    else if (no === 7) m.graph = graph(r.sub());
    else if (no === 8) {
      const o: { domain?: string; version?: number } = {};
      const or = r.sub();
      or.each((ono) => {
        if (ono === 1) o.domain = or.string();
        else if (ono === 2) o.version = or.int64();
        else return false;
        return true;
      });
      opsetImport.push(o);
    } else if (no === 14) {
      const p: { key?: string; value?: string } = {};
      const pr = r.sub();
      pr.each((pno) => {
        if (pno === 1) p.key = pr.string();
        else if (pno === 2) p.value = pr.string();
        else return false;
        return true;
      });
      metadataProps.push(p);
    } else return false;
    return true;
  });
  return Object.assign(m, { metadataProps, opsetImport });
}
