import { z } from 'zod';
import { METRICS } from '#contracts';
import type { CapturedRow, CaptureSink, Logger, MetricsSink } from '#core/ports.ts';

/** A parked message's body as `SqsCaptureParking` writes it; rows keep any further fields (sampleRate, shadow). */
const ParkedMessageSchema = z.object({
  reason: z.string(),
  parkedAt: z.string(),
  rows: z.array(
    z.looseObject({
      model: z.string().min(1),
      version: z.number(),
      at: z.string().min(1),
      requestId: z.string(),
      index: z.number(),
      features: z.record(z.string(), z.number()),
      score: z.number(),
      anomaly: z.boolean(),
    }),
  ),
});

/**
 * Parked batches from SQS messages (`{ messageId, body }`). A body that is not a parked-captures
 * message cannot be drained: it is returned in `malformed`, to be kept (and after the queue's
 * `maxReceiveCount` moved to its dead-letter queue), never dropped.
 */
export function parkedBatchesOf(messages: readonly { readonly messageId: string; readonly body: string }[]): {
  batches: ParkedBatch[];
  malformed: string[];
} {
  const batches: ParkedBatch[] = [];
  const malformed: string[] = [];
  for (const m of messages) {
    let json: unknown;
    try {
      json = JSON.parse(m.body);
    } catch {
      malformed.push(m.messageId);
      continue;
    }
    const parsed = ParkedMessageSchema.safeParse(json);
    if (parsed.success) batches.push({ id: m.messageId, rows: parsed.data.rows as CapturedRow[] });
    else malformed.push(m.messageId);
  }
  return { batches, malformed };
}

/** One unit of parked rows that is acknowledged or kept as a whole: an SQS message, the twin's spool file. */
export interface ParkedBatch {
  /** The unit's id (an SQS message id); reported back when the batch must stay parked. */
  readonly id: string;
  readonly rows: readonly CapturedRow[];
}

/** What a drain did with the batches it was given. */
export interface DrainResult {
  /** Batches that must stay where they are (SQS: `batchItemFailures`, redelivered after their visibility timeout). */
  readonly keep: readonly string[];
  /** Parked rows now written to the capture path. */
  readonly drained: number;
  /** Rows of acknowledged batches the path still rejected, parked again as new batches. */
  readonly reparked: number;
  /** Rows in kept batches. */
  readonly kept: number;
  /** Why the first row was not written, for the log. */
  readonly reason?: string;
}

export interface DrainDeps {
  /**
   * The capture sink, built over the given `park`: rows it still cannot write after its own
   * retries go there instead of to the parking place, so the drain decides what happens to them.
   */
  readonly openSink: (park: (rows: readonly CapturedRow[], reason: string) => Promise<void>) => CaptureSink;
  /** The durable parking place (SQS queue, the twin's spool): where a partly written batch's rest goes. */
  readonly repark: (rows: readonly CapturedRow[], reason: string) => Promise<void>;
  readonly metrics: MetricsSink;
  readonly logger: Logger;
}

/**
 * Drains parked capture rows back into the capture path (the SQS parking queue's consumer in AWS,
 * the spool replay on the twin). Per batch, in order:
 *
 * - every row written → acknowledged;
 * - nothing written (the path is still down) → kept, untouched: SQS redelivers it after its
 *   visibility timeout, so an outage costs one retry per timeout instead of a hot loop;
 * - partly written, the rest still retryable → the rest parked again as a new batch, the batch
 *   acknowledged (no row is written twice); if that parking fails, the batch is kept;
 * - any row refused outright (permissions, a missing stream), or the sink threw → kept: after
 *   the queue's `maxReceiveCount` it moves to the dead-letter queue (alarmed). Rows of such a
 *   batch that did get written may be written again on its redelivery; none is lost.
 *
 * Emits `CapturesDrained` (rows written from parking) and `CapturesReparked` per model, so the
 * invariant of the score path extends to the drain: a parked row ends written or still parked.
 */
export async function drainParkedCaptures(
  batches: readonly ParkedBatch[],
  deps: DrainDeps,
): Promise<DrainResult> {
  const keep: string[] = [];
  const drainedBy = new Map<string, number>();
  const reparkedBy = new Map<string, number>();
  let drained = 0;
  let reparked = 0;
  let kept = 0;
  let reason: string | undefined;
  const add = (m: Map<string, number>, rows: readonly CapturedRow[]) => {
    for (const r of rows) m.set(r.model, (m.get(r.model) ?? 0) + 1);
  };
  for (const batch of batches) {
    if (batch.rows.length === 0) continue;
    const failed: CapturedRow[] = [];
    let failedReason: string | undefined;
    const sink = deps.openSink(async (rows, why) => {
      failed.push(...rows);
      failedReason ??= why;
    });
    let written: number;
    let lost: number;
    try {
      const r = await sink.write(batch.rows);
      written = r.written;
      lost = r.lost;
      failedReason ??= r.reason;
    } catch (e) {
      written = 0;
      lost = batch.rows.length;
      failedReason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    reason ??= failedReason;
    if (lost > 0 || written === 0) {
      keep.push(batch.id);
      kept += batch.rows.length;
      if (lost > 0) {
        deps.logger.error('PARKED CAPTURES REFUSED ON DRAIN', {
          batch: batch.id,
          rows: batch.rows.length,
          refused: lost,
          reason: failedReason,
        });
      }
      continue;
    }
    if (failed.length > 0) {
      try {
        await deps.repark(failed, failedReason ?? 'unknown');
      } catch (e) {
        keep.push(batch.id);
        kept += batch.rows.length;
        deps.logger.error('PARKED CAPTURES COULD NOT BE PARKED AGAIN', {
          batch: batch.id,
          rows: failed.length,
          reason: e instanceof Error ? e.message : String(e),
        });
        continue;
      }
      reparked += failed.length;
      add(reparkedBy, failed);
    }
    const failedSet = new Set(failed);
    const done = batch.rows.filter((r) => !failedSet.has(r));
    drained += done.length;
    add(drainedBy, done);
  }
  for (const model of new Set([...drainedBy.keys(), ...reparkedBy.keys()])) {
    deps.metrics.emit(
      [
        { name: METRICS.capturesDrained, value: drainedBy.get(model) ?? 0 },
        { name: METRICS.capturesReparked, value: reparkedBy.get(model) ?? 0 },
      ],
      { model },
    );
  }
  if (drained + reparked > 0 || kept > 0) {
    deps.logger.info('parked captures drained', { drained, reparked, kept, batches: batches.length });
  }
  return { keep, drained, reparked, kept, ...(reason ? { reason } : {}) };
}
