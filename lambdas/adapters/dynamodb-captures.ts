import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CapturedRow, CaptureSink, CaptureWriteResult } from '#core/ports.ts';
import { TABLE_KEYS } from './tables.ts';

/** Hour partition of a capture: `CAP#<model>#<yyyy-mm-ddThh>` (UTC). */
export const capturePartition = (model: string, at: string | Date): string =>
  `CAP#${model}#${new Date(at).toISOString().slice(0, 13)}`;

/** Sort key: `<iso>#<requestId>#<index>` — unique per scored row, ordered by time. */
export const captureSortKey = (row: Pick<CapturedRow, 'at' | 'requestId' | 'index'>): string =>
  `${new Date(row.at).toISOString()}#${row.requestId}#${String(row.index).padStart(4, '0')}`;

export interface DynamoCaptureSinkOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Days a capture is kept (the `ttl` attribute). Default 30. */
  readonly ttlDays?: number;
  /** BatchWrite attempts per chunk, including the first. Default 6. */
  readonly maxAttempts?: number;
  /** Base delay of the exponential backoff (full jitter), ms. Default 25. */
  readonly baseDelayMs?: number;
  /** Cap of one backoff delay, ms. Default 1000. */
  readonly maxDelayMs?: number;
  /** Called when rows are given up on (after all retries), with the reason. */
  readonly onFailure?: (failed: number, reason: string) => void;
  /** Injected for tests: sleeping and randomness of the backoff. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const BATCH = 25;

/**
 * `CaptureSink` over the DynamoDB captures table. Writes in BatchWrite chunks
 * of 25, retries `UnprocessedItems` with exponential backoff and full jitter,
 * and reports `{ written, parked, lost }` instead of throwing (it parks nothing yet): a capture problem
 * must never fail the score request, but it must be counted.
 */
/** Errors that no retry can fix (the request itself is refused). */
const NON_RETRYABLE = new Set(['ValidationException', 'ResourceNotFoundException', 'AccessDeniedException']);

export class DynamoCaptureSink implements CaptureSink {
  private readonly o: Required<Omit<DynamoCaptureSinkOptions, 'onFailure'>> &
    Pick<DynamoCaptureSinkOptions, 'onFailure'>;

  constructor(opts: DynamoCaptureSinkOptions) {
    this.o = {
      ttlDays: 30,
      maxAttempts: 6,
      baseDelayMs: 25,
      maxDelayMs: 1000,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: Math.random,
      ...opts,
    };
  }

  /** Item stored for a row. */
  toItem(row: CapturedRow): Record<string, unknown> {
    const ttl = Math.floor(new Date(row.at).getTime() / 1000) + Math.round(this.o.ttlDays * 86_400);
    return {
      [TABLE_KEYS.partitionKey]: capturePartition(row.model, row.at),
      [TABLE_KEYS.sortKey]: captureSortKey(row),
      [TABLE_KEYS.ttlAttribute]: ttl,
      model: row.model,
      version: row.version,
      at: new Date(row.at).toISOString(),
      requestId: row.requestId,
      index: row.index,
      features: row.features,
      score: row.score,
      anomaly: row.anomaly,
      ...(row.sampleRate !== undefined ? { sampleRate: row.sampleRate } : {}),
      ...(row.shadow ? { shadow: row.shadow } : {}),
    };
  }

  async write(rows: readonly CapturedRow[]): Promise<CaptureWriteResult> {
    let written = 0;
    let lost = 0;
    let reason: string | undefined;
    for (let i = 0; i < rows.length; i += BATCH) {
      const chunk = rows.slice(i, i + BATCH).map((r) => ({ PutRequest: { Item: this.toItem(r) } }));
      const r = await this.writeChunk(chunk);
      written += r.written;
      lost += r.failed;
      reason ??= r.reason;
    }
    return { written, parked: 0, lost, ...(reason ? { reason } : {}) };
  }

  private async writeChunk(
    requests: { PutRequest: { Item: Record<string, unknown> } }[],
  ): Promise<{ written: number; failed: number; reason?: string }> {
    let pending = requests;
    const total = requests.length;
    let lastError = 'UnprocessedItems after retries';
    for (let attempt = 0; attempt < this.o.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 0) {
        const cap = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1));
        await this.o.sleep(this.o.random() * cap);
      }
      let out: BatchWriteCommandOutput;
      try {
        out = await this.o.client.send(
          new BatchWriteCommand({ RequestItems: { [this.o.tableName]: pending } }),
        );
      } catch (e) {
        lastError = (e as Error).name || String(e);
        // A request DynamoDB refuses as invalid fails the same way every time: report it now.
        if (NON_RETRYABLE.has(lastError)) break;
        // Throttling that exhausted the SDK's own retries, or a network error: retry the chunk.
        continue;
      }
      const left = out.UnprocessedItems?.[this.o.tableName] ?? [];
      pending = left as typeof pending;
    }
    const failed = pending.length;
    if (failed > 0) this.o.onFailure?.(failed, lastError);
    return { written: total - failed, failed, ...(failed > 0 ? { reason: lastError } : {}) };
  }

  /**
   * Captured rows of `model` with from ≤ at < to, oldest first, by querying
   * each hour partition the window touches.
   */
  async readWindow(model: string, from: string | Date, to: string | Date): Promise<CapturedRow[]> {
    const start = new Date(from);
    const end = new Date(to);
    const out: CapturedRow[] = [];
    if (!(end > start)) return out;
    const hour = new Date(start);
    hour.setUTCMinutes(0, 0, 0);
    const lo = start.toISOString();
    const hi = end.toISOString();
    for (; hour < end; hour.setUTCHours(hour.getUTCHours() + 1)) {
      let key: Record<string, unknown> | undefined;
      do {
        const res = await this.o.client.send(
          new QueryCommand({
            TableName: this.o.tableName,
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
            ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#sk': TABLE_KEYS.sortKey },
            // SK starts with the ISO instant: BETWEEN from AND to keeps from ≤ at < to, since a key at
            // exactly `to` extends that string and sorts after it.
            ExpressionAttributeValues: { ':pk': capturePartition(model, hour), ':lo': lo, ':hi': hi },
            ExclusiveStartKey: key,
          }),
        );
        for (const item of res.Items ?? []) {
          if (typeof item.at !== 'string' || item.at >= hi) continue;
          out.push({
            model: String(item.model),
            version: Number(item.version),
            at: item.at,
            requestId: String(item.requestId),
            index: Number(item.index),
            features: item.features as Record<string, number>,
            score: Number(item.score),
            anomaly: Boolean(item.anomaly),
            sampleRate: typeof item.sampleRate === 'number' ? item.sampleRate : 1,
            ...(item.shadow ? { shadow: item.shadow as CapturedRow['shadow'] } : {}),
          });
        }
        key = res.LastEvaluatedKey;
      } while (key);
    }
    return out;
  }
}
