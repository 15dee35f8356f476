import * as z from 'zod/mini';
import { MODEL_NAME_PATTERN } from '#contracts';
import { distributedDrift } from '#runtime/drift-distributed.ts';
import { lambdaHandler } from '#runtime/lambda.ts';

const EventSchema = z.object({
  model: z.string().check(z.regex(MODEL_NAME_PATTERN)),
  runId: z.string().check(z.minLength(1), z.maxLength(128)),
});

/**
 * Step Functions task `Plan` of the drift-summary machine (`DRIFT_SUMMARY_TASKS`): `{ model, runId }`
 * → the run's plan (window, version, and the DynamoDB partitions or the S3 prefix to map over).
 * @throws Error for an invalid event (the state's Catch records it)
 */
export const handler = lambdaHandler(async (event: unknown) => {
  const parsed = EventSchema.safeParse(event ?? {});
  if (!parsed.success) {
    throw new Error(`Invalid drift plan event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return distributedDrift().plan(parsed.data);
});
