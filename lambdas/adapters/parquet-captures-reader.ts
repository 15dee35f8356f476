import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { CAPTURE_LAYOUT } from '#contracts';
import { compareCaptures, newestFirst } from '#core/capture/recent.ts';
import type { CapturedRow, CaptureReader, RecentCaptureReader } from '#core/ports.ts';
import { decodeCaptureParquet } from './capture-parquet.ts';

/** Objects under a prefix of the capture bucket (S3) or directory (the twin). */
export interface CaptureObjects {
  /** Keys of the Parquet objects directly under `prefix` (a partition). */
  list(prefix: string): Promise<string[]>;
  get(key: string): Promise<Uint8Array>;
}

/** The twin's capture directory (`LocalFirehose`'s root). */
export class FsCaptureObjects implements CaptureObjects {
  constructor(private readonly root: string) {}

  async list(prefix: string): Promise<string[]> {
    try {
      const names = await readdir(path.join(this.root, prefix));
      return names.filter((n) => n.endsWith('.parquet')).map((n) => `${prefix}${n}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    return new Uint8Array(await readFile(path.join(this.root, key)));
  }
}

/** The capture bucket in AWS. */
export class S3CaptureObjects implements CaptureObjects {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) if (o.Key?.endsWith('.parquet')) keys.push(o.Key);
      token = out.NextContinuationToken;
    } while (token);
    return keys;
  }

  async get(key: string): Promise<Uint8Array> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!out.Body) throw new Error(`s3://${this.bucket}/${key} has no body`);
    return out.Body.transformToByteArray();
  }
}

/**
 * `CaptureReader` over the Firehose path's Parquet partitions: lists each hour partition the
 * window touches (`CAPTURE_LAYOUT.s3Partition`), reads every file, keeps from ≤ at < to, oldest
 * first. This holds the window in memory, as the DynamoDB reader does; windows too large for
 * that are issue 15's Distributed Map over the same partitions.
 */
export class ParquetCaptureReader implements CaptureReader, RecentCaptureReader {
  constructor(private readonly objects: CaptureObjects) {}

  async readWindow(model: string, from: string | Date, to: string | Date): Promise<CapturedRow[]> {
    const start = new Date(from);
    const end = new Date(to);
    if (!(end > start)) return [];
    const lo = start.toISOString();
    const hi = end.toISOString();
    const out: CapturedRow[] = [];
    const hour = new Date(start);
    hour.setUTCMinutes(0, 0, 0);
    for (; hour < end; hour.setUTCHours(hour.getUTCHours() + 1)) {
      const prefix = CAPTURE_LAYOUT.s3Partition(model, CAPTURE_LAYOUT.hour(hour));
      for (const key of await this.objects.list(prefix)) {
        for (const row of await decodeCaptureParquet(await this.objects.get(key), model))
          if (row.at >= lo && row.at < hi) out.push(row);
      }
    }
    return out.sort(compareCaptures);
  }

  /**
   * The newest `limit` rows with from ≤ at < to, newest first. Objects are whole files, so each
   * hour partition is read in full, newest hour first, until `limit` rows are found.
   */
  async readRecent(
    model: string,
    opts: { readonly from: string | Date; readonly to: string | Date; readonly limit: number },
  ): Promise<CapturedRow[]> {
    const lo = new Date(opts.from).toISOString();
    const hi = new Date(opts.to).toISOString();
    return newestFirst(opts, async (hour) => {
      const found: CapturedRow[] = [];
      for (const key of await this.objects.list(CAPTURE_LAYOUT.s3Partition(model, hour))) {
        for (const row of await decodeCaptureParquet(await this.objects.get(key), model))
          if (row.at >= lo && row.at < hi) found.push(row);
      }
      return found;
    });
  }
}
