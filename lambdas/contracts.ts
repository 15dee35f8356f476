/**
 * Contracts shared by the Lambda code and the CDK app: handler entry files,
 * environment variable names, table key layout. `lib/` may import this file
 * (and only this file) from `lambdas/`.
 */

/** Environment variables read by the handlers' config modules. */
export const ENV = {
  /** DynamoDB registry table (single-table design, DESIGN.md §6). */
  REGISTRY_TABLE: 'VIGIL_REGISTRY_TABLE',
  /** DynamoDB captures table (sampled scored rows, TTL). */
  CAPTURES_TABLE: 'VIGIL_CAPTURES_TABLE',
  /** DynamoDB drift reports table. */
  DRIFT_TABLE: 'VIGIL_DRIFT_TABLE',
  /** S3 bucket holding model packages (`s3://bucket/models/<name>/<version>/`). */
  ARTIFACT_BUCKET: 'VIGIL_ARTIFACT_BUCKET',
  /** Local twin only: directory of the filesystem artifact store. */
  ARTIFACT_DIR: 'VIGIL_ARTIFACT_DIR',
  /** Local twin only: DynamoDB endpoint (dynalite on loopback). */
  DYNAMODB_ENDPOINT: 'VIGIL_DYNAMODB_ENDPOINT',
  /** Pinned model version for published score-function versions (blue/green). */
  MODEL_VERSION: 'MODEL_VERSION',
  /** Registry alias served when no version is pinned (default `production`). */
  MODEL_ALIAS: 'VIGIL_MODEL_ALIAS',
  /** Share of scored rows written to the captures table, 0..1. */
  CAPTURE_SAMPLE_RATE: 'VIGIL_CAPTURE_SAMPLE_RATE',
  /** Days a capture is kept (TTL). */
  CAPTURE_TTL_DAYS: 'VIGIL_CAPTURE_TTL_DAYS',
  /** Maximum rows per score request. */
  MAX_SCORE_ROWS: 'VIGIL_MAX_SCORE_ROWS',
  /** Maximum rows per explain request. */
  MAX_EXPLAIN_ROWS: 'VIGIL_MAX_EXPLAIN_ROWS',
  /** Scoring engine: `fast` (tree fast path) or `onnx` (onnxruntime-web). */
  ENGINE: 'VIGIL_ENGINE',
  /** Directory holding onnxruntime-web's wasm files (the Lambda layer mounts them under /opt). */
  ORT_WASM_DIR: 'VIGIL_ORT_WASM_DIR',
  /** Secrets Manager secret id holding the hashed API keys. */
  API_KEYS_SECRET: 'VIGIL_API_KEYS_SECRET',
  /** EventBridge bus receiving `vigil.drift.detected`. */
  EVENT_BUS_NAME: 'VIGIL_EVENT_BUS_NAME',
  /** Comma-separated model names the drift evaluator covers when the event names none. */
  DRIFT_MODELS: 'VIGIL_DRIFT_MODELS',
  /** Drift evaluation window in minutes. */
  DRIFT_WINDOW_MINUTES: 'VIGIL_DRIFT_WINDOW_MINUTES',
  /** Drift thresholds as JSON `{ default: {...}, models: { name: {...} } }` (lambdas/core/drift/config.ts). */
  DRIFT_CONFIG: 'VIGIL_DRIFT_CONFIG',
  /**
   * Deployment environment (`dev`, `staging`, `prod`), set by CDK on every function and pod. Every
   * EMF metric carries it as the `environment` dimension, so environments sharing an account never
   * count towards each other's alarms.
   */
  ENVIRONMENT: 'VIGIL_ENVIRONMENT',
  /** Comma-separated model names the score function loads during init (warmed by provisioned concurrency). */
  PRELOAD_MODELS: 'VIGIL_PRELOAD_MODELS',
} as const;

/** Lambda entry files (relative to the repo root); each exports `handler`. */
export const HANDLERS = {
  score: 'lambdas/handlers/score.ts',
  explain: 'lambdas/handlers/explain.ts',
  models: 'lambdas/handlers/models.ts',
  driftReports: 'lambdas/handlers/drift-reports.ts',
  driftEvaluate: 'lambdas/handlers/drift-evaluate.ts',
  authorizer: 'lambdas/handlers/authorizer.ts',
  health: 'lambdas/handlers/health.ts',
} as const;

/** Event emitted on the bus when a drift report says `drift: true`. */
export const DRIFT_EVENT = { source: 'vigil.drift', detailType: 'vigil.drift.detected' } as const;

/** Metric namespace for EMF metrics. */
export const METRICS_NAMESPACE = 'Vigil';

/**
 * EMF dimensions. `service` is Powertools' (= `POWERTOOLS_SERVICE_NAME`), `environment` is a default
 * dimension of every metric (from `ENV.ENVIRONMENT`), `model` is added per request where per model.
 */
export const METRIC_DIMENSIONS = { service: 'service', environment: 'environment', model: 'model' } as const;

/** EMF metric names the handlers emit and the alarms and dashboard read. */
export const METRIC_NAMES = {
  /** score: failed writes to the captures table (count). Dimensions: service, environment. */
  captureErrors: 'CaptureErrors',
  /** every HTTP handler: genuine 500s (count). Dimensions: service, environment. */
  serverErrors: 'ServerErrors',
  /** score: rows scored (count). Dimensions: service, environment, model. */
  rowsScored: 'RowsScored',
  /** score: rows over the model threshold (count). Dimensions: service, environment, model. */
  anomalies: 'Anomalies',
  /** drift evaluator: 1 when the report says drift, else 0. Dimensions: service, environment, model. */
  drift: 'Drift',
  /** drift evaluator: share of drifted features, 0..1. Dimensions: service, environment, model. */
  driftedShare: 'DriftedFeatureShare',
  /** drift evaluator: a model whose evaluation threw (count). Dimensions: service, environment, model. */
  driftEvaluationErrors: 'DriftEvaluationErrors',
} as const;

/** Default alias that serves traffic. */
export const PRODUCTION_ALIAS = 'production';

/** Route auth levels: `public` (no key), `key` (any valid API key), `admin` (admin-scoped key). */
export type RouteAuth = 'public' | 'key' | 'admin';

/**
 * HTTP API routes (DESIGN.md §5), shared by the CDK Api stack and the local
 * twin's router so both expose exactly the same surface.
 */
export const ROUTES: ReadonlyArray<{
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly handler: keyof typeof HANDLERS;
  readonly auth: RouteAuth;
}> = [
  { method: 'GET', path: '/health', handler: 'health', auth: 'public' },
  { method: 'POST', path: '/v1/models/{model}/score', handler: 'score', auth: 'key' },
  { method: 'POST', path: '/v1/models/{model}/explain', handler: 'explain', auth: 'key' },
  { method: 'GET', path: '/v1/models', handler: 'models', auth: 'key' },
  { method: 'GET', path: '/v1/models/{model}/versions', handler: 'models', auth: 'key' },
  { method: 'GET', path: '/v1/models/{model}/history', handler: 'models', auth: 'key' },
  { method: 'GET', path: '/v1/models/{model}/drift', handler: 'driftReports', auth: 'key' },
];
