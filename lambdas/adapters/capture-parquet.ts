import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { CAPTURE_COLUMNS } from '#contracts';
import { type CaptureRecord, fromCaptureRecord, toCaptureRecord } from '#core/capture/record.ts';
import type { CapturedRow } from '#core/ports.ts';

/** A Parquet schema element, as hyparquet-writer takes it (the Thrift `SchemaElement`). */
interface SchemaElement {
  name: string;
  type?: 'BOOLEAN' | 'INT32' | 'DOUBLE' | 'BYTE_ARRAY';
  converted_type?: 'UTF8' | 'MAP';
  repetition_type?: 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
  num_children?: number;
}

const PRIMITIVE: Record<string, Omit<SchemaElement, 'name'>> = {
  int: { type: 'INT32' },
  double: { type: 'DOUBLE' },
  boolean: { type: 'BOOLEAN' },
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
};

/**
 * The Parquet elements of one Glue/Hive column type (the few `CAPTURE_COLUMNS` uses: primitives,
 * `map<string,double>`, `struct<…>` of primitives), in depth-first order, laid out as Firehose's
 * own Parquet conversion writes them: a MAP group over a repeated `key_value` group.
 */
function elements(name: string, type: string): SchemaElement[] {
  const prim = PRIMITIVE[type];
  if (prim) return [{ name, ...prim, repetition_type: 'OPTIONAL' }];
  const map = /^map<(\w+),(\w+)>$/.exec(type);
  if (map) {
    return [
      { name, converted_type: 'MAP', repetition_type: 'OPTIONAL', num_children: 1 },
      { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
      { ...elements('key', map[1] as string)[0], name: 'key', repetition_type: 'REQUIRED' },
      ...elements('value', map[2] as string),
    ];
  }
  const struct = /^struct<(.+)>$/.exec(type);
  if (struct) {
    const fields = (struct[1] as string).split(',').map((f) => f.split(':') as [string, string]);
    return [
      { name, repetition_type: 'OPTIONAL', num_children: fields.length },
      ...fields.flatMap(([n, t]) => elements(n, t)),
    ];
  }
  throw new Error(`capture column ${name}: no Parquet layout for Glue type ${type}`);
}

/** The Parquet schema of a capture file, from the shared column list. */
export const CAPTURE_PARQUET_SCHEMA: readonly SchemaElement[] = [
  { name: 'root', num_children: CAPTURE_COLUMNS.length },
  ...CAPTURE_COLUMNS.flatMap((c) => elements(c.name, c.type)),
];

/** One Parquet file (Snappy, like Firehose's default) holding `rows`, columns as `CAPTURE_COLUMNS`. */
export function encodeCaptureParquet(rows: readonly CapturedRow[]): Uint8Array {
  const records = rows.map(toCaptureRecord);
  const buf = parquetWriteBuffer({
    schema: CAPTURE_PARQUET_SCHEMA as SchemaElement[],
    columnData: CAPTURE_COLUMNS.map((c) => ({ name: c.name, data: records.map((r) => r[c.name]) })),
  });
  return new Uint8Array(buf);
}

/** Rows of a capture Parquet file; `model` comes from the partition the file was found in. */
export async function decodeCaptureParquet(bytes: Uint8Array, model: string): Promise<CapturedRow[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const records = (await parquetReadObjects({ file })) as unknown as Omit<CaptureRecord, 'model'>[];
  return records.map((r) => fromCaptureRecord(r, model));
}
