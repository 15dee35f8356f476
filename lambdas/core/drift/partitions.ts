import type { CapturedRow } from '#core/ports.ts';

/**
 * Where the captures of a window live, one partition at a time, so a window is summarized by
 * many small readers (a Distributed Map's children) instead of one that holds it all:
 * - DynamoDB: a partition is one model-hour-shard item collection (`CAPTURE_LAYOUT.dynamoPartition`);
 * - S3 (Firehose → Parquet): a partition is one Parquet object under `CAPTURE_LAYOUT.s3Partition`.
 */
export interface CapturePartitionReader {
  /** `dynamodb` or `s3`: which Map branch lists the partitions (a task, or an S3 ItemReader). */
  readonly source: 'dynamodb' | 's3';
  /** Ids of the partitions that may hold rows of `model` captured at from ≤ at < to. */
  listPartitions(model: string, from: Date, to: Date): Promise<string[]>;
  /**
   * One partition's rows captured at from ≤ at < to, page by page, so a reader never holds more
   * than a page: the summary is built as the pages arrive.
   */
  readPartition(
    model: string,
    partition: string,
    from: Date,
    to: Date,
  ): AsyncIterable<readonly CapturedRow[]>;
}

/** The UTC hours (`yyyy-mm-ddThh`) overlapping [from, to). */
export function windowHours(from: Date, to: Date): string[] {
  const out: string[] = [];
  if (!(to > from)) return out;
  const h = new Date(from);
  h.setUTCMinutes(0, 0, 0);
  for (; h < to; h.setUTCHours(h.getUTCHours() + 1)) out.push(h.toISOString().slice(0, 13));
  return out;
}
