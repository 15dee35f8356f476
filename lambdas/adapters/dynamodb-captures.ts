import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  NumberValue,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { CAPTURE_LAYOUT, CAPTURE_REQUEST_INDEX } from '#contracts';
import { newestFirst } from '#core/capture/recent.ts';
import type { CapturedPrediction, CaptureLookup } from '#core/feedback/ports.ts';
import type { CapturedRow, CaptureSink, CaptureWriteResult, RecentCaptureReader } from '#core/ports.ts';
import { classifyError, describeError } from './dependency-errors.ts';
import { TABLE_KEYS } from './tables.ts';

/**
 * Hour partition of a capture (UTC, `CAPTURE_LAYOUT`): `CAP#<model>#<yyyy-mm-ddThh>` with one
 * shard, `CAP#<model>#<yyyy-mm-ddThh>#<shard>` with several.
 */
export const capturePartition = (model: string, at: string | Date, shard = 0, shards = 1): string =>
  CAPTURE_LAYOUT.dynamoPartition(model, CAPTURE_LAYOUT.hour(at), shard, shards);

/**
 * The write shard of a request: FNV-1a of its id, mod `shards`. All rows of one request share a
 * shard (one BatchWrite touches few partitions), and request ids are random, so a busy model's
 * requests spread evenly over the shards.
 */
