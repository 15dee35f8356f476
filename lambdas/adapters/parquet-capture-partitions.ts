import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { CAPTURE_COLUMNS, CAPTURE_LAYOUT } from '#contracts';
import { type CapturePartitionReader, windowHours } from '#core/drift/partitions.ts';
import type { CapturedRow } from '#core/ports.ts';

/** Where the Parquet objects are: S3 in AWS (`capture-objects-s3.ts`), a directory on the twin. */
export interface CaptureObjects {
  /** Keys of the objects under `prefix`, in key order. */
  list(prefix: string): Promise<string[]>;
  get(key: string): Promise<Uint8Array>;
}

const col = Object.fromEntries(CAPTURE_COLUMNS.map((c) => [c.field, c.name])) as Record<
  (typeof CAPTURE_COLUMNS)[number]['field'],
  string
>;

/** hyparquet hands a `map<string,double>` back as an object, or as key/value pairs on older writers. */
function featuresOf(v: unknown): Record<string, number> {
  if (v === null || v === undefined) return {};
  if (Array.isArray(v)) {
    return Object.fromEntries(
      v.map((e: { key?: unknown; value?: unknown }) => [
        String(e.key),
        e.value === null ? Number.NaN : Number(e.value),
      ]),
    );
  }
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, x === null ? Number.NaN : Number(x)]),
  );
}

function rowOf(model: string, r: Record<string, unknown>): CapturedRow {
  const shadow = r[col.shadow] as { version: unknown; score: unknown; anomaly: unknown } | null | undefined;
  const rate = r[col.sampleRate];
  return {
    model,
    version: Number(r[col.version]),
    at: String(r[col.at]),
    requestId: String(r[col.requestId]),
    index: Number(r[col.index]),
    features: featuresOf(r[col.features]),
    score: Number(r[col.score]),
    anomaly: Boolean(r[col.anomaly]),
    sampleRate: rate === null || rate === undefined ? 1 : Number(rate),
    ...(shadow
      ? {
          shadow: {
            version: Number(shadow.version),
            score: Number(shadow.score),
            anomaly: Boolean(shadow.anomaly),
          },
        }
      : {}),
  };
}

/**
 * Partitions of the S3 capture path: each Parquet object Firehose wrote under the window's hour
 * prefixes (`CAPTURE_LAYOUT.s3Partition`), read `pageRows` rows at a time with hyparquet, so a
 * child holds one object's bytes and one page of rows, never the window. In AWS the Distributed
 * Map's ItemReader lists the objects itself; `listPartitions` serves the twin and the tests.
 */
export class ParquetCapturePartitions implements CapturePartitionReader {
  readonly source = 's3' as const;

  constructor(private readonly o: { readonly objects: CaptureObjects; readonly pageRows?: number }) {}

  async listPartitions(model: string, from: Date, to: Date): Promise<string[]> {
    const out: string[] = [];
    for (const hour of windowHours(from, to)) {
      for (const key of await this.o.objects.list(CAPTURE_LAYOUT.s3Partition(model, hour))) {
        if (key.endsWith('.parquet') || !key.includes('.')) out.push(key);
      }
    }
    return out;
  }

  async *readPartition(model: string, partition: string, from: Date, to: Date): AsyncIterable<CapturedRow[]> {
    // The model comes from the path (it is a partition key, not a column): only its own prefix.
    if (!partition.startsWith(`${CAPTURE_LAYOUT.s3Prefix}model=${model}/`)) {
      throw new RangeError(`object '${partition}' is not under model '${model}'s capture prefix`);
    }
    const bytes = await this.o.objects.get(partition);
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const metadata = await parquetMetadataAsync(file);
    const total = Number(metadata.num_rows);
    const page = this.o.pageRows ?? 50_000;
    const lo = from.toISOString();
    const hi = to.toISOString();
    for (let start = 0; start < total; start += page) {
      const raw = await parquetReadObjects({
        file,
        metadata,
        rowStart: start,
        rowEnd: Math.min(total, start + page),
      });
      const rows = raw
        .filter((r) => {
          const at = r[col.at];
          return typeof at === 'string' && at >= lo && at < hi;
        })
        .map((r) => rowOf(model, r));
      if (rows.length > 0) yield rows;
    }
  }
}
