/**
 * Contracts shared by the Lambda code, the local twin and the CDK app: handler entry files,
 * environment variable names, service names, table key layout, metric names, the route table
 * and the model-name pattern. `lib/` may import this file (and only this file) from `lambdas/`;
 * it imports nothing, so every layer may use it.
 */

/** Environment variables read by the handlers' config modules. */
export const ENV = {
  /** DynamoDB registry table (single-table design, DESIGN.md §6). */
  REGISTRY_TABLE: 'VIGIL_REGISTRY_TABLE',
  /** DynamoDB captures table (sampled scored rows, TTL). */
  CAPTURES_TABLE: 'VIGIL_CAPTURES_TABLE',
  /** DynamoDB drift reports table. */
  DRIFT_TABLE: 'VIGIL_DRIFT_TABLE',
  /** DynamoDB feedback table (labels of predictions, `POST /v1/feedback`). */
  FEEDBACK_TABLE: 'VIGIL_FEEDBACK_TABLE',
  /** S3 bucket holding model packages (`s3://bucket/models/<name>/<version>/`). */
  ARTIFACT_BUCKET: 'VIGIL_ARTIFACT_BUCKET',
  /** Local twin only: directory of the filesystem artifact store. */
  ARTIFACT_DIR: 'VIGIL_ARTIFACT_DIR',
  /** Local twin only: directory of staged package uploads (S3's `staging/` prefix in AWS). */
  STAGING_DIR: 'VIGIL_STAGING_DIR',
  /** Local twin only: base URL of the twin, where its upload URLs point. */
  STAGING_URL: 'VIGIL_STAGING_URL',
  /** Local twin only: DynamoDB endpoint (dynalite on loopback). */
  DYNAMODB_ENDPOINT: 'VIGIL_DYNAMODB_ENDPOINT',
  /** Pinned model version for published score-function versions (blue/green). */
  MODEL_VERSION: 'MODEL_VERSION',
  /** Registry alias served when no version is pinned (default `production`). */
  MODEL_ALIAS: 'VIGIL_MODEL_ALIAS',
  /** Share of scored rows written to the captures table, 0..1. */
  CAPTURE_SAMPLE_RATE: 'VIGIL_CAPTURE_SAMPLE_RATE',
  /** Per-model capture rates as JSON `{ "<model>": 0..1 }`, overriding `CAPTURE_SAMPLE_RATE`. */
  CAPTURE_MODEL_RATES: 'VIGIL_CAPTURE_MODEL_RATES',
  /** `false` samples anomalous rows like the rest; otherwise every anomalous row is captured. */
  CAPTURE_ANOMALIES: 'VIGIL_CAPTURE_ANOMALIES',
  /** Capture path: `dynamodb` (the captures table, sharded) or `firehose` (Firehose → S3 Parquet). */
  CAPTURE_PATH: 'VIGIL_CAPTURE_PATH',
  /** DynamoDB path: write shards per model-hour (`CAPTURE_LAYOUT.dynamoPartition`); readers query all. */
  CAPTURE_SHARDS: 'VIGIL_CAPTURE_SHARDS',
  /** Firehose path: delivery stream name. Unset on the twin, whose stand-in writes under ARTIFACT_DIR. */
  CAPTURE_STREAM: 'VIGIL_CAPTURE_STREAM',
  /** Firehose path: SQS queue URL where records the stream rejected after retries are parked. */
  CAPTURE_PARKING_QUEUE: 'VIGIL_CAPTURE_PARKING_QUEUE',
  /**
   * Local twin: spool file where capture rows that could not be written are parked durably
   * and replayed from (`FileCaptureSpool`). Unset in AWS.
   */
  CAPTURE_SPOOL_FILE: 'VIGIL_CAPTURE_SPOOL_FILE',
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
  /** Retraining settings as JSON (`RetrainSettingsSchema` in lambdas/core/retrain/config.ts). */
  RETRAIN_CONFIG: 'VIGIL_RETRAIN_CONFIG',
  /**
   * ARN of the retraining state machine: the models function starts, lists and describes its
   * executions (`POST /v1/models/{model}/retrain`, `GET …/retraining`), AcquireLock asks whether
   * a lock holder still runs. The twin's runner stands in locally.
   */
  RETRAINING_MACHINE_ARN: 'VIGIL_RETRAINING_MACHINE_ARN',
  /** Release settings as JSON (`ReleaseSettingsSchema` in lambdas/core/release/policy.ts). */
  RELEASE_CONFIG: 'VIGIL_RELEASE_CONFIG',
  /** ARN of the release state machine (the releases API starts executions of it). */
  RELEASE_STATE_MACHINE_ARN: 'VIGIL_RELEASE_STATE_MACHINE_ARN',
  /** SNS topic receiving retraining notifications. */
  NOTIFY_TOPIC_ARN: 'VIGIL_NOTIFY_TOPIC_ARN',
  /** Local twin only: JSON-lines file standing in for the SNS topic. */
  NOTIFICATIONS_FILE: 'VIGIL_NOTIFICATIONS_FILE',
  /** TrainOnEks: the Job's settings as JSON (`TrainingJobConfigSchema` in lambdas/app/retrain-job.ts). */
  TRAINING_JOB: 'VIGIL_TRAINING_JOB',
  /** TrainOnEks: cluster name, API endpoint and base64 CA of the training cluster. */
  EKS_CLUSTER_NAME: 'VIGIL_EKS_CLUSTER_NAME',
  EKS_ENDPOINT: 'VIGIL_EKS_ENDPOINT',
  EKS_CA: 'VIGIL_EKS_CA',
  /** Release machine tasks: the score function whose versions and `live` alias a release moves. */
  SCORE_FUNCTION_NAME: 'VIGIL_SCORE_FUNCTION_NAME',
  /**
   * CodeDeploy application and deployment group of the score function's `live` alias
   * (`scoreDeploymentNames`): a model release refuses to start while a deployment of it runs.
   */
  SCORE_DEPLOYMENT_APPLICATION: 'VIGIL_SCORE_DEPLOYMENT_APPLICATION',
  SCORE_DEPLOYMENT_GROUP: 'VIGIL_SCORE_DEPLOYMENT_GROUP',
  /**
   * Seconds the score path caches the model's active release record (shadow phase on/off); like
   * the alias cache, a warm instance sees a change within this time.
   */
  RELEASE_CACHE_SECONDS: 'VIGIL_RELEASE_CACHE_SECONDS',
  /** Seconds an alias → version resolution is cached per process. */
  ALIAS_CACHE_SECONDS: 'VIGIL_ALIAS_CACHE_SECONDS',
  /** Local twin only: hashed API key file standing in for the Secrets Manager secret. */
  API_KEYS_FILE: 'VIGIL_API_KEYS_FILE',
  /** Local twin only: JSON-lines file standing in for the EventBridge bus. */
  EVENTS_FILE: 'VIGIL_EVENTS_FILE',
  /** CLI and local twin: state directory (dynalite data, artifacts, keys, logs). */
  DATA_DIR: 'VIGIL_DATA_DIR',
  /** Powertools: service name on every log line and the `service` metric dimension (values: `SERVICES`). */
  SERVICE_NAME: 'POWERTOOLS_SERVICE_NAME',
  /** Powertools: EMF namespace (`METRICS_NAMESPACE`). */
  METRICS_NAMESPACE: 'POWERTOOLS_METRICS_NAMESPACE',
  /** Powertools: `false` switches the Tracer off (it is on in Lambda otherwise). */
  TRACE_ENABLED: 'POWERTOOLS_TRACE_ENABLED',
  /** Set by Lambda itself: its presence means the process runs in Lambda (the Tracer's AWS path). */
  LAMBDA_FUNCTION_NAME: 'AWS_LAMBDA_FUNCTION_NAME',
} as const;