export function captureShard(requestId: string, shards: number): number {
  if (shards <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < requestId.length; i++) {
    h ^= requestId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** Sort key: `<iso>#<requestId>#<index>` — unique per scored row, ordered by time. */
export const captureSortKey = (row: Pick<CapturedRow, 'at' | 'requestId' | 'index'>): string =>
  `${new Date(row.at).toISOString()}#${row.requestId}#${String(row.index).padStart(4, '0')}`;

export interface DynamoCaptureSinkOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Days a capture is kept (the `ttl` attribute). Default 30. */
  readonly ttlDays?: number;
  /**
   * Write shards per model-hour. One partition key takes about 1,000 writes/s, so a model
   * captured at R rows/s needs at least R/1000 shards; readers query all of them. Changing it
   * leaves older hours under their old keys, so set it before a model gets busy. Default 1.
   */
  readonly shards?: number;
  /** BatchWrite chunks (of 25) in flight at once per `write`. Default 4. */
  readonly concurrency?: number;
  /** BatchWrite attempts per chunk, including the first. Default 6. */
  readonly maxAttempts?: number;
  /** Base delay of the exponential backoff (full jitter), ms. Default 25. */
  readonly baseDelayMs?: number;
  /** Cap of one backoff delay, ms. Default 1000. */
  readonly maxDelayMs?: number;
  /** Called when rows are given up on (after all retries), with the reason. */
  readonly onFailure?: (failed: number, reason: string) => void;
  /**
   * Durable place for rows that still fail with a retryable error after the retries (the twin's
   * spool file; a dead-letter queue in AWS). Parked rows are replayed later. Without it, or when
   * parking itself fails, such rows are counted as lost. Rows DynamoDB refuses outright are lost.
   */
  readonly park?: (rows: readonly CapturedRow[], reason: string) => Promise<void>;
  /** Injected for tests: sleeping and randomness of the backoff. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const BATCH = 25;

/** A DynamoDB number holding `v` exactly: the shortest decimal that reads back as the same double. */
const exact = (v: number): NumberValue => NumberValue.from(String(v));

/** Reads a number written by `exact` (or by older captures as a plain number) back as the same double. */
const num = (v: unknown): number => (v instanceof NumberValue ? Number(v.value) : Number(v));

/**
 * `CaptureSink` over the DynamoDB captures table. Writes in BatchWrite chunks of 25 and decides
 * whether an error is retryable *before* retrying: a refused request fails the same way every
 * time (lost, counted, the real reason logged); a thrown retryable error has already been
 * retried by the SDK, so its rows are parked at once (`park`); `UnprocessedItems`, which the
 * SDK does not retry, are retried here with exponential backoff and full jitter, then parked.
 * It reports `{ written, parked, lost, reason }`
 * instead of throwing: a capture problem must never fail the score request, but every row is
 * accounted for.
 *
 * Numbers are stored as `NumberValue`s (DynamoDB keeps 38 digits; the shortest round-trip
 * decimal of a double has at most 17), because the marshaller refuses plain numbers above
 * 2^53, and are read back the same way, so `1e16` or `3e38` survive the round trip exactly.
 */
export class DynamoCaptureSink implements CaptureSink, CaptureLookup, RecentCaptureReader {
  private readonly o: Required<Omit<DynamoCaptureSinkOptions, 'onFailure' | 'park'>> &
    Pick<DynamoCaptureSinkOptions, 'onFailure' | 'park'>;

  constructor(opts: DynamoCaptureSinkOptions) {
    this.o = {
      ttlDays: 30,
      shards: 1,
      concurrency: 4,
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
      [TABLE_KEYS.partitionKey]: capturePartition(
        row.model,
        row.at,
        captureShard(row.requestId, this.o.shards),
        this.o.shards,
      ),
      [TABLE_KEYS.sortKey]: captureSortKey(row),
      [TABLE_KEYS.ttlAttribute]: ttl,
      model: row.model,
      version: row.version,
      at: new Date(row.at).toISOString(),
      requestId: row.requestId,
      index: row.index,
      features: Object.fromEntries(Object.entries(row.features).map(([k, v]) => [k, exact(v)])),
      score: exact(row.score),
      anomaly: row.anomaly,
      ...(row.sampleRate !== undefined ? { sampleRate: exact(row.sampleRate) } : {}),
      ...(row.shadow ? { shadow: { ...row.shadow, score: exact(row.shadow.score) } } : {}),
    };
  }

  async write(rows: readonly CapturedRow[]): Promise<CaptureWriteResult> {
    const chunks: CapturedRow[][] = [];
    for (let i = 0; i < rows.length; i += BATCH) chunks.push(rows.slice(i, i + BATCH));
    // Chunks go out a few at a time: a 100-row request waits for one round trip, not four.
    const outcomes: CaptureWriteResult[] = new Array(chunks.length);
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const k = next++;
        outcomes[k] = await this.writeAndPark(chunks[k] as CapturedRow[]);
      }
    };
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(this.o.concurrency, chunks.length)) }, worker),
    );
    let written = 0;
    let parked = 0;
    let lost = 0;
    let reason: string | undefined;
    for (const r of outcomes) {
      written += r.written;
      parked += r.parked;
      lost += r.lost;
      reason ??= r.reason;
    }
    return { written, parked, lost, ...(reason ? { reason } : {}) };
  }

  /** One chunk written, and what failed after the retries parked (retryable) or counted lost. */
  private async writeAndPark(chunk: readonly CapturedRow[]): Promise<CaptureWriteResult> {
    const r = await this.writeChunk(chunk);
    let reason = r.reason;
    if (r.failed.length === 0)
      return { written: r.written, parked: 0, lost: 0, ...(reason ? { reason } : {}) };
    if (r.retryable && this.o.park) {
      try {
        await this.o.park(r.failed, r.reason ?? 'unknown');
        return { written: r.written, parked: r.failed.length, lost: 0, ...(reason ? { reason } : {}) };
      } catch (e) {
        reason = `${r.reason}; parking failed: ${describeError(e)}`;
      }
    }
    this.o.onFailure?.(r.failed.length, reason ?? 'unknown');
    return { written: r.written, parked: 0, lost: r.failed.length, reason: reason ?? 'unknown' };
  }

  private async writeChunk(
    rows: readonly CapturedRow[],
  ): Promise<{ written: number; failed: CapturedRow[]; retryable: boolean; reason?: string }> {
    // Rows by sort key, so the items DynamoDB hands back unprocessed map back to their rows.
    const byKey = new Map<string, CapturedRow>();
    let pending: { PutRequest: { Item: Record<string, unknown> } }[] = [];
    try {
      for (const row of rows) {
        byKey.set(captureSortKey(row), row);
        pending.push({ PutRequest: { Item: this.toItem(row) } });
      }
    } catch (e) {
      return { written: 0, failed: [...rows], retryable: false, reason: describeError(e) };
    }
    const rowsOf = (items: typeof pending) =>
      items.map((p) => byKey.get(String(p.PutRequest.Item[TABLE_KEYS.sortKey])) as CapturedRow);
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
        lastError = describeError(e);
        if (classifyError(e) === 'fatal') {
          // Refused as a whole: one bad row must not take 24 good ones with it, so write them one by one.
          if (pending.length > 1) return this.oneByOne(rowsOf(pending), rows.length - pending.length);
          return {
            written: rows.length - pending.length,
            failed: rowsOf(pending),
            retryable: false,
            reason: lastError,
          };
        }
        // Thrown only after the SDK's own retries (throttling, network, 5xx): retrying here too
        // would multiply the wait on every score request during an outage. Park them instead.
        break;
      }
      pending = (out.UnprocessedItems?.[this.o.tableName] ?? []) as typeof pending;
    }
    const failed = rowsOf(pending);
    return {
      written: rows.length - failed.length,
      failed,
      retryable: true,
      ...(failed.length > 0 ? { reason: lastError } : {}),
    };
  }

  /** Writes rows singly after a batch was refused, keeping the worst outcome's reason. */
  private async oneByOne(
    rows: readonly CapturedRow[],
    alreadyWritten: number,
  ): Promise<{ written: number; failed: CapturedRow[]; retryable: boolean; reason?: string }> {
    let written = alreadyWritten;
    const failed: CapturedRow[] = [];
    let retryable = true;
    let reason: string | undefined;
    for (const row of rows) {
      const r = await this.writeChunk([row]);
      written += r.written;
      if (r.failed.length) {
        failed.push(...r.failed);
        // Mixed outcomes park nothing: a row DynamoDB refuses would be replayed forever.
        retryable &&= r.retryable;
        reason ??= r.reason;
      }
    }
    return { written, failed, retryable, ...(reason ? { reason } : {}) };
  }

  /**
   * Captured rows of `model` with from ≤ at < to, oldest first, by querying every shard of
   * each hour partition the window touches (`shards` as written; see the option).
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
    const partitions: string[] = [];
    for (; hour < end; hour.setUTCHours(hour.getUTCHours() + 1)) {
      for (let shard = 0; shard < this.o.shards; shard++)
        partitions.push(capturePartition(model, hour, shard, this.o.shards));
    }
    for (const pk of partitions) {
      let key: Record<string, unknown> | undefined;
      do {
        const res = await this.o.client.send(
          new QueryCommand({
            TableName: this.o.tableName,
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
            ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#sk': TABLE_KEYS.sortKey },
            // SK starts with the ISO instant: BETWEEN from AND to keeps from ≤ at < to, since a key at
            // exactly `to` extends that string and sorts after it.
            ExpressionAttributeValues: { ':pk': pk, ':lo': lo, ':hi': hi },
            ExclusiveStartKey: key,
          }),
        );
        for (const item of res.Items ?? []) {
          if (typeof item.at !== 'string' || item.at >= hi) continue;
          out.push(captureRowOf(item));
        }
        key = res.LastEvaluatedKey;
      } while (key);
    }
    // Each shard comes back in sort-key order; merged, the window is ordered the same way.
    if (this.o.shards > 1) out.sort((a, b) => compareKeys(captureSortKey(a), captureSortKey(b)));
    return out;
  }

  /**
   * The captured rows of one request, through the `ByRequest` index. The index is eventually
   * consistent (typically well under a second): a label sent in that moment after its score is
   * recorded as `not-captured`, and the quality report then counts it without a score.
   */
  async findRequest(requestId: string): Promise<CapturedPrediction[]> {
    const out: CapturedPrediction[] = [];
    let key: Record<string, unknown> | undefined;
    do {
      const res = await this.o.client.send(
        new QueryCommand({
          TableName: this.o.tableName,
          IndexName: CAPTURE_REQUEST_INDEX.name,
          KeyConditionExpression: '#rid = :rid',
          ExpressionAttributeNames: { '#rid': CAPTURE_REQUEST_INDEX.partitionKey },
          ExpressionAttributeValues: { ':rid': requestId },
          ExclusiveStartKey: key,
        }),
      );
      for (const item of res.Items ?? []) {
        out.push({
          model: String(item.model),
          version: num(item.version),
          index: num(item.index),
          at: String(item.at),
        });
      }
      key = res.LastEvaluatedKey;
    } while (key);
    return out;
  }

  /**
   * The newest `limit` rows with from ≤ at < to, newest first: each hour partition (every shard)
   * is queried backwards (`ScanIndexForward: false`, `Limit`) from `to`, and older hours are
   * read only while fewer than `limit` rows were found.
   */
  async readRecent(
    model: string,
    opts: { readonly from: string | Date; readonly to: string | Date; readonly limit: number },
  ): Promise<CapturedRow[]> {
    const lo = new Date(opts.from).toISOString();
    const hi = new Date(opts.to).toISOString();
    return newestFirst(opts, async (hour) => {
      const found: CapturedRow[] = [];
      for (let shard = 0; shard < this.o.shards; shard++) {
        let key: Record<string, unknown> | undefined;
        let kept = 0;
        do {
          const res = await this.o.client.send(
            new QueryCommand({
              TableName: this.o.tableName,
              KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
              ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#sk': TABLE_KEYS.sortKey },
              ExpressionAttributeValues: {
                ':pk': CAPTURE_LAYOUT.dynamoPartition(model, hour, shard, this.o.shards),
                ':lo': lo,
                ':hi': hi,
              },
              ScanIndexForward: false,
              Limit: opts.limit + 1,
              ExclusiveStartKey: key,
            }),
          );
          for (const item of res.Items ?? []) {
            if (typeof item.at !== 'string' || item.at >= hi) continue;
            found.push(captureRowOf(item));
            kept++;
          }
          key = res.LastEvaluatedKey;
        } while (key && kept < opts.limit);
      }
      return found;
    });
  }
}

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const readShadow = (s: unknown): CapturedRow['shadow'] => {
  const v = s as { version: unknown; score: unknown; anomaly: unknown };
  return { version: num(v.version), score: num(v.score), anomaly: Boolean(v.anomaly) };
};

/** A capture item as `DynamoCaptureSink` writes it, back to a row (numbers exact, see `num`). */
export function captureRowOf(item: Record<string, unknown>): CapturedRow {
  return {
    model: String(item.model),
    version: num(item.version),
    at: String(item.at),
    requestId: String(item.requestId),
    index: num(item.index),
    features: Object.fromEntries(
      Object.entries((item.features ?? {}) as Record<string, unknown>).map(([k, v]) => [k, num(v)]),
    ),
    score: num(item.score),
    anomaly: Boolean(item.anomaly),
    sampleRate: item.sampleRate === undefined ? 1 : num(item.sampleRate),
    ...(item.shadow ? { shadow: readShadow(item.shadow) } : {}),
  };
}
