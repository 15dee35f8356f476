import { ReduceEventSchema } from '#app/drift-plan-schema.ts';
import { distributedDrift } from '#runtime/drift-distributed.ts';
import { lambdaHandler } from '#runtime/lambda.ts';

/**
 * Step Functions task `Reduce` (`DRIFT_SUMMARY_TASKS`): `{ plan, summaries }` → the stored
 * report's summary, after the same metrics and event as the in-memory evaluator.
 * @throws Error for an invalid event
 */
export const handler = lambdaHandler(async (event: unknown) => {
  const parsed = ReduceEventSchema.safeParse(event ?? {});
  if (!parsed.success) {
    throw new Error(`Invalid drift reduce event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return distributedDrift().reduce(parsed.data);
});
