import { z } from 'zod';
import { MODEL_NAME_PATTERN } from '#contracts';

/**
 * Per-environment settings of the CDK app (DESIGN.md §9), chosen with `cdk deploy -c env=prod`.
 *
 * Every number that differs between environments lives here, parsed once with zod so a typo in a
 * literal below fails at synth time with the field's path instead of deploying a broken stack.
 */

/** Names accepted by `-c env=…`. */
export const ENV_NAMES = ['dev', 'staging', 'prod'] as const;
export type EnvName = (typeof ENV_NAMES)[number];

/**
 * CloudWatch Logs retention values CloudFormation accepts (a subset: the ones worth choosing).
 * Kept as literals so zod rejects e.g. 10 days, which CloudFormation would refuse at deploy.
 */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653] as const;

/** CodeDeploy predefined Lambda deployment configurations (`LambdaDeploymentConfig.*`). */
export const CANARY_POLICIES = [
  'ALL_AT_ONCE',
  'CANARY_10PERCENT_5MINUTES',
  'CANARY_10PERCENT_10MINUTES',
  'CANARY_10PERCENT_15MINUTES',
  'CANARY_10PERCENT_30MINUTES',
  'LINEAR_10PERCENT_EVERY_1MINUTE',
  'LINEAR_10PERCENT_EVERY_2MINUTES',
  'LINEAR_10PERCENT_EVERY_3MINUTES',
  'LINEAR_10PERCENT_EVERY_10MINUTES',
] as const;
export type CanaryPolicy = (typeof CANARY_POLICIES)[number];

const positiveInt = z.number().int().positive();

const lambdaSchema = z.strictObject({
  /** Memory of score and explain (CPU scales with memory; ONNX inference is CPU bound). */
  scoreMemoryMb: z.number().int().min(128).max(10240),
  explainMemoryMb: z.number().int().min(128).max(10240),
  /** Memory of the small functions (models, drift reports, health, authorizer). */
  defaultMemoryMb: z.number().int().min(128).max(10240),
  driftMemoryMb: z.number().int().min(128).max(10240),
  timeoutSeconds: z.number().int().min(1).max(900),
  driftTimeoutSeconds: z.number().int().min(1).max(900),
  /** Reserved concurrency of the score function; caps cost and protects the account pool. */
  scoreReservedConcurrency: positiveInt,
  /** Provisioned concurrency on the `live` alias; 0 = none (cold starts accepted). */
  scoreProvisionedConcurrency: z.number().int().min(0),
});

const alarmSchema = z
  .strictObject({
    /** Score function errors (sum per period) at or above which the alarm fires. */
    scoreErrors: positiveInt,
    /** p99 duration of the score function in milliseconds. */
    scoreP99LatencyMs: positiveInt,
    /** Throttled score invocations (sum per period). */
    scoreThrottles: positiveInt,
    /** `CaptureErrors` EMF metric (sum per period). */
    captureErrors: positiveInt,
    /** `Drift` EMF metric (max per period); 1 means the last report said drift. */
    drift: z.number().min(0).max(1),
    /** Expected band of the anomaly rate (anomalies / scored rows); outside it the alarm fires. */
    anomalyRateLow: z.number().min(0).max(1),
    anomalyRateHigh: z.number().min(0).max(1),
    periodMinutes: positiveInt,
    evaluationPeriods: positiveInt,
  })
  .refine((a) => a.anomalyRateLow < a.anomalyRateHigh, {
    message: 'anomalyRateLow must be below anomalyRateHigh',
  });

const configSchema = z.strictObject({
  envName: z.enum(ENV_NAMES),
  lambda: lambdaSchema,
  /** Share of scored rows written to the captures table (0..1). */
  captureSampleRate: z.number().min(0).max(1),
  captureTtlDays: positiveInt,
  maxScoreRows: z.number().int().min(1).max(1000),
  maxExplainRows: z.number().int().min(1).max(100),
  drift: z.strictObject({
    /** EventBridge Scheduler expression, e.g. `rate(1 hour)` or `cron(0 * * * ? *)`. */
    schedule: z.string().regex(/^(rate|cron)\(.+\)$/, 'must be rate(...) or cron(...)'),
    windowMinutes: positiveInt,
    /** Models evaluated on schedule; one schedule per model. */
    models: z.array(z.string().regex(MODEL_NAME_PATTERN)).min(1),
    retryAttempts: z.number().int().min(0).max(185),
    maxEventAgeMinutes: z.number().int().min(1).max(1440),
    /** Drift thresholds `{ default, models }`, validated by the evaluator (lambdas/core/drift/config.ts). */
    settings: z
      .strictObject({
        default: z.record(z.string(), z.unknown()).optional(),
        models: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
      })
      .default({}),
  }),
  alarms: alarmSchema,
  /** CodeDeploy configuration for the `live` alias of the score function. */
  canary: z.enum(CANARY_POLICIES),
  api: z.strictObject({
    throttleRateLimit: positiveInt,
    throttleBurstLimit: positiveInt,
    authorizerCacheSeconds: z.number().int().min(0).max(3600),
  }),
  logRetentionDays: z.number().refine((d) => (RETENTION_DAYS as readonly number[]).includes(d), {
    message: `must be one of ${RETENTION_DAYS.join(', ')}`,
  }),
  /** `retain` keeps tables, bucket and keys when the stack is deleted. */
  removalPolicy: z.enum(['destroy', 'retain']),
  pointInTimeRecovery: z.boolean(),
  /** Optional e-mail subscribed to the alarm and drift topics. */
  alarmEmail: z.email().optional(),
  eks: z.strictObject({
    /** Container image of the streaming scorer (built from the repo's Dockerfile). */
    image: z.string().min(1),
    containerPort: z.number().int().min(1024).max(65535),
    cpuRequest: z.string(),
    cpuLimit: z.string(),
    memoryRequest: z.string(),
    memoryLimit: z.string(),
  }),
});

