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
  /**
   * Reserved concurrency of the score function; caps cost and protects the account pool. Optional:
   * every reservation comes out of the account's concurrency quota, which must keep 100 unreserved,
   * and new accounts often have far less than the environments together ask for
   * (`npm run check:quotas` before a deploy says what to request).
   */
  scoreReservedConcurrency: positiveInt.optional(),
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
    /**
     * The alarms that roll a CodeDeploy deployment back (live alias errors, 5xx, p99): period and
     * M-of-N. A canary's first minute may hold the one slow request the new version's init did not
     * cover; `datapointsToAlarm` below `evaluationPeriods` keeps one such minute from rolling back,
     * two bad minutes still do. The window (period × evaluationPeriods) must fit the canary's bake.
     */
    rollback: z
      .strictObject({
        periodSeconds: z.union([z.literal(60), z.literal(120), z.literal(300)]),
        evaluationPeriods: positiveInt,
        datapointsToAlarm: positiveInt,
      })
      .refine((r) => r.datapointsToAlarm <= r.evaluationPeriods, {
        message: 'datapointsToAlarm must not exceed evaluationPeriods',
      }),
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
  /**
   * Where captures go (README "Capture at scale"): `dynamodb` for modest volume — the captures
   * table, each model-hour split over `shards` partition keys (one key takes ~1,000 writes/s) —
   * or `firehose` for high volume — a Firehose stream converting to Parquet under the artifact
   * bucket's `captures/` prefix, partitioned by model/date/hour, with a Glue table for Athena.
   * Dynamic partitioning can only be chosen when a stream is created, so the stream is always
   * made with it.
   */
  capture: z
    .strictObject({
      path: z.enum(['dynamodb', 'firehose']),
      shards: z.number().int().min(1).max(1000),
      /** Per-model capture rates overriding `captureSampleRate`. */
      modelRates: z.record(z.string().regex(MODEL_NAME_PATTERN), z.number().min(0).max(1)).default({}),
      /** Capture every anomalous row whatever the rate. */
      anomaliesAlways: z.boolean(),
      /** Firehose buffering: seconds (0–900) and MiB (64–128: Parquet conversion needs ≥ 64). */
      bufferSeconds: z.number().int().min(0).max(900),
      bufferMb: z.number().int().min(64).max(128),
      /** `CapturesParked` (sum per alarm period) at or above which the parked-rows alarm fires. */
      parkedAlarm: positiveInt,
      /**
       * The drain of the parking queue of either path (`CaptureDrainer`): a message that cannot be
       * drained yet (stream or table down) is retried every `visibilitySeconds`, and after `maxReceiveCount`
       * receives moves to the parking queue's dead-letter queue (alarmed, 14 days from parking).
       * The visibility is at least 6 × the drain function's 60 s timeout (Lambda's advice for SQS sources).
       */
      drain: z
        .strictObject({
          visibilitySeconds: z.number().int().min(360).max(43_200),
          maxReceiveCount: z.number().int().min(1).max(1000),
        })
        .default({ visibilitySeconds: 360, maxReceiveCount: 100 }),
    })
    .default({
      path: 'dynamodb',
      shards: 1,
      modelRates: {},
      anomaliesAlways: true,
      bufferSeconds: 300,
      bufferMb: 128,
      parkedAlarm: 1,
      drain: { visibilitySeconds: 360, maxReceiveCount: 100 },
    }),
  maxScoreRows: z.number().int().min(1).max(1000),
  maxExplainRows: z.number().int().min(1).max(100),
  drift: z.strictObject({
    /** EventBridge Scheduler expression, e.g. `rate(1 hour)` or `cron(0 * * * ? *)`. */
    schedule: z.string().regex(/^(rate|cron)\(.+\)$/, 'must be rate(...) or cron(...)'),
    windowMinutes: positiveInt,
    /** Models evaluated on schedule; one schedule per model. */
    models: z.array(z.string().regex(MODEL_NAME_PATTERN)).min(1),
    /** Scheduler → Lambda delivery retries (the invoke itself; evaluation errors are below). */
    retryAttempts: z.number().int().min(0).max(185),
    maxEventAgeMinutes: z.number().int().min(1).max(1440),
    /** Lambda's own async retries of a failed evaluation before it goes to the on-failure queue. */
    evaluatorRetryAttempts: z.number().int().min(0).max(2),
    /**
     * Minutes between two evaluations, the drift alarm's period. Derived from a `rate(...)`
     * schedule; required for a `cron(...)` one (see {@link driftIntervalMinutes}).
     */
    intervalMinutes: positiveInt.optional(),
    /**
     * Drift over big windows (issue 15): the drift-summary state machine (a Distributed Map over
     * the capture partitions, lib/constructs/drift-summary-machine.ts) is always deployed; the
     * schedules start it instead of invoking the in-memory evaluator when the window is expected to
     * hold more than `maxInMemoryRows` captured rows (capture rate × rows/s × window). Where the
     * partitions are (table hour shards or Parquet objects) is `capture`'s, not a setting here.
     */
    distributed: z
      .strictObject({
        /** Captured rows one window is expected to hold. */
        expectedWindowRows: positiveInt,
        /** Above this the schedules use the state machine (the evaluator's memory holds ~1M rows of 10 features). */
        maxInMemoryRows: positiveInt,
        /** Children (partitions) summarized at once. */
        maxConcurrency: z.number().int().min(1).max(10_000),
        /** Memory of the Summarize children, MB. */
        summarizeMemoryMb: z.number().int().min(128).max(10_240),
      })
      .default({
        expectedWindowRows: 100_000,
        maxInMemoryRows: 1_000_000,
        maxConcurrency: 40,
        summarizeMemoryMb: 1024,
      }),
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
  retraining: z.strictObject({
    /** Whether a retrained version waits for a person (`waitForTaskToken`) before it counts as approved. */
    approvalRequired: z.boolean(),
    /** Hours an approval may wait; then the execution ends and the version is rejected. */
    approvalTimeoutHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 30),
    /** Above this many prepared rows training runs as a Kubernetes Job (see README "Retraining"). */
    lambdaMaxRows: positiveInt,
    /** Memory of the Lambda train and evaluate steps (the trainer holds the dataset in memory). */
    trainMemoryMb: z.number().int().min(128).max(10240),
    /** State machine timeout: also the lease of the per-model lock. */
    executionTimeoutHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 7),
    /**
     * Whether a registered (and approved) candidate is released by the release machine (the
     * `Release` step, `startExecution.sync:2`); on everywhere, the twin included (its runner runs
     * the child machine). Off ends a run at Register/approval.
     */
    releaseAfterRegister: z.boolean().default(true),
    /** Optional scheduled retraining per model: `{ model: 'rate(7 days)' }`. */
    schedules: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/), z.string().regex(/^(rate|cron)\(.+\)$/))
      .default({}),
    /** Everything else of `RetrainSettingsSchema` (lambdas/core/retrain/config.ts), validated by the steps. */
    settings: z.record(z.string(), z.unknown()).default({}),
  }),
  /** The console (web/) on S3 + CloudFront in the Api stack (lib/constructs/console-site.ts). */
  console: z
    .strictObject({
      enabled: z.boolean(),
      /** Custom domain; with `certificateArn` the distribution enforces TLSv1.2_2021. */
      domainName: z.string().min(1).optional(),
      /** ACM certificate for `domainName`; CloudFront reads certificates from us-east-1 only. */
      certificateArn: z
        .string()
        .regex(
          /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/.+$/,
          'must be an ACM certificate ARN in us-east-1',
        )
        .optional(),
    })
    .refine((c) => Boolean(c.domainName) === Boolean(c.certificateArn), {
      message: 'domainName and certificateArn go together',
    })
    .default({ enabled: true }),
  /**
   * Model releases (`ReleaseSettingsSchema` in lambdas/core/release/policy.ts, validated by the
   * release tasks and by test/infra/release-state-machine.test.ts for every environment): default
   * policy, shadow phase, judgement limits, the alias-cache wait before promotion completes.
   */
  release: z.record(z.string(), z.unknown()).default({}),
  eks: z.strictObject({
    /**
     * CPU architecture of the streaming scorer: the image is built for it and the pods select
     * nodes of it. EKS Auto Mode's built-in node pools run amd64 only.
     */
    arch: z.enum(['amd64', 'arm64']),
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
    arch: 'amd64',
    containerPort: 8080,
    cpuRequest: '250m',
    cpuLimit: '1',
    memoryRequest: '256Mi',
    memoryLimit: '512Mi',
  },
};

