import * as z from 'zod/mini';
import { createDriftEvaluator, type DriftSummary } from '#app/drift.ts';
import { MODEL_NAME_PATTERN } from '#contracts';
import { lambdaHandler } from '#runtime/lambda.ts';
import {
  captureReader,
  config,
  driftReports,
  events,
  log,
  member,
  metricsSink,
  registry,
  store,
} from '#runtime/root.ts';

/** The scheduled event: EventBridge Scheduler passes the payload configured per schedule. */
const EventSchema = z.object({ model: z.optional(z.string().check(z.regex(MODEL_NAME_PATTERN))) });

const evaluate = member(() => {
  const c = config();
  return createDriftEvaluator({
    registry: registry(),
    store: store(),
    captures: captureReader(),
    reports: driftReports(),
    events: events(),
    metrics: metricsSink(),
    logger: log(),
    settings: c.driftSettings,
    windowMinutes: c.driftWindowMinutes,
    models: c.driftModels,
  });
});

/**
 * Lambda entry point (`HANDLERS.driftEvaluate`), invoked by EventBridge Scheduler with
 * `{ model }` (or `{}` for every configured model); the work is `createDriftEvaluator`.
 * @throws Error for an invalid event; DriftEvaluationError when some models failed
 */
export const handler = lambdaHandler(async (event: unknown): Promise<DriftSummary[]> => {
  const parsed = EventSchema.safeParse(event ?? {});
  if (!parsed.success) {
    throw new Error(`Invalid drift evaluation event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return evaluate()(parsed.data);
});