/**
 * `POWERTOOLS_SERVICE_NAME` per entry point: the `service` dimension the alarms select on and
 * the name of each function's log group.
 */
export const SERVICES = {
  score: 'vigil-score',
  explain: 'vigil-explain',
  models: 'vigil-models',
  driftReports: 'vigil-drift-reports',
  captures: 'vigil-captures',
  driftEvaluate: 'vigil-drift-evaluate',
  authorizer: 'vigil-authorizer',
  health: 'vigil-health',
  /** The Data stack's custom resource registering the shipped default model on first deploy. */
  seedDefaultModel: 'vigil-seed-default-model',
  /** The consumer of the capture parking queue (Firehose path): parked rows back into the stream. */
  captureDrain: 'vigil-capture-drain',
  releases: 'vigil-releases',
  /** Feedback labels and the labelled quality report. */
  feedback: 'vigil-feedback',
  /** CodeDeploy's BeforeAllowTraffic hook of the score deployment: refuses while a model release holds `live`. */
  scoreDeployHook: 'vigil-score-deploy-hook',
  /** Every handler in one process on the local twin. */
  local: 'vigil-local',
  /** `vigil serve --aws` on EKS. */
  streamingScorer: 'vigil-streaming-scorer',
  /** Fallback when nothing sets the name (CLI, tests). */
  fallback: 'vigil',
} as const;

