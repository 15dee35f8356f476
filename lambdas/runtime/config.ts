// zod/mini: the same validation core without the chainable API, ~14 KB instead of ~450 KB in every
// Lambda bundle (bundle size is cold-start time).
import * as z from 'zod/mini';
import { DEFAULT_RELEASE_CACHE_SECONDS, ENV, PRODUCTION_ALIAS, SERVICES } from '#contracts';
import type { EngineName } from '#core/scoring.ts';

const integer = z.refine<number>((v) => Number.isInteger(v), 'must be an integer');
/** An optional string where '' means unset. */
const optional = z.pipe(
  z.optional(z.string()),
  z.transform((v: string | undefined) => (v === '' ? undefined : v)),
);
const int = (def: number, min: number, max: number) =>
  z._default(z.coerce.number().check(integer, z.gte(min), z.lte(max)), def);

/**
 * Runtime configuration of Vigil's Lambdas, read from the environment once
 * per process and validated with zod. The CDK app sets these (names in
 * `lambdas/contracts.ts`); the local twin sets the same names.
 */
export const RuntimeConfigSchema = z.object({
  registryTable: optional,
  capturesTable: optional,
  driftTable: optional,
  feedbackTable: optional,
  dynamoEndpoint: optional,
  artifactBucket: optional,
  artifactDir: optional,
  /** Local twin: staged uploads directory and the twin's base URL (S3's staging prefix in AWS). */
  stagingDir: optional,
  stagingUrl: optional,
  modelVersion: z.optional(z.coerce.number().check(integer, z.positive())),
  modelAlias: z._default(z.string(), PRODUCTION_ALIAS),
  captureSampleRate: z._default(z.coerce.number().check(z.gte(0), z.lte(1)), 1),
  captureTtlDays: int(30, 1, 3650),
  captureSpoolFile: optional,
  /** Per-model capture rates `{ model: 0..1 }` (JSON), overriding `captureSampleRate`. */
  captureModelRates: z.pipe(
    optional,
    z.transform((v: string | undefined, ctx) => {
      if (v === undefined) return {} as Record<string, number>;
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        ctx.issues.push({ code: 'custom', message: 'must be JSON', input: v });
        return z.NEVER;
      }
      const ok =
        parsed !== null &&
        typeof parsed === 'object' &&
        !Array.isArray(parsed) &&
        Object.values(parsed).every((r) => typeof r === 'number' && r >= 0 && r <= 1);
      if (!ok) {
        ctx.issues.push({ code: 'custom', message: 'must map model names to rates in 0..1', input: v });
        return z.NEVER;
      }
      return parsed as Record<string, number>;
    }),
  ),
  /** Every anomalous row captured whatever the rate (`false` samples them like the rest). */
  captureAnomalies: z._default(z.enum(['true', 'false']), 'true'),
  /** Where captures go: the DynamoDB table or the Firehose stream (or the twin's stand-in). */
  capturePath: z._default(z.enum(['dynamodb', 'firehose']), 'dynamodb'),
  captureShards: int(1, 1, 1000),
  captureStream: optional,
  captureParkingQueue: optional,
  maxScoreRows: int(1000, 1, 100_000),
  maxExplainRows: int(100, 1, 10_000),
  engine: z._default(z.enum(['fast', 'onnx'] as const satisfies readonly EngineName[]), 'fast'),
  ortWasmDir: optional,
  apiKeysSecret: optional,
  /** Local twin: the hashed key file standing in for the secret. */
  apiKeysFile: optional,
  eventBusName: optional,
  /** Seconds an alias → version resolution is cached per process. */
  aliasCacheSeconds: int(60, 0, 86_400),
  /** Seconds the score path caches a model's active release record (is a shadow phase on?). */
  releaseCacheSeconds: int(DEFAULT_RELEASE_CACHE_SECONDS, 0, 3600),
  /** Release machine: the score function whose versions and `live` alias a release moves. */
  scoreFunctionName: optional,
  /** The CodeDeploy application and deployment group of the score function's `live` alias. */
  scoreDeploymentApplication: optional,
  scoreDeploymentGroup: optional,
  /** Deployment environment (the `environment` metric dimension). */
  environment: optional,
  /** Drift evaluator: window of captures compared with the reference, minutes. */
  driftWindowMinutes: int(60, 1, 7 * 24 * 60),
  /** Drift evaluator: models evaluated when the scheduled event names none (empty → all registered). */
  driftModels: z.pipe(
    optional,
    z.transform((v: string | undefined) =>
      (v ?? '')
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== ''),
    ),
  ),
  /** Drift evaluator: per-model drift settings (`DriftSettingsSchema` JSON: `{ default, models }`). */
  driftSettings: z.pipe(
    optional,
    z.transform((v: string | undefined, ctx) => {
      if (v === undefined) return undefined;
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.issues.push({ code: 'custom', message: 'must be JSON', input: v });
        return z.NEVER;
      }
    }),
  ),
  /** Local twin: file the drift evaluator appends events to when no event bus is configured. */
  eventsFile: optional,
  retrainingMachineArn: optional,
  /** Powertools service name of this function (`SERVICES`). */
  serviceName: z._default(z.string(), SERVICES.fallback),
  /** Running in Lambda with tracing not switched off: the Powertools Tracer is loaded. */
  tracing: z.boolean(),
});
export type RuntimeConfig = z.infer<typeof RuntimeConfigSchema>;