/** Retraining defaults; `lambdaMaxRows` from the training bench (README "Benchmarks" (EKS threshold)). */
const sharedRetraining = {
  approvalTimeoutHours: 72,
  lambdaMaxRows: 1_000_000,
  trainMemoryMb: 10240,
  executionTimeoutHours: 6,
};

/**
 * Release defaults shared by the environments: promotion waits out the score path's alias cache
 * (`ENV.ALIAS_CACHE_SECONDS`, 60 s by default) before `live` drops green.
 */
const sharedRelease = { aliasCacheSeconds: 60 };

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
      evaluatorRetryAttempts: 1,
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
      // ALL_AT_ONCE: nothing to roll back gradually; the alarms still stop a bad deployment.
      rollback: { periodSeconds: 60, evaluationPeriods: 1, datapointsToAlarm: 1 },
    },
    canary: 'ALL_AT_ONCE',
    release: { ...sharedRelease, defaultPolicy: 'canary10-15m', shadow: { enabled: false } },
    // Labelled AUC judges a candidate from 5 labels of each class on the holdout (the default).
    retraining: { ...sharedRetraining, approvalRequired: false },
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
    capture: {
      path: 'dynamodb',
      shards: 4,
      anomaliesAlways: true,
      bufferSeconds: 300,
      bufferMb: 128,
      parkedAlarm: 50,
    },
    drift: {
      schedule: 'rate(1 hour)',
      windowMinutes: 60,
      models: ['default'],
      retryAttempts: 3,
      maxEventAgeMinutes: 120,
      evaluatorRetryAttempts: 2,
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
      rollback: { periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 2 },
    },
    canary: 'LINEAR_10PERCENT_EVERY_1MINUTE',
    release: { ...sharedRelease, defaultPolicy: 'canary10-15m', shadow: { enabled: true, minutes: 5 } },
    retraining: {
      ...sharedRetraining,
      approvalRequired: false,
      settings: { gate: { minLabelsPerClass: 20 } },
    },
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
    // A fleet scored every few seconds: Firehose → Parquet (README "Capture at scale").
    capture: {
      path: 'firehose',
      shards: 1,
      anomaliesAlways: true,
      bufferSeconds: 300,
      bufferMb: 128,
      parkedAlarm: 100,
    },
    drift: {
      schedule: 'rate(1 hour)',
      windowMinutes: 60,
      models: ['default'],
      retryAttempts: 5,
      maxEventAgeMinutes: 240,
      evaluatorRetryAttempts: 2,
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
      rollback: { periodSeconds: 60, evaluationPeriods: 3, datapointsToAlarm: 2 },
    },
    canary: 'CANARY_10PERCENT_10MINUTES',
    release: {
      ...sharedRelease,
      defaultPolicy: 'canary10-15m',
      shadow: { enabled: true, minutes: 10 },
      judgement: { p99: { maxMs: 250 } },
    },
    retraining: {
      ...sharedRetraining,
      approvalRequired: true,
      schedules: { default: 'rate(7 days)' },
      // A production gate trusts labelled AUC only on enough labels of each class.
      settings: { gate: { minLabelsPerClass: 50 } },
    },
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

