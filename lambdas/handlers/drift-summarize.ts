import { SummarizeEventSchema } from '#app/drift-plan-schema.ts';
import { distributedDrift } from '#runtime/drift-distributed.ts';
import { lambdaHandler } from '#runtime/lambda.ts';

/**
 * Step Functions task `Summarize` (the Distributed Map child, `DRIFT_SUMMARY_TASKS`):
 * `{ plan, partition }` → `{ uri, rows }`, the partition's summary written to the artifact store.
 * @throws Error for an invalid event
 */
export const handler = lambdaHandler(async (event: unknown) => {
  const parsed = SummarizeEventSchema.safeParse(event ?? {});
  if (!parsed.success) {
    throw new Error(`Invalid drift summarize event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return distributedDrift().summarize(parsed.data);
});