/**
 * Key layout of Vigil's DynamoDB tables (DESIGN.md §6), used by the adapters, the local twin's
 * table creation and the CDK Data stack. All tables use string `PK`/`SK`.
 *
 * - registry: `MODEL#<name>` / `META | VERSION#<000000n> | ALIAS#<name> | EVENT#<iso>#<id>`
 * - captures: `CAP#<model>#<yyyy-mm-ddThh>` / `<iso>#<requestId>#<index>`, TTL attribute `ttl`
 * - drift:    `MODEL#<name>` / `REPORT#<iso>#<id>`
 * - feedback: `FEEDBACK#<model>` / `<requestId>#<index, 4 digits>` (`FEEDBACK_KEYS`)
 */
export const TABLE_KEYS = { partitionKey: 'PK', sortKey: 'SK', ttlAttribute: 'ttl' } as const;

/**
 * The captures table's index by request (DynamoDB path): `POST /v1/feedback` finds the captured
 * rows of a request id, and so the model and version that scored it, without being told. Keys
 * only plus the fields a label needs; partition key is the capture's own `requestId` attribute.
 */
export const CAPTURE_REQUEST_INDEX = {
  name: 'ByRequest',
  partitionKey: 'requestId',
  projected: ['model', 'version', 'index', 'at'],
} as const;

/**
 * Key layout of a feedback label: one item per labelled prediction row, all labels of a model in
 * one item collection (labels are written by people, so a model's collection stays small and one
 * Query reads them for the quality report and for retraining).
 */
export const FEEDBACK_KEYS = {
  partition: (model: string): string => `FEEDBACK#${model}`,
  sort: (requestId: string, index: number): string => `${requestId}#${String(index).padStart(4, '0')}`,
} as const;

/**
 * A Step Functions execution name as Vigil's executions have them (the service's generated
 * UUIDs, the twin's `local-<time>-<id>`): at most 80 characters, none that need escaping.
 */
export const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * A model name: lower-case letters, digits, `-` and `_`, starting with a letter or digit, at most
 * 63 characters. Used in URLs, DynamoDB keys, S3 prefixes, schedule and alarm names.
 */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * A release id (`<compact ISO instant>-<8 hex>`, as `startRelease` makes them): it becomes a sort key
 * (`RELEASE#<id>`) and a path parameter, so it keeps to a safe alphabet.
 */