/** Minutes per unit of a `rate(...)` expression. */
const RATE_UNIT_MINUTES: Record<string, number> = { minute: 1, hour: 60, day: 1440 };

/**
 * Minutes between two drift evaluations: `drift.intervalMinutes` when set, else parsed from a
 * `rate(N unit)` schedule. The drift alarm's period must equal it (one datapoint per evaluation).
 * @throws Error for a `cron(...)` schedule without `intervalMinutes`, or a rate that disagrees with it.
 */
export const driftIntervalMinutes = (config: VigilConfig): number => {
  const { schedule, intervalMinutes } = config.drift;
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(schedule);
  const fromRate = rate ? Number(rate[1]) * (RATE_UNIT_MINUTES[rate[2] as string] as number) : undefined;
  if (fromRate !== undefined && intervalMinutes !== undefined && fromRate !== intervalMinutes) {
    throw new Error(
      `drift.intervalMinutes (${intervalMinutes}) disagrees with drift.schedule ${schedule} (${fromRate} min)`,
    );
  }
  const minutes = intervalMinutes ?? fromRate;
  if (minutes === undefined) {
    throw new Error(
      `drift.schedule ${schedule} is not a rate(...): set drift.intervalMinutes to its interval`,
    );
  }
  return minutes;
};

/**
 * Name of the release state machine: fixed, so the Api stack (whose releases function starts it)
 * can name its ARN without a reference to the Pipeline stack, which depends on the Api stack's
 * score function (a reference both ways would be a cycle).
 */
export const releaseStateMachineName = (config: VigilConfig): string => `vigil-${config.envName}-release`;

/** Tag value and stack-name prefix for an environment, e.g. `Vigil-prod`. */
export const stackPrefix = (config: VigilConfig): string => `Vigil-${config.envName}`;
