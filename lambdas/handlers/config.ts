import { z } from 'zod';
import { ENV, PRODUCTION_ALIAS } from '../contracts.ts';
import type { EngineName } from '../core/scoring.ts';

const optional = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));
const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

/**
 * Runtime configuration of Vigil's Lambdas, read from the environment once
 * per process and validated with zod. The CDK app sets these (names in
 * `lambdas/contracts.ts`); the local twin sets the same names.
 */
export const RuntimeConfigSchema = z.object({
  registryTable: optional,
  capturesTable: optional,
  driftTable: optional,
  dynamoEndpoint: optional,
  artifactBucket: optional,
  artifactDir: optional,
  modelVersion: z.coerce.number().int().positive().optional(),
  modelAlias: z.string().default(PRODUCTION_ALIAS),
  captureSampleRate: z.coerce.number().min(0).max(1).default(1),
  captureTtlDays: int(30, 1, 3650),
  maxScoreRows: int(1000, 1, 100_000),
  maxExplainRows: int(100, 1, 10_000),
  engine: z.enum(['fast', 'onnx']).default('fast') as z.ZodType<EngineName>,
  ortWasmDir: optional,
  apiKeysSecret: optional,
  eventBusName: optional,
  /** Seconds an alias → version resolution is cached per process. */
  aliasCacheSeconds: int(60, 0, 86_400),
  /** Drift evaluator: window of captures compared with the reference, minutes. */
  driftWindowMinutes: int(60, 1, 7 * 24 * 60),
  /** Drift evaluator: models evaluated when the scheduled event names none (empty → all registered). */
  driftModels: optional.transform((v) =>
    (v ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== ''),
  ),
  /** Drift evaluator: per-model drift settings (`DriftSettingsSchema` JSON: `{ default, models }`). */
  driftSettings: optional.transform((v, ctx) => {
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
  }),
  /** Local twin: file the drift evaluator appends events to when no event bus is configured. */
  eventsFile: optional,
});
export type RuntimeConfig = z.infer<typeof RuntimeConfigSchema>;

/** Parses the environment; throws a readable error naming the bad variable. */
export function parseRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const raw = {
    registryTable: env[ENV.REGISTRY_TABLE],
    capturesTable: env[ENV.CAPTURES_TABLE],
    driftTable: env[ENV.DRIFT_TABLE],
    dynamoEndpoint: env[ENV.DYNAMODB_ENDPOINT],
    artifactBucket: env[ENV.ARTIFACT_BUCKET],
    artifactDir: env[ENV.ARTIFACT_DIR],
    modelVersion: env[ENV.MODEL_VERSION] || undefined,
    modelAlias: env[ENV.MODEL_ALIAS] || undefined,
    captureSampleRate: env[ENV.CAPTURE_SAMPLE_RATE] || undefined,
    captureTtlDays: env[ENV.CAPTURE_TTL_DAYS] || undefined,
    maxScoreRows: env[ENV.MAX_SCORE_ROWS] || undefined,
    maxExplainRows: env[ENV.MAX_EXPLAIN_ROWS] || undefined,
    engine: env[ENV.ENGINE] || undefined,
    ortWasmDir: env[ENV.ORT_WASM_DIR],
    apiKeysSecret: env[ENV.API_KEYS_SECRET],
    eventBusName: env[ENV.EVENT_BUS_NAME],
    aliasCacheSeconds: env.VIGIL_ALIAS_CACHE_SECONDS || undefined,
    driftWindowMinutes: env[ENV.DRIFT_WINDOW_MINUTES] || undefined,
    driftModels: env[ENV.DRIFT_MODELS],
    driftSettings: env[ENV.DRIFT_CONFIG],
    eventsFile: env.VIGIL_EVENTS_FILE,
  };
  const r = RuntimeConfigSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`Invalid Vigil configuration: ${String(i.path[0])}: ${i.message}`);
  }
  return r.data;
}
