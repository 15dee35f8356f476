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
  };
  const r = RuntimeConfigSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`Invalid Vigil configuration: ${String(i.path[0])}: ${i.message}`);
  }
  return r.data;
}
