import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PutRecordBatchCommandInput } from '@aws-sdk/client-firehose';
import { CAPTURE_LAYOUT } from '#contracts';
import { type CaptureRecord, fromCaptureRecord } from '#core/capture/record.ts';
import type { CapturedRow } from '#core/ports.ts';
import { encodeCaptureParquet } from './capture-parquet.ts';
import type { PutRecordBatchClient } from './firehose-captures.ts';

export interface LocalFirehoseOptions {
  /** Directory standing in for the bucket: files land under `captures/model=…/date=…/hour=…/`. */
  readonly root: string;
  /** Rows buffered per partition before a file is written (Firehose: 1–128 MB). Default 10,000. */
  readonly bufferRows?: number;
  /** Longest a row waits in the buffer, ms (Firehose: 0–900 s). Default 1,000. 0 = only on flush. */
  readonly bufferMs?: number;
}

/**
 * The twin's stand-in for the capture delivery stream: takes the same PutRecordBatch calls,
 * splits each record into its JSON lines (the stream's `RecordDeAggregation`), partitions them
 * by the same keys as the stream's JQ query (`model`, `at[0:10]`, `at[11:13]`), buffers, and
 * writes real Snappy Parquet files with the `CAPTURE_COLUMNS` schema under the Hive layout
 * `CAPTURE_LAYOUT.s3Partition`, so a reader finds them where S3 would have them. Lines that are
 * not a capture record go, as JSON lines, under `CAPTURE_LAYOUT.s3ErrorPrefix`, as Firehose puts
 * what it cannot partition or convert.
 *
 * Unlike Firehose, whose buffer is durable once a call returns, this buffer is memory: `close()`
 * (the twin's stop) flushes it, a `kill -9` loses at most `bufferMs` of rows.
 */
export class LocalFirehose implements PutRecordBatchClient {
  readonly #o: Required<LocalFirehoseOptions>;
  readonly #buffers = new Map<string, { model: string; hour: string; rows: CapturedRow[] }>();
  #timer?: NodeJS.Timeout;
  #flushing: Promise<void> = Promise.resolve();
  /** Files written so far (relative keys), for tests and the bench. */
  readonly files: string[] = [];

  constructor(opts: LocalFirehoseOptions) {
    this.#o = { bufferRows: 10_000, bufferMs: 1000, ...opts };
  }

  async putRecordBatch(input: PutRecordBatchCommandInput) {
    const records = input.Records ?? [];
    const dec = new TextDecoder();
    const errors: string[] = [];
    const full: string[] = [];
    for (const record of records) {
      for (const line of dec.decode(record.Data).split('\n')) {
        if (line.trim() === '') continue;
        const row = parseLine(line);
        if (!row) {
          errors.push(line);
          continue;
        }
        const hour = CAPTURE_LAYOUT.hour(row.at);
        const key = CAPTURE_LAYOUT.s3Partition(row.model, hour);
        let buf = this.#buffers.get(key);
        if (!buf) {
          buf = { model: row.model, hour, rows: [] };
          this.#buffers.set(key, buf);
        }
        buf.rows.push(row);
        if (buf.rows.length >= this.#o.bufferRows) full.push(key);
      }
    }
    if (errors.length) await this.#put(errorKey(), `${errors.join('\n')}\n`);
    for (const key of full) await this.#flushKey(key);
    if (this.#buffers.size > 0 && this.#o.bufferMs > 0 && !this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#o.bufferMs);
      this.#timer.unref();
    }
    return {
      FailedPutCount: 0,
      Encrypted: false,
      RequestResponses: records.map(() => ({ RecordId: randomUUID() })),
    };
  }

  /** Writes every buffered partition out now. */
  flush(): Promise<void> {
    const keys = [...this.#buffers.keys()];
    this.#flushing = this.#flushing.then(async () => {
      for (const key of keys) await this.#flushKey(key);
    });
    return this.#flushing;
  }

  /** Flushes and stops the timer (the twin's stop). */
  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async #flushKey(key: string): Promise<void> {
    const buf = this.#buffers.get(key);
    if (!buf || buf.rows.length === 0) return;
    this.#buffers.delete(key);
    // Firehose names objects `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>`; the time orders them.
    const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-');
    await this.#put(
      `${key}vigil-captures-1-${stamp}-${randomUUID()}.parquet`,
      encodeCaptureParquet(buf.rows),
    );
  }

  async #put(key: string, body: Uint8Array | string): Promise<void> {
    const file = path.join(this.#o.root, key);
    await mkdir(path.dirname(file), { recursive: true });
    // Write then rename: a reader listing the partition never sees half a file.
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, body);
    await rename(tmp, file);
    this.files.push(key);
  }
}

const errorKey = (): string => {
  const now = new Date().toISOString();
  return `${CAPTURE_LAYOUT.s3ErrorPrefix}processing-failed/${now.slice(0, 10)}/${now.slice(11, 13)}/${randomUUID()}.jsonl`;
};

/** A JSON line as a row, or undefined when it lacks what partitioning and the schema need. */
function parseLine(line: string): CapturedRow | undefined {
  let rec: CaptureRecord;
  try {
    rec = JSON.parse(line) as CaptureRecord;
  } catch {
    return undefined;
  }
  if (typeof rec?.model !== 'string' || typeof rec.at !== 'string' || Number.isNaN(Date.parse(rec.at)))
    return undefined;
  return fromCaptureRecord(rec, rec.model);
}
