import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { drainParkedCaptures, parkedBatchesOf } from '#app/drain-captures.ts';
import { lambdaHandler } from '#runtime/lambda.ts';
import { captureDrain, log } from '#runtime/root.ts';

/**
 * Consumer of the capture parking queue (SQS event source, `ReportBatchItemFailures`): writes the
 * parked rows back into the capture stream. Messages that must stay parked (the stream still
 * down, a refusal, an unreadable body) are reported as batch item failures, so SQS keeps exactly
 * those and redelivers them; after the queue's `maxReceiveCount` they move to its dead-letter queue.
 */
export const handler = lambdaHandler(async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const records = Array.isArray(event?.Records) ? event.Records : [];
  const { batches, malformed } = parkedBatchesOf(records);
  if (malformed.length) log().error('UNREADABLE PARKED CAPTURE MESSAGES', { messageIds: malformed });
  const r = await drainParkedCaptures(batches, captureDrain());
  return { batchItemFailures: [...malformed, ...r.keep].map((itemIdentifier) => ({ itemIdentifier })) };
});