/** Fully parsed settings of one environment. */
export type VigilConfig = z.infer<typeof configSchema>;

const shared = {
  maxScoreRows: 1000,
  maxExplainRows: 100,
  api: { throttleRateLimit: 50, throttleBurstLimit: 100, authorizerCacheSeconds: 300 },
  eks: {
    image: 'public.ecr.aws/vigil/streaming-scorer:latest',
    containerPort: 8080,
    cpuRequest: '250m',
    cpuLimit: '1',
    memoryRequest: '256Mi',
    memoryLimit: '512Mi',
  },
};

const RAW: Record<EnvName, unknown> = {
  dev: {
    ...shared,
    envName: 'dev',
    lambda: {
      scoreMemoryMb: 1024,
      explainMemoryMb: 1024,
      defaultMemoryMb: 256,
      driftMemoryMb: 1024,
      timeoutSeconds: 10,
      driftTimeoutSeconds: 300,
      scoreReservedConcurrency: 10,
      scoreProvisionedConcurrency: 0,
    },
    captureSampleRate: 1,
    captureTtlDays: 7,
    drift: {
      schedule: 'rate(1 hour)',
      windowMinutes: 60,
      models: ['default'],
      retryAttempts: 2,
      maxEventAgeMinutes: 60,
    },
    alarms: {
      scoreErrors: 5,
      scoreP99LatencyMs: 1000,
      scoreThrottles: 5,
      captureErrors: 10,
      drift: 1,
      anomalyRateLow: 0,
      anomalyRateHigh: 0.2,
      periodMinutes: 5,
      evaluationPeriods: 1,
    },
    canary: 'ALL_AT_ONCE',
    logRetentionDays: 7,
    removalPolicy: 'destroy',
    pointInTimeRecovery: false,
  },
  staging: {
    ...shared,
    envName: 'staging',
    api: { ...shared.api, throttleRateLimit: 100, throttleBurstLimit: 200 },
    lambda: {
      scoreMemoryMb: 1536,
      explainMemoryMb: 1536,
      defaultMemoryMb: 256,
      driftMemoryMb: 1536,
      timeoutSeconds: 10,
      driftTimeoutSeconds: 300,
      scoreReservedConcurrency: 50,
      scoreProvisionedConcurrency: 1,
    },
    captureSampleRate: 0.5,
    captureTtlDays: 30,
    drift: {
      schedule: 'rate(1 hour)',
      windowMinutes: 60,
      models: ['default'],
      retryAttempts: 3,
      maxEventAgeMinutes: 120,
    },
    alarms: {
      scoreErrors: 3,
      scoreP99LatencyMs: 500,
      scoreThrottles: 3,
      captureErrors: 5,
      drift: 1,
      anomalyRateLow: 0.001,
      anomalyRateHigh: 0.1,
      periodMinutes: 5,
      evaluationPeriods: 2,
    },
    canary: 'LINEAR_10PERCENT_EVERY_1MINUTE',
    logRetentionDays: 30,
    removalPolicy: 'destroy',
    pointInTimeRecovery: true,
  },
  prod: {
    ...shared,
    envName: 'prod',
    api: { ...shared.api, throttleRateLimit: 500, throttleBurstLimit: 1000 },
    lambda: {
      scoreMemoryMb: 2048,
      explainMemoryMb: 2048,
      defaultMemoryMb: 512,
      driftMemoryMb: 2048,
      timeoutSeconds: 10,
      driftTimeoutSeconds: 600,
      scoreReservedConcurrency: 200,
      scoreProvisionedConcurrency: 5,
    },
    captureSampleRate: 0.1,
    captureTtlDays: 90,
    drift: {
      schedule: 'rate(1 hour)',
      windowMinutes: 60,
      models: ['default'],
      retryAttempts: 5,
      maxEventAgeMinutes: 240,
    },
    alarms: {
      scoreErrors: 1,
      scoreP99LatencyMs: 250,
      scoreThrottles: 1,
      captureErrors: 1,
      drift: 1,
      anomalyRateLow: 0.001,
      anomalyRateHigh: 0.05,
      periodMinutes: 1,
      evaluationPeriods: 3,
    },
    canary: 'CANARY_10PERCENT_10MINUTES',
    logRetentionDays: 365,
    removalPolicy: 'retain',
    pointInTimeRecovery: true,
  },
};

const isEnvName = (name: string): name is EnvName => (ENV_NAMES as readonly string[]).includes(name);

/**
 * Parses the settings of one environment.
 *
 * @param envName value of `-c env=…`; `undefined` means `dev`.
 * @param overrides partial settings merged over the environment's (tests, one-off deploys).
 * @throws Error naming the valid environments when `envName` is unknown, or the zod issues when
 *   the merged settings are invalid.
 * @example
 * const config = loadConfig(app.node.tryGetContext('env'));
 */
export const loadConfig = (
  envName: string | undefined,
  overrides: Partial<VigilConfig> = {},
): VigilConfig => {
  const name = envName ?? 'dev';
  if (!isEnvName(name)) {
    throw new Error(
      `Unknown environment "${name}" (-c env=${name}). Valid environments: ${ENV_NAMES.join(', ')}.`,
    );
  }
  const parsed = configSchema.safeParse({ ...(RAW[name] as object), ...overrides });
  if (!parsed.success) {
    throw new Error(`Invalid settings for environment "${name}": ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
};

/** Tag value and stack-name prefix for an environment, e.g. `Vigil-prod`. */
export const stackPrefix = (config: VigilConfig): string => `Vigil-${config.envName}`;
