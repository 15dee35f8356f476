import type { SendMessageBatchCommandInput, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import type { CapturedRow } from '#core/ports.ts';

/** The one call parking makes: SQS SendMessageBatch (a lazily imported client in the root). */
export interface SendMessageBatchClient {
  sendMessageBatch(
    input: SendMessageBatchCommandInput,
  ): Promise<Pick<SendMessageBatchCommandOutput, 'Failed'>>;
}

/** A parked message's body: the rows, why they were parked and when. */
export interface ParkedCaptures {
  readonly reason: string;
  readonly parkedAt: string;
  readonly rows: readonly CapturedRow[];
}

/** SQS limits: 10 entries per SendMessageBatch, 256 KiB per message and per batch. */
const ENTRIES = 10;
const BATCH_BYTES = 256 * 1024;
/** Below the limit, leaving room for the envelope. */
const MESSAGE_BYTES = 250 * 1024;

/**
 * Parks capture rows the stream would not take in an SQS queue (KMS-encrypted, 14-day retention:
 * CDK `CaptureParkingQueue`), many rows per message. Resolves only when SQS accepted every
 * message (one retry of the entries it reports failed); otherwise throws, so the sink counts the
 * rows lost instead of parked (all of them, even if some messages got in: a replay may then see
 * a row twice, but no row is ever counted parked that is not). A replay drains the queue into the stream once it is healthy.
 */
export class SqsCaptureParking {
  constructor(
    private readonly client: SendMessageBatchClient,
    private readonly queueUrl: string,
  ) {}

  async park(rows: readonly CapturedRow[], reason: string): Promise<void> {
    const parkedAt = new Date().toISOString();
    const bodies: string[] = [];
    let group: CapturedRow[] = [];
    let bytes = 0;
    const close = () => {
      if (group.length)
        bodies.push(JSON.stringify({ reason, parkedAt, rows: group } satisfies ParkedCaptures));
      group = [];
      bytes = 200 + Buffer.byteLength(reason);
    };
    close();
    for (const row of rows) {
      const size = Buffer.byteLength(JSON.stringify(row)) + 1;
      if (bytes + size > MESSAGE_BYTES) close();
      group.push(row);
      bytes += size;
    }
    close();
    // Batches of ≤ 10 messages whose bodies together stay within the batch limit.
    let batch: string[] = [];
    let batchBytes = 0;
    for (const body of bodies) {
      const size = Buffer.byteLength(body);
      if (batch.length === ENTRIES || batchBytes + size > BATCH_BYTES) {
        await this.send(batch);
        batch = [];
        batchBytes = 0;
      }
      batch.push(body);
      batchBytes += size;
    }
    if (batch.length) await this.send(batch);
  }

  private async send(bodies: readonly string[]): Promise<void> {
    let entries = bodies.map((MessageBody, i) => ({ Id: String(i), MessageBody }));
    for (let attempt = 0; attempt < 2 && entries.length > 0; attempt++) {
      const out = await this.client.sendMessageBatch({ QueueUrl: this.queueUrl, Entries: entries });
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      entries = entries.filter((e) => failed.has(e.Id));
    }
    if (entries.length) throw new Error(`SQS refused ${entries.length} parked capture message(s)`);
  }
}