export const RELEASE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** An alias name (`production`, `staging`, …): a lower-case letter first, at most 32 characters. */
export const ALIAS_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/** Lambda entry files (relative to the repo root); each exports `handler`. */
export const HANDLERS = {
  score: 'lambdas/handlers/score.ts',
  explain: 'lambdas/handlers/explain.ts',
  models: 'lambdas/handlers/models.ts',
  driftReports: 'lambdas/handlers/drift-reports.ts',
  captures: 'lambdas/handlers/captures.ts',
  driftEvaluate: 'lambdas/handlers/drift-evaluate.ts',
  authorizer: 'lambdas/handlers/authorizer.ts',
  health: 'lambdas/handlers/health.ts',
  seedDefaultModel: 'lambdas/handlers/seed-default-model.ts',
  captureDrain: 'lambdas/handlers/capture-drain.ts',
  retrainAcquireLock: 'lambdas/handlers/retrain-acquire-lock.ts',
  retrainPrepareData: 'lambdas/handlers/retrain-prepare-data.ts',
  retrainValidateData: 'lambdas/handlers/retrain-validate-data.ts',
  retrainTrain: 'lambdas/handlers/retrain-train.ts',
  retrainEvaluate: 'lambdas/handlers/retrain-evaluate.ts',
  retrainGate: 'lambdas/handlers/retrain-gate.ts',
  retrainRegister: 'lambdas/handlers/retrain-register.ts',
  retrainNotify: 'lambdas/handlers/retrain-notify.ts',
  retrainSubmitJob: 'lambdas/handlers/retrain-submit-job.ts',
  retrainRequestApproval: 'lambdas/handlers/retrain-request-approval.ts',
  driftPlan: 'lambdas/handlers/drift-plan.ts',
  driftSummarize: 'lambdas/handlers/drift-summarize.ts',
  driftReduce: 'lambdas/handlers/drift-reduce.ts',
  releases: 'lambdas/handlers/releases.ts',
  releaseBegin: 'lambdas/handlers/release-begin.ts',
  releaseJudge: 'lambdas/handlers/release-judge.ts',
  releaseAdvance: 'lambdas/handlers/release-advance.ts',
  releasePromote: 'lambdas/handlers/release-promote.ts',
  releaseFinish: 'lambdas/handlers/release-finish.ts',
  releaseRollback: 'lambdas/handlers/release-rollback.ts',
  feedback: 'lambdas/handlers/feedback.ts',
  scoreDeployHook: 'lambdas/handlers/score-deploy-hook.ts',
} as const;

/**
 * Properties of the Data stack's default-model seed (a CloudFormation custom resource served by
 * `HANDLERS.seedDefaultModel`): where the shipped package zip (a CDK file asset) lies. A new
 * asset hash changes them, so CloudFormation sends an Update, which the seed also leaves alone
 * once `production` exists.
 */
export const DEFAULT_MODEL_SEED = {
  /** Resource property: bucket of the zipped package asset. */
  bucketProperty: 'PackageBucket',
  /** Resource property: object key of the zipped package asset. */
  keyProperty: 'PackageKey',
  /** Physical id of the seed: one per environment, stable, so no Update ever replaces it. */
  physicalId: 'vigil-default-model-seed',
} as const;

/**
 * The retraining state machine's task states and the handler each invokes (DESIGN.md §8).
 * The CDK definition names its states with these and sets `POWERTOOLS_SERVICE_NAME` to
 * `service`, which is how the local runner maps a task's function ARN back to a handler.
 */
export const RETRAINING_TASKS = {
  AcquireLock: { handler: 'retrainAcquireLock', service: 'vigil-retrain-acquire-lock' },
  PrepareData: { handler: 'retrainPrepareData', service: 'vigil-retrain-prepare-data' },
  ValidateData: { handler: 'retrainValidateData', service: 'vigil-retrain-validate-data' },
  TrainInLambda: { handler: 'retrainTrain', service: 'vigil-retrain-train' },
  /** Creates the Kubernetes Job; the Job reports back with the task token (`waitForTaskToken`). */
  TrainOnEks: { handler: 'retrainSubmitJob', service: 'vigil-retrain-submit-job' },
  Evaluate: { handler: 'retrainEvaluate', service: 'vigil-retrain-evaluate' },
  Gate: { handler: 'retrainGate', service: 'vigil-retrain-gate' },
  Register: { handler: 'retrainRegister', service: 'vigil-retrain-register' },
  /** Stores the task token on the candidate and announces it (`waitForTaskToken`; prod only by default). */
  WaitForApproval: { handler: 'retrainRequestApproval', service: 'vigil-retrain-request-approval' },
  Notify: { handler: 'retrainNotify', service: 'vigil-retrain-notify' },
} as const satisfies Record<string, { handler: keyof typeof HANDLERS; service: string }>;

/** A machine's task table: state name → the handler it invokes and that function's service name. */
export type TaskTable = Readonly<
  Record<string, { readonly handler: keyof typeof HANDLERS; readonly service: string }>
>;

/**
 * The drift-summary state machine's task states (issue 15, drift over big windows): `Plan` fixes
 * the window and lists DynamoDB partitions, `Summarize` is the Distributed Map child (one
 * partition → a summary in the artifact store, its URI returned), `Reduce` merges the summaries
 * into the report. Mapped to handlers through `POWERTOOLS_SERVICE_NAME`, like `RETRAINING_TASKS`.
 */
