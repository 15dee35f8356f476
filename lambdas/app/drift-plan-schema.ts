import * as z from 'zod/mini';
import { MODEL_NAME_PATTERN } from '#contracts';

/** A `DriftPlan` as it comes back from Step Functions state (validated at the task's edge). */
export const DriftPlanSchema = z.object({
  model: z.string().check(z.regex(MODEL_NAME_PATTERN)),
  version: z.number().check(z.int(), z.positive()),
  artifactUri: z.string().check(z.minLength(1)),
  features: z.array(z.string()),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  runId: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,80}$/)),
  source: z.enum(['dynamodb', 's3']),
  partitions: z.array(z.string()),
  prefix: z.string(),
});

export const SummarizeEventSchema = z.object({
  plan: DriftPlanSchema,
  partition: z.string().check(z.minLength(1), z.maxLength(1024)),
});

export const ReduceEventSchema = z.object({
  plan: DriftPlanSchema,
  summaries: z.array(z.object({ uri: z.string().check(z.minLength(1)), rows: z.number() })),
});
