import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VigilError } from '#core/errors.ts';
import { onnx } from '#core/onnx/proto.ts';
import { decodeOnnx } from '#core/onnx/wire.ts';

/**
 * The purpose-built reader against the generic one: protobufjs' generated onnx-proto
 * classes are the independent reference. Both decodes are projected onto the fields the
 * tree parser reads, in one normal form (int64 as numbers, bytes as arrays, absent
 * scalars as their proto3 defaults), and must agree on every shipped graph.
 */

const ROOT = path.resolve(import.meta.dirname, '../../..');
const BYO = path.join(ROOT, 'test/fixtures/byo');
const GRAPHS = [
  path.join(ROOT, 'models/default/model.onnx'),
  ...readdirSync(BYO, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(BYO, d.name, 'model.onnx')),
];

const num = (v: unknown): number =>
  typeof v === 'object' && v !== null && 'toNumber' in v
    ? (v as { toNumber(): number }).toNumber()
    : Number(v ?? 0);
const bytes = (v: Uint8Array | null | undefined) => Array.from(v ?? []);
// biome-ignore lint/suspicious/noExplicitAny: a projection over either decoder's plain objects
type Any = any;
const tensor = (t: Any) =>
  t && {
    name: t.name ?? '',
    dataType: num(t.dataType),
    dims: (t.dims ?? []).map(num),
    floatData: Array.from(t.floatData ?? [], Number),
    doubleData: Array.from(t.doubleData ?? [], Number),
    int32Data: Array.from(t.int32Data ?? [], Number),
    int64Data: (t.int64Data ?? []).map(num),
    rawData: bytes(t.rawData),
  };
const valueInfo = (v: Any) => ({
  name: v.name ?? '',
  elemType: num(v.type?.tensorType?.elemType),
  dims: (v.type?.tensorType?.shape?.dim ?? []).map((d: Any) => [
    d.dimValue == null ? null : num(d.dimValue),
    d.dimParam || null,
  ]),
});
const project = (m: Any) => ({
  producerName: m.producerName ?? '',
  metadata: (m.metadataProps ?? []).map((p: Any) => [p.key ?? '', p.value ?? '']),
  inputs: (m.graph.input ?? []).map(valueInfo),
  outputs: (m.graph.output ?? []).map(valueInfo),
  initializers: (m.graph.initializer ?? []).map(tensor),
  nodes: (m.graph.node ?? []).map((n: Any) => ({
    opType: n.opType ?? '',
    domain: n.domain ?? '',
    input: [...(n.input ?? [])],
    output: [...(n.output ?? [])],
    attributes: (n.attribute ?? []).map((a: Any) => ({
      name: a.name ?? '',
      f: Number(a.f ?? 0),
      i: num(a.i),
      s: bytes(a.s),
      t: tensor(a.t) ?? null,
      floats: Array.from(a.floats ?? [], Number),
      ints: (a.ints ?? []).map(num),
      strings: (a.strings ?? []).map(bytes),
    })),
  })),
});

describe('decodeOnnx (the edge reader)', () => {
  it.each(GRAPHS.map((g) => [path.relative(ROOT, g), g]))(
    'decodes %s exactly as protobufjs does',
    (_, file) => {
      const raw = new Uint8Array(readFileSync(file));
      const ours = project(decodeOnnx(raw));
      const reference = project(onnx.ModelProto.decode(raw));
      expect(ours.nodes.length).toBeGreaterThan(0);
      expect(ours).toEqual(reference);
    },
  );

  it('reads packed ints and floats of every varint length as protobufjs does', () => {
    // Each length class of the packed fast path: 1 byte, 2–7 bytes (< 2^49), and the long
    // ones it hands to the general reader (≥ 2^49, negative int64s as 10 bytes).
    const ints = [
      0,
      1,
      127,
      128,
      300,
      16_383,
      16_384,
      2 ** 35,
      2 ** 49 - 1,
      2 ** 49,
      2 ** 53 - 1,
      -1,
      -(2 ** 40),
    ];
    const floats = [0, -0, 1.5, -3.25e-8, 3.4e38, Number.NaN, Number.POSITIVE_INFINITY];
    const raw = onnx.ModelProto.encode({
      graph: {
        node: [
          {
            opType: 'X',
            attribute: [
              { name: 'a', ints, floats },
              { name: 'b', ints: [5] },
            ],
          },
        ],
      },
    }).finish();
    const ours = project(decodeOnnx(raw));
    expect(ours).toEqual(project(onnx.ModelProto.decode(raw)));
    expect(ours.nodes[0].attributes[0].ints).toEqual(ints);
    expect(ours.nodes[0].attributes[0].floats.map((f: number) => (Object.is(f, -0) ? 'neg0' : f))).toEqual(
      floats.map((f) => (Object.is(f, -0) ? 'neg0' : Math.fround(f))),
    );
  });

  it('refuses a packed int whose last varint is cut off', () => {
    // model.graph(7) → node(1) → attribute(5) → ints(8), packed: 2 bytes, the second a continuation.
    const attribute = Uint8Array.of(0x42, 0x02, 0x05, 0x80);
    const node = Uint8Array.of(0x2a, attribute.length, ...attribute);
    const graph = Uint8Array.of(0x0a, node.length, ...node);
    const model = Uint8Array.of(0x3a, graph.length, ...graph);
    expect(() => decodeOnnx(model)).toThrow(/truncated varint/);
  });

  it('refuses truncated bytes with InvalidModel, not a crash', () => {
    const raw = new Uint8Array(readFileSync(GRAPHS[0]));
    const cut = raw.subarray(0, Math.floor(raw.length / 2));
    expect(() => decodeOnnx(cut)).toThrow(VigilError);
    expect(() => decodeOnnx(cut)).toThrow(/not a valid ONNX protobuf/);
  });

  it('refuses a field with an impossible wire type', () => {
    // tag = field 15 (not read, so skipped), wire type 7 (does not exist).
    expect(() => decodeOnnx(Uint8Array.of(0x7f))).toThrow(/wire type 7/);
  });
});