export const DRIFT_SUMMARY_TASKS = {
  Plan: { handler: 'driftPlan', service: 'vigil-drift-plan' },
  Summarize: { handler: 'driftSummarize', service: 'vigil-drift-summarize' },
  Reduce: { handler: 'driftReduce', service: 'vigil-drift-reduce' },
} as const satisfies Record<string, { handler: keyof typeof HANDLERS; service: string }>;

/** Key prefix of the distributed drift run's per-partition summaries in the artifact bucket. */
export const DRIFT_SUMMARY_PREFIX = 'drift-summaries/';

/**
 * The release state machine's task states and their handlers (DESIGN.md §8,
 * lambdas/app/release.ts), mapped back by `POWERTOOLS_SERVICE_NAME` like `RETRAINING_TASKS`.
 * `Judge` runs after the shadow phase and after every bake (two states, one function).
 */
export const RELEASE_TASKS = {
  /** Records the release (one per model), publishes green pinned to the candidate with blue's code. */
  Begin: { handler: 'releaseBegin', service: 'vigil-release-begin' },
  /** Reads both versions' readings over the window and decides (continue/promote/rollback/pause). */
  Judge: { handler: 'releaseJudge', service: 'vigil-release-judge' },
  /** Moves `live`'s weight on green to the next step's. */
  Advance: { handler: 'releaseAdvance', service: 'vigil-release-advance' },
  /** Registry `production` → candidate, conditional on the alias revision. */
  Promote: { handler: 'releasePromote', service: 'vigil-release-promote' },
  /** After the alias cache's TTL: `live` back to one unpinned version, green retired, history, SNS. */
  Finish: { handler: 'releaseFinish', service: 'vigil-release-finish' },
  /** Weight 0, green retired, registry untouched, history with the signal, SNS. */
  Rollback: { handler: 'releaseRollback', service: 'vigil-release-rollback' },
} as const satisfies Record<string, { handler: keyof typeof HANDLERS; service: string }>;

/**
 * The state machines of the CDK app, by the key the local runner and the tests use. `id` is the
 * construct id of the `AWS::StepFunctions::StateMachine`, created directly in its stack (so the
 * template's logical id is `id` + CDK's 8-character hash). `tasks` is the machine's `*_TASKS`
 * table: the local runner maps a task's function back to its handler module through the
 * function's `POWERTOOLS_SERVICE_NAME` (the `service` of a row of any machine's table).
 * Issue 10 owns `retraining`, issue 11 adds `release`, issue 15 adds `driftSummary`.
 */
export const STATE_MACHINES = {
  retraining: { id: 'Retraining', tasks: RETRAINING_TASKS },
  driftSummary: { id: 'DriftSummary', tasks: DRIFT_SUMMARY_TASKS },
  release: { id: 'Release', tasks: RELEASE_TASKS },
} as const satisfies Record<string, { id: string; tasks: TaskTable }>;

/** A key of {@link STATE_MACHINES}. */
export type StateMachineKey = keyof typeof STATE_MACHINES;

/**
 * Where captures live, shared by the writers (score path, issue 15's capture paths) and every
 * reader (drift evaluation and its Distributed Map, retraining's PrepareData, the console).
 *
 * - DynamoDB: one item collection per model-hour-shard. With `shards <= 1` the key is wave 1's
 *   `CAP#<model>#<yyyy-mm-ddThh>` unchanged, so existing captures stay readable; with N shards a
 *   row goes to shard `hash(requestId) mod N`, key `CAP#<model>#<hour>#<shard>`, and readers query
 *   all N.
 * - S3 (Firehose → Parquet with dynamic partitioning): `captures/model=<m>/date=<yyyy-mm-dd>/hour=<hh>/`,
 *   the Hive layout a Glue table's partition projection reads; records Firehose could not convert
 *   go under `captures-errors/`.
 */
export const CAPTURE_LAYOUT = {
  /**
   * UTC hour of a timestamp: `yyyy-mm-ddThh`. A string already in `toISOString()` form (what the
   * score path writes) is sliced as is: this runs once per captured row on the capture paths.
   */
  hour: (at: string | Date): string =>
    typeof at === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(at)
      ? at.slice(0, 13)
      : new Date(at).toISOString().slice(0, 13),
  dynamoPartition: (model: string, hour: string, shard = 0, shards = 1): string =>
    shards <= 1 ? `CAP#${model}#${hour}` : `CAP#${model}#${hour}#${shard}`,
  s3Prefix: 'captures/',
  s3ErrorPrefix: 'captures-errors/',
  s3Partition: (model: string, hour: string): string =>
    `captures/model=${model}/date=${hour.slice(0, 10)}/hour=${hour.slice(11, 13)}/`,
} as const;