/** Parses the environment; throws a readable error naming the bad variable. */
export function parseRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const raw = {
    registryTable: env[ENV.REGISTRY_TABLE],
    capturesTable: env[ENV.CAPTURES_TABLE],
    driftTable: env[ENV.DRIFT_TABLE],
    feedbackTable: env[ENV.FEEDBACK_TABLE],
    dynamoEndpoint: env[ENV.DYNAMODB_ENDPOINT],
    artifactBucket: env[ENV.ARTIFACT_BUCKET],
    artifactDir: env[ENV.ARTIFACT_DIR],
    stagingDir: env[ENV.STAGING_DIR],
    stagingUrl: env[ENV.STAGING_URL],
    modelVersion: env[ENV.MODEL_VERSION] || undefined,
    modelAlias: env[ENV.MODEL_ALIAS] || undefined,
    captureSampleRate: env[ENV.CAPTURE_SAMPLE_RATE] || undefined,
    captureTtlDays: env[ENV.CAPTURE_TTL_DAYS] || undefined,
    captureSpoolFile: env[ENV.CAPTURE_SPOOL_FILE],
    captureModelRates: env[ENV.CAPTURE_MODEL_RATES],
    captureAnomalies: env[ENV.CAPTURE_ANOMALIES] || undefined,
    capturePath: env[ENV.CAPTURE_PATH] || undefined,
    captureShards: env[ENV.CAPTURE_SHARDS] || undefined,
    captureStream: env[ENV.CAPTURE_STREAM],
    captureParkingQueue: env[ENV.CAPTURE_PARKING_QUEUE],
    maxScoreRows: env[ENV.MAX_SCORE_ROWS] || undefined,
    maxExplainRows: env[ENV.MAX_EXPLAIN_ROWS] || undefined,
    engine: env[ENV.ENGINE] || undefined,
    ortWasmDir: env[ENV.ORT_WASM_DIR],
    apiKeysSecret: env[ENV.API_KEYS_SECRET],
    apiKeysFile: env[ENV.API_KEYS_FILE],
    eventBusName: env[ENV.EVENT_BUS_NAME],
    aliasCacheSeconds: env[ENV.ALIAS_CACHE_SECONDS] || undefined,
    releaseCacheSeconds: env[ENV.RELEASE_CACHE_SECONDS] || undefined,
    scoreFunctionName: env[ENV.SCORE_FUNCTION_NAME],
    scoreDeploymentApplication: env[ENV.SCORE_DEPLOYMENT_APPLICATION],
    scoreDeploymentGroup: env[ENV.SCORE_DEPLOYMENT_GROUP],
    environment: env[ENV.ENVIRONMENT],
    driftWindowMinutes: env[ENV.DRIFT_WINDOW_MINUTES] || undefined,
    driftModels: env[ENV.DRIFT_MODELS],
    driftSettings: env[ENV.DRIFT_CONFIG],
    eventsFile: env[ENV.EVENTS_FILE],
    retrainingMachineArn: env[ENV.RETRAINING_MACHINE_ARN],
    serviceName: env[ENV.SERVICE_NAME] || undefined,
    tracing: Boolean(env[ENV.LAMBDA_FUNCTION_NAME]) && env[ENV.TRACE_ENABLED] !== 'false',
  };
  const r = RuntimeConfigSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`Invalid Vigil configuration: ${String(i.path[0])}: ${i.message}`);
  }
  return r.data;
}
