import type { PutRecordBatchCommandInput, PutRecordBatchCommandOutput } from '@aws-sdk/client-firehose';
import { captureRecordJson } from '#core/capture/record.ts';
import type { CapturedRow, CaptureSink, CaptureWriteResult } from '#core/ports.ts';
import { classifyError, describeError } from './dependency-errors.ts';

/**
 * The one call the sink makes: Firehose's PutRecordBatch (the composition root wraps a lazily
 * imported client, so bundles on the DynamoDB path never load the Firehose SDK), or the twin's
 * stand-in (`LocalFirehose`).
 */
export interface PutRecordBatchClient {
  putRecordBatch(
    input: PutRecordBatchCommandInput,
  ): Promise<Pick<PutRecordBatchCommandOutput, 'FailedPutCount' | 'RequestResponses'>>;
}

export interface FirehoseCaptureSinkOptions {
  readonly client: PutRecordBatchClient;
  readonly streamName: string;
  /**
   * Durable place for rows whose records the stream still rejects after the retries (an SQS
   * queue in AWS, the spool file on the twin). Without it, or when parking fails, they are lost
   * and counted. Firehose's own error prefix holds only records it accepted and could not convert.
   */
  readonly park?: (rows: readonly CapturedRow[], reason: string) => Promise<void>;
  /** PutRecordBatch attempts for the entries it rejects, including the first. Default 4. */
  readonly maxAttempts?: number;
  /** Base and cap of the exponential backoff (full jitter), ms. Defaults 25 and 400. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Bytes of rows packed into one Firehose record. Default 4,900 (see `FirehoseCaptureSink`). */
  readonly recordBytes?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** PutRecordBatch limits: 500 records and 4 MiB per call, 1,000 KiB per record. */
const MAX_RECORDS = 500;
const MAX_CALL_BYTES = 4 * 1024 * 1024;

interface Packed {
  readonly data: Uint8Array;
  readonly rows: CapturedRow[];
}

/**
 * `CaptureSink` over an Amazon Data Firehose stream that converts to Parquet and partitions by
 * model/date/hour (CDK: `CaptureStream`). Each row is one JSON line (`CaptureRecord`: the
 * `CAPTURE_COLUMNS` plus `model` for the partition query); lines are packed into records of
 * about 5 KB, because Firehose bills ingestion per record rounded up to 5 KB and a single row is
 * ~300 bytes; the stream's `RecordDeAggregation` processor splits them again before
 * partitioning. Rows are never split across records.
 *
 * PutRecordBatch answers per entry: rejected entries (`ErrorCode`, mostly throttling) are
 * retried with exponential backoff and full jitter, then their rows parked (`park`) and counted.
 * A thrown retryable error (after the SDK's own retries) parks at once, like the DynamoDB sink;
 * a thrown refusal (access denied, missing stream) loses the rows, counted, with the real reason.
 */
export class FirehoseCaptureSink implements CaptureSink {
  private readonly o: Required<Omit<FirehoseCaptureSinkOptions, 'park'>> &
    Pick<FirehoseCaptureSinkOptions, 'park'>;

  constructor(opts: FirehoseCaptureSinkOptions) {
    this.o = {
      maxAttempts: 4,
      baseDelayMs: 25,
      maxDelayMs: 400,
      recordBytes: 4900,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: Math.random,
      ...opts,
    };
  }

  /** Rows as newline-delimited JSON records of at most `recordBytes` (one row may exceed it alone). */
  pack(rows: readonly CapturedRow[]): Packed[] {
    const enc = new TextEncoder();
    const out: Packed[] = [];
    let lines: string[] = [];
    let group: CapturedRow[] = [];
    let bytes = 0;
    const close = () => {
      if (group.length === 0) return;
      out.push({ data: enc.encode(lines.join('')), rows: group });
      lines = [];
      group = [];
      bytes = 0;
    };
    for (const row of rows) {
      const line = `${captureRecordJson(row)}\n`;
      const size = Buffer.byteLength(line);
      if (bytes + size > this.o.recordBytes) close();
      lines.push(line);
      group.push(row);
      bytes += size;
    }
    close();
    return out;
  }

  async write(rows: readonly CapturedRow[]): Promise<CaptureWriteResult> {
    let written = 0;
    let parked = 0;
    let lost = 0;
    let reason: string | undefined;
    for (const call of calls(this.pack(rows))) {
      const r = await this.putWithRetries(call);
      written += r.written;
      reason ??= r.reason;
      if (r.failed.length === 0) continue;
      const failedRows = r.failed.flatMap((p) => p.rows);
      if (r.retryable && this.o.park) {
        try {
          await this.o.park(failedRows, r.reason ?? 'unknown');
          parked += failedRows.length;
          continue;
        } catch (e) {
          reason = `${r.reason}; parking failed: ${describeError(e)}`;
        }
      }
      lost += failedRows.length;
    }
    return { written, parked, lost, ...(reason ? { reason } : {}) };
  }

  private async putWithRetries(
    records: readonly Packed[],
  ): Promise<{ written: number; failed: Packed[]; retryable: boolean; reason?: string }> {
    let pending = [...records];
    let written = 0;
    let reason: string | undefined;
    for (let attempt = 0; attempt < this.o.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 0) {
        const cap = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1));
        await this.o.sleep(this.o.random() * cap);
      }
      let out: Awaited<ReturnType<PutRecordBatchClient['putRecordBatch']>>;
      try {
        out = await this.o.client.putRecordBatch({
          DeliveryStreamName: this.o.streamName,
          Records: pending.map((p) => ({ Data: p.data })),
        });
      } catch (e) {
        // Thrown only after the SDK's own retries: retrying again would stall every request during
        // an outage. Refusals fail the same way every time.
        return {
          written,
          failed: pending,
          retryable: classifyError(e) === 'retryable',
          reason: describeError(e),
        };
      }
      const responses = out.RequestResponses ?? [];
      const again: Packed[] = [];
      pending.forEach((p, i) => {
        const res = responses[i];
        if (res?.ErrorCode || (!res?.RecordId && (out.FailedPutCount ?? 0) > 0)) {
          again.push(p);
          reason = `${res?.ErrorCode ?? 'Rejected'}: ${res?.ErrorMessage ?? 'no message'}`;
        } else written += p.rows.length;
      });
      pending = again;
    }
    return { written, failed: pending, retryable: true, ...(reason ? { reason } : {}) };
  }
}

/** Groups packed records into PutRecordBatch calls within the per-call limits. */
function* calls(records: readonly Packed[]): Generator<Packed[]> {
  let call: Packed[] = [];
  let bytes = 0;
  for (const r of records) {
    if (call.length === MAX_RECORDS || bytes + r.data.byteLength > MAX_CALL_BYTES) {
      yield call;
      call = [];
      bytes = 0;
    }
    call.push(r);
    bytes += r.data.byteLength;
  }
  if (call.length) yield call;
}