/**
 * Columns of a capture record in the S3 path (Firehose → Parquet), in file order, shared by the
 * Glue table (CDK), the Firehose producer (which sends JSON records keyed by `name`), the twin's
 * Parquet writer and every Parquet reader. `field` is the `CapturedRow` property (core/ports.ts)
 * the column holds; `type` is the Glue/Hive type. Column names are lower snake case because Glue
 * and Athena lower-case names, and Firehose's JSON deserializer matches keys to them.
 *
 * `model` is not a column: it is the first partition key (`CAPTURE_PARTITION_KEYS`), and Athena
 * refuses a table whose partition key repeats a column; a reader takes it from the path.
 * `sample_rate` is always written (1 for rows kept regardless of sampling); `shadow` is null
 * outside a release's shadow phase.
 */
export const CAPTURE_COLUMNS = [
  { name: 'version', field: 'version', type: 'int' },
  /** ISO-8601 UTC instant (`toISOString()`): sortable as text, `from_iso8601_timestamp(at)` in Athena. */
  { name: 'at', field: 'at', type: 'string' },
  { name: 'request_id', field: 'requestId', type: 'string' },
  { name: 'row_index', field: 'index', type: 'int' },
  /** Feature values as the caller sent them, by feature name (a fixed schema cannot list a model's features). */
  { name: 'features', field: 'features', type: 'map<string,double>' },
  { name: 'score', field: 'score', type: 'double' },
  { name: 'anomaly', field: 'anomaly', type: 'boolean' },
  { name: 'sample_rate', field: 'sampleRate', type: 'double' },
  { name: 'shadow', field: 'shadow', type: 'struct<version:int,score:double,anomaly:boolean>' },
] as const;

/** Partition keys of the captures table, in path order (`CAPTURE_LAYOUT.s3Partition`); all strings. */
export const CAPTURE_PARTITION_KEYS = ['model', 'date', 'hour'] as const;

/**
 * Powertools Tracer, built by the CDK construct from `entry` into `file` beside each function's
 * bundle (not into it), and imported from there by `runtime/tracing.ts` in Lambda only.
 */
export const TRACER = { entry: 'lambdas/runtime/tracer-entry.ts', file: 'powertools-tracer.mjs' } as const;

/** Event emitted on the bus when a drift report says `drift: true`. */
export const DRIFT_EVENT = { source: 'vigil.drift', detailType: 'vigil.drift.detected' } as const;

/** Events of the retraining state machine: `vigil.retraining.<outcome>` (succeeded, gate-failed, skipped …). */
export const RETRAINING_EVENT = {
  source: 'vigil.retraining',
  detailType: (outcome: string) => `vigil.retraining.${outcome}`,
} as const;

/** Events of the release state machine: `vigil.release.<outcome>` (promoted, rolled-back, failed). */
export const RELEASE_EVENT = {
  source: 'vigil.release',
  detailType: (outcome: string) => `vigil.release.${outcome}`,
} as const;

/** Metric namespace for EMF metrics. */
export const METRICS_NAMESPACE = 'Vigil';

/**
 * EMF metric names, shared by the emitting code and the alarms/dashboard in `lib/`.
 * The capture counters spell out the no-loss invariant of every capture path:
 * `RowsScored = CapturesWritten + CapturesParked + CapturesSampledOut + CapturesLost`.
 */
export const METRICS = {
  rowsScored: 'RowsScored',
  anomalies: 'Anomalies',
  /** Genuine bugs answered 500; rolls canaries back. */
  serverErrors: 'ServerErrors',
  /** A dependency (DynamoDB, S3, Secrets Manager …) failed: answered 503; pauses, never rolls back. */
  dependencyErrors: 'DependencyErrors',
  /** Capture rows that could not be written where they belong (parked + lost). */
  captureErrors: 'CaptureErrors',
  capturesWritten: 'CapturesWritten',
  capturesParked: 'CapturesParked',
  capturesSampledOut: 'CapturesSampledOut',
  capturesLost: 'CapturesLost',
  /** Parked capture rows the drain wrote to the capture path (SQS parking queue consumer, twin spool replay). */
  capturesDrained: 'CapturesDrained',
  /** Rows of a partly written parked batch that the drain parked again as a new batch. */
  capturesReparked: 'CapturesReparked',
  drift: 'Drift',
  driftedFeatureShare: 'DriftedFeatureShare',
  driftScore: 'DriftScore',
  /** drift evaluator: captured rows in the evaluated window. */
  capturedRows: 'CapturedRows',
  /** drift evaluator: models whose evaluation failed. */
  driftEvaluationErrors: 'DriftEvaluationErrors',
  /**
   * Shadow phase of a release (blue scoring the candidate in-process; per `modelVersion` of the
   * candidate): rows, the candidate's anomalies, rows whose verdicts differ, time the candidate
   * added to the request (ms), and shadow scorings that failed (the caller never sees these).
   */
  shadowRowsScored: 'ShadowRowsScored',
  shadowAnomalies: 'ShadowAnomalies',
  shadowDisagreements: 'ShadowDisagreements',
  shadowAddedMs: 'ShadowAddedMs',
  shadowErrors: 'ShadowErrors',
  /** explain: rows explained. */
  explainedRows: 'ExplainedRows',
} as const;

/**
 * EMF dimensions. `service` is Powertools' (= `POWERTOOLS_SERVICE_NAME`), `environment` is a default
 * dimension of every metric (from `ENV.ENVIRONMENT`), so environments sharing an account never see
 * each other's signals; `model` is added per request where a metric is per model.
 */
export const METRIC_DIMENSIONS = {
  service: 'service',
  environment: 'environment',
  model: 'model',
  /**
   * One model version, valued `<model>@<version>` (`modelVersionDimension`): the score path emits
   * its counters a second time under `{ service, environment, modelVersion }`, the set a release
   * judges blue and green by. The value names the model too, so this set never repeats the `model`
   * key of the set beside it in the same EMF record, and the alarms' sets stay as they were.
   */
  modelVersion: 'modelVersion',
} as const;

/** The value of the `modelVersion` metric dimension. */
export const modelVersionDimension = (model: string, version: number): string => `${model}@${version}`;

/**
 * Lambda's own per-version metrics a release reads (namespace `AWS/Lambda`, dimensions
 * `FunctionName`, `Resource` = `<function>:<alias>`, `ExecutedVersion`); the twin's router
 * records the same names per invocation.
 */
export const LAMBDA_METRICS = {
  namespace: 'AWS/Lambda',
  invocations: 'Invocations',
  errors: 'Errors',
  duration: 'Duration',
  dimensions: { functionName: 'FunctionName', resource: 'Resource', executedVersion: 'ExecutedVersion' },
} as const;

/**
 * Key prefix of staged package uploads in the artifact bucket (presigned PUTs land here; the
 * models function reads them when registering). Model packages live under `models/`.
 */
export const STAGING_PREFIX = 'staging/';

/**
 * The one limit on a request body, bytes, applied by the handlers and by the twin's listener
 * alike. API Gateway's HTTP API accepts 10 MB, but Lambda's synchronous invocation payload is
 * 6 MB *including* the event envelope, and API Gateway base64-encodes non-text bodies (×4/3):
 * 4 MiB is the largest body that still fits in the worst case, so the smaller real limit wins
 * and the caller gets Vigil's own 413 rather than a gateway error.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The one message for a body over `MAX_BODY_BYTES`. */
export const BODY_TOO_LARGE_MESSAGE = `Request body exceeds ${MAX_BODY_BYTES} bytes (4 MiB)`;

/**
 * Seconds the score function caches a model's release record (`ENV.RELEASE_CACHE_SECONDS`; CDK
 * sets it, the runtime defaults to it). Any change of the record makes warm unpinned instances
 * drop that model's alias cache, so a release machine that moved the registry's `production` alias
 * and then wrote its record knows every warm blue serves the new model after this long (plus one
 * request in flight) — its wait before moving `live` back to one version.
 */
export const DEFAULT_RELEASE_CACHE_SECONDS = 10;

/**
 * The score function's Lambda alias that API Gateway invokes; a release routes weights on it
 * (blue = its primary version, green = an additional version).
 */
export const SCORE_LIVE_ALIAS = 'live';

/**
 * The CodeDeploy application and deployment group that shift the score function's `live` alias on a
 * code deploy, by environment: CDK names them so, and the release machine and the releases API ask
 * CodeDeploy for running deployments of exactly this group (a model release must not start during
 * one; the group's BeforeAllowTraffic hook refuses while a model release holds `live`).
 */
export const scoreDeploymentNames = (environment: string) =>
  ({
    application: `vigil-${environment}-score`,
    deploymentGroup: `vigil-${environment}-score-live`,
  }) as const;

/** Default alias that serves traffic. */
export const PRODUCTION_ALIAS = 'production';

/** Route auth levels: `public` (no key), `key` (any valid API key), `admin` (admin-scoped key). */
export type RouteAuth = 'public' | 'key' | 'admin';

/**
 * HTTP API routes (DESIGN.md §5), shared by the CDK Api stack and the local
 * twin's router so both expose exactly the same surface.
 */
export const ROUTES: ReadonlyArray<{
  readonly method: HttpMethod;
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
  // Recent captured rows (users' metric values, not model metadata): admin keys only, because a
  // score key is what clients hold, and one client must not read back every other client's rows.
  { method: 'GET', path: '/v1/models/{model}/captures', handler: 'captures', auth: 'admin' },
  // A version's package (manifest + base64 model.onnx): what `vigil/edge` scores in a browser.
  { method: 'GET', path: '/v1/models/{model}/versions/{version}/package', handler: 'models', auth: 'key' },
  // Control plane (DESIGN.md §5): registry writes, admin-scoped keys only.
  { method: 'POST', path: '/v1/models/{model}/versions', handler: 'models', auth: 'admin' },
  { method: 'POST', path: '/v1/models/{model}/uploads', handler: 'models', auth: 'admin' },
  { method: 'POST', path: '/v1/models/{model}/versions/{version}/approve', handler: 'models', auth: 'admin' },
  { method: 'POST', path: '/v1/models/{model}/versions/{version}/reject', handler: 'models', auth: 'admin' },
  { method: 'PUT', path: '/v1/models/{model}/aliases/{alias}', handler: 'models', auth: 'admin' },
  // Retraining (DESIGN.md §8): start an execution; list executions with their status and step.
  { method: 'POST', path: '/v1/models/{model}/retrain', handler: 'models', auth: 'admin' },
  { method: 'GET', path: '/v1/models/{model}/retraining', handler: 'models', auth: 'key' },
  // One execution with its steps (state entered, exited, outcome, error), same scope as the list.
  {
    method: 'GET',
    path: '/v1/models/{model}/retraining/{executionName}',
    handler: 'models',
    auth: 'key',
  },
  { method: 'DELETE', path: '/v1/models/{model}/aliases/{alias}', handler: 'models', auth: 'admin' },
  { method: 'POST', path: '/v1/models/{model}/aliases/{alias}/rollback', handler: 'models', auth: 'admin' },
  // Model releases (issue 11): start one, read them with every judgement.
  { method: 'POST', path: '/v1/models/{model}/releases', handler: 'releases', auth: 'admin' },
  { method: 'GET', path: '/v1/models/{model}/releases', handler: 'releases', auth: 'admin' },
  // Feedback labels (DESIGN.md §8): any key may label a prediction it got; quality joins them with captures.
  { method: 'POST', path: '/v1/feedback', handler: 'feedback', auth: 'key' },
  { method: 'GET', path: '/v1/models/{model}/quality', handler: 'feedback', auth: 'key' },
  // Stops a running release and rolls it back (also frees a record whose execution died).
  {
    method: 'POST',
    path: '/v1/models/{model}/releases/{releaseId}/abort',
    handler: 'releases',
    auth: 'admin',
  },
];

/** HTTP methods a route may use. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** The route key API Gateway puts in `event.routeKey` (`"POST /v1/models/{model}/versions"`). */
export const routeKey = (r: { readonly method: string; readonly path: string }): string =>
  `${r.method} ${r.path}`;

/** Content-Security-Policy of the console (the twin and CloudFront send the same one). */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // uPlot positions its cursor and legend through element.style (CSSOM), which style-src does not block.
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');
