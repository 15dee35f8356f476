import { AsyncLocalStorage } from 'node:async_hooks';
import type { DeploymentStatus } from '@aws-sdk/client-codedeploy';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { S3ArtifactStore } from '#adapters/artifact-store-s3.ts';
import { FileCaptureSpool, type SpoolReplay } from '#adapters/capture-spool-fs.ts';
import { CloudWatchReleaseMetrics } from '#adapters/cloudwatch-release-metrics.ts';
import {
  type CodeDeployApi,
  CodeDeployLifecycleHooks,
  CodeDeployScoreDeployments,
} from '#adapters/codedeploy-deployments.ts';
import { describeError } from '#adapters/dependency-errors.ts';
import { DynamoCaptureSink } from '#adapters/dynamodb-captures.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoDriftReportStore } from '#adapters/dynamodb-drift-reports.ts';
import { DynamoFeedbackStore } from '#adapters/dynamodb-feedback.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { DynamoReleaseStore } from '#adapters/dynamodb-releases.ts';
import {
  EventBridgePublisher,
  FileEventPublisher,
  MemoryEventPublisher,
  type PutEventsClient,
} from '#adapters/events.ts';
import { FirehoseCaptureSink, type PutRecordBatchClient } from '#adapters/firehose-captures.ts';
import { LocalFirehose } from '#adapters/firehose-local.ts';
import { LambdaScoreFunctionVersions } from '#adapters/lambda-versions.ts';
import { logger, metrics } from '#adapters/observability.ts';
import {
  FsCaptureObjects,
  ParquetCaptureReader,
  S3CaptureObjects,
} from '#adapters/parquet-captures-reader.ts';
import { s3Client } from '#adapters/s3-client.ts';
import { FileKeys, SecretsManagerKeys } from '#adapters/secrets.ts';
import { type SendMessageBatchClient, SqsCaptureParking } from '#adapters/sqs-capture-parking.ts';
import { FsPackageStaging } from '#adapters/staging-fs.ts';
import { S3PackageStaging } from '#adapters/staging-s3.ts';
import { type DrainDeps, drainParkedCaptures } from '#app/drain-captures.ts';
import { ModelCache } from '#app/serve.ts';
import { ENV } from '#contracts';
import type { SecretSource } from '#core/auth.ts';
import type { CaptureLookup, FeedbackStore } from '#core/feedback/ports.ts';
import type {
  ArtifactStore,
  CapturedRow,
  CaptureReader,
  CaptureSink,
  DriftReportStore,
  EventPublisher,
  Logger,
  MetricsSink,
  PackageStaging,
  RecentCaptureReader,
} from '#core/ports.ts';
import type { ModelRegistry } from '#core/registry/index.ts';
import type {
  CodeDeployments,
  LifecycleHookReporter,
  ReleaseMetricsReader,
  ReleaseStore,
  ScoreFunctionVersions,
} from '#core/release/ports.ts';
import type { ReleaseExecutionStopper, ReleaseExecutions } from '#core/release/starter.ts';
import { parseRuntimeConfig, type RuntimeConfig } from './config.ts';

/**
 * The process's composition root: configuration parsed once, and every adapter built on first
 * use and then kept for the life of the process (until `resetRoot()`, the twin's restarts).
 * Lambda, the local twin and `vigil serve --aws` all go through here; only the environment
 * differs (DynamoDB endpoint, S3 bucket vs artifact directory, secret vs key file, bus vs file).
 *
 * Members are separate exported accessors, not one object, so that a bundle holds only what its
 * handler uses: esbuild drops the accessors (`@__PURE__`) and adapter modules a handler never
 * reaches (package.json `sideEffects: false`), and with them their SDK imports. The score bundle
 * therefore neither constructs nor imports the Secrets Manager or EventBridge clients, and the
 * authorizer carries no DynamoDB, S3 or scoring code.
 */
interface Process {
  readonly config: RuntimeConfig;
  readonly members: Map<symbol, unknown>;
}

let current: Process | undefined;
/** A root other than the process's own, for the code running inside `RootScope.run` (the twin's function versions). */
const scoped = new AsyncLocalStorage<Process>();
const proc = (): Process => {
  const inScope = scoped.getStore();
  if (inScope) return inScope;
  current ??= { config: parseRuntimeConfig(), members: new Map() };
  return current;
};

/** A separate composition root: its own configuration and its own members (clients, model cache). */
export interface RootScope {
  /** Runs `fn` (and everything it awaits) against this root instead of the process's. */
  run<T>(fn: () => T): T;
}

/**
 * A root over the process environment with `overrides` on top, whose members are built and kept
 * apart from the process's: what the local twin needs to run several *versions* of one function in
 * one process, each with its own environment (a pinned `MODEL_VERSION`) and its own module state
 * (a candidate never shares blue's model cache), as Lambda runs each version in its own sandboxes.
 * Lambda itself never creates one.
 * @throws Error naming the bad variable, on the first `run`
 */
export function scopedRoot(overrides: Readonly<Record<string, string | undefined>>): RootScope {
  let p: Process | undefined;
  return {
    run(fn) {
      p ??= { config: parseRuntimeConfig({ ...process.env, ...overrides }), members: new Map() };
      return scoped.run(p, fn);
    },
  };
}

/**
 * A member of the root: built on first use from the current environment, then reused. A build
 * that throws (missing configuration) is not kept: the next call tries again.
 * @example const core = member(() => scoreRows({ models: models(), ... }));
 */
export function member<T>(build: () => T): () => T {
  const key = Symbol();
  return () => {
    const p = proc();
    if (!p.members.has(key)) p.members.set(key, build());
    return p.members.get(key) as T;
  };
}

const required = (value: string | undefined, name: string): string => {
  if (!value) throw new Error(`Environment variable ${name} is required`);
  return value;
};

/** The typed configuration (`runtime/config.ts`), parsed on first use. @throws Error naming the bad variable */
export const config = (): RuntimeConfig => proc().config;

/** Structured logger (Powertools). */
export const log = (): Logger => logger;

/** EMF metrics (Powertools), one record per `emit`. */
export const metricsSink = (): MetricsSink => metrics;

const dynamo = /* @__PURE__ */ member(() => documentClient(config().dynamoEndpoint));

/** One S3 client for the artifact store and the staging area (presign-safe settings). */
const s3 = /* @__PURE__ */ member(() => s3Client());

/** The model registry. @throws Error when `VIGIL_REGISTRY_TABLE` is unset */
export const registry = /* @__PURE__ */ member(
  (): ModelRegistry =>
    new DynamoRegistry({
      client: dynamo(),
      tableName: required(config().registryTable, ENV.REGISTRY_TABLE),
      onWarning: (message, details) => logger.warn(message, details),
    }),
);

/**
 * Model releases, beside the registry's items in its table (one non-terminal release per model).
 * @throws Error when `VIGIL_REGISTRY_TABLE` is unset
 */
export const releases = /* @__PURE__ */ member(
  (): ReleaseStore =>
    new DynamoReleaseStore({
      client: dynamo(),
      tableName: required(config().registryTable, ENV.REGISTRY_TABLE),
    }),
);

/**
 * What the local twin stands in for AWS with, inside this process: its simulated versions of the
 * score function and its metrics store. Lambda never sets it; the twin sets it at start.
 */
export interface LocalPlatform {
  readonly scoreFunctionVersions: ScoreFunctionVersions;
  readonly releaseMetrics: ReleaseMetricsReader;
  /** What the twin knows of code deployments of its score function (it runs no CodeDeploy). */
  readonly codeDeployments: CodeDeployments;
  /** Starts and stops release executions (the twin's runner); absent until the twin has one. */
  readonly releaseExecutions?: ReleaseExecutions & ReleaseExecutionStopper;
}
let localPlatform: LocalPlatform | undefined;

/** The twin installs (and on close removes) its stand-ins for the Lambda and CloudWatch APIs. */
export function useLocalPlatform(platform: LocalPlatform | undefined): void {
  localPlatform = platform;
}

const lambdaVersions = /* @__PURE__ */ member(
  (): ScoreFunctionVersions =>
    new LambdaScoreFunctionVersions({
      client: lazyClient(() =>
        import('@aws-sdk/client-lambda').then((m) => new m.LambdaClient({ maxAttempts: 5 })),
      ),
      functionName: required(config().scoreFunctionName, ENV.SCORE_FUNCTION_NAME),
    }),
);

/**
 * The score function's versions and `live` alias: the Lambda API, or the twin's simulation.
 * @throws Error when `VIGIL_SCORE_FUNCTION_NAME` is unset outside the twin
 */
export const scoreFunctionVersions = (): ScoreFunctionVersions =>
  localPlatform?.scoreFunctionVersions ?? lambdaVersions();

const cloudWatchReleaseMetrics = /* @__PURE__ */ member((): ReleaseMetricsReader => {
  const c = config();
  return new CloudWatchReleaseMetrics({
    client: lazyClient(() =>
      import('@aws-sdk/client-cloudwatch').then((m) => new m.CloudWatchClient({ maxAttempts: 5 })),
    ),
    functionName: required(c.scoreFunctionName, ENV.SCORE_FUNCTION_NAME),
    ...(c.environment ? { environment: c.environment } : {}),
  });
});

/**
 * Per-version readings of a release: CloudWatch, or the twin's metrics store.
 * @throws Error when `VIGIL_SCORE_FUNCTION_NAME` is unset outside the twin
 */
/** The twin's release executions, when it installed them (AWS: the handler's Step Functions client). */
export const localReleaseExecutions = (): (ReleaseExecutions & ReleaseExecutionStopper) | undefined =>
  localPlatform?.releaseExecutions;

export const releaseMetrics = (): ReleaseMetricsReader =>
  localPlatform?.releaseMetrics ?? cloudWatchReleaseMetrics();

const codeDeploy = /* @__PURE__ */ member((): CodeDeployScoreDeployments => {
  const c = config();
  return new CodeDeployScoreDeployments({
    api: lazyCodeDeploy(),
    applicationName: required(c.scoreDeploymentApplication, ENV.SCORE_DEPLOYMENT_APPLICATION),
    deploymentGroupName: required(c.scoreDeploymentGroup, ENV.SCORE_DEPLOYMENT_GROUP),
  });
});

/**
 * Code deployments of the score function's `live` alias: CodeDeploy's deployment group, or what
 * the twin says of its own (it has none).
 * @throws Error when `VIGIL_SCORE_DEPLOYMENT_APPLICATION`/`_GROUP` are unset outside the twin
 */
export const codeDeployments = (): CodeDeployments => localPlatform?.codeDeployments ?? codeDeploy();

/** Answers CodeDeploy's lifecycle hooks of the score deployment group (the pre-traffic hook). */
export const lifecycleHooks = /* @__PURE__ */ member(
  (): LifecycleHookReporter => new CodeDeployLifecycleHooks(lazyCodeDeploy()),
);

/** Model packages: S3 in AWS, a directory on the twin. @throws Error when neither is configured */
export const store = /* @__PURE__ */ member((): ArtifactStore => {
  const c = config();
  if (c.artifactBucket) return new S3ArtifactStore({ client: s3(), bucket: c.artifactBucket });
  if (c.artifactDir) return new FsArtifactStore({ root: c.artifactDir });
  throw new Error(`Either ${ENV.ARTIFACT_BUCKET} or ${ENV.ARTIFACT_DIR} is required`);
});

/** Ready-to-serve models over `registry()` and `store()`. */
export const models = /* @__PURE__ */ member(() => {
  const c = config();
  return new ModelCache({
    resolver: registry(),
    store: store(),
    engine: c.engine,
    wasmDir: c.ortWasmDir,
    aliasTtlMs: c.aliasCacheSeconds * 1000,
  });
});

/** Where capture rows that could not be written wait for a replay (the twin's spool file). */
export const captureSpool = /* @__PURE__ */ member((): FileCaptureSpool | undefined => {
  const file = config().captureSpoolFile;
  return file ? new FileCaptureSpool(file) : undefined;
});

/** The DynamoDB capture sink, parking what it gives up on like the stream (`captureParking`). */
const captureTable = /* @__PURE__ */ member(() => dynamoSink(captureParking()));

/**
 * The twin's stand-in for the capture stream, writing Parquet under the artifact directory; also
 * what the twin flushes on stop. Undefined unless the Firehose path runs without a stream name.
 */
export const localCaptureStream = /* @__PURE__ */ member((): LocalFirehose | undefined => {
  const c = config();
  if (c.capturePath !== 'firehose' || c.captureStream || !c.artifactDir) return undefined;
  return new LocalFirehose({ root: c.artifactDir });
});

type Park = (rows: readonly CapturedRow[], reason: string) => Promise<void>;

/**
 * Replays the twin's spool through the drain the parking queue's consumer runs in AWS
 * (`drainParkedCaptures`); undefined when this process has no spool.
 */
export async function replayCaptureSpool(): Promise<SpoolReplay | undefined> {
  const spool = captureSpool();
  if (!spool) return undefined;
  return spool.replay((batches) => drainParkedCaptures(batches, captureDrain()));
}

/** The SQS parking queue of either capture path in AWS (`VIGIL_CAPTURE_PARKING_QUEUE`); undefined elsewhere. */
const captureParkingQueue = /* @__PURE__ */ member((): SqsCaptureParking | undefined => {
  const url = config().captureParkingQueue;
  return url ? new SqsCaptureParking(lazySqs(), url) : undefined;
});

/** Where this process parks capture rows: the twin's spool, else the SQS parking queue. */
const captureParking = (): Park | undefined => {
  const park = captureSpool() ?? captureParkingQueue();
  return park ? (rows, reason) => park.park(rows, reason) : undefined;
};

/** The Firehose capture sink over `park` (the stream, or the twin's Parquet stand-in without a stream name). */
function firehoseSink(park: Park | undefined): FirehoseCaptureSink | undefined {
  const c = config();
  if (c.capturePath !== 'firehose') return undefined;
  const client = c.captureStream ? firehoseClient() : localCaptureStream();
  if (!client) return undefined;
  return new FirehoseCaptureSink({
    client,
    streamName: c.captureStream ?? 'local-captures',
    ...(park ? { park } : {}),
  });
}

const firehoseClient = /* @__PURE__ */ member(() => lazyFirehose());

const captureStream = /* @__PURE__ */ member(() => firehoseSink(captureParking()));

/** The DynamoDB capture sink over `park`. */
function dynamoSink(park: Park | undefined): DynamoCaptureSink | undefined {
  const c = config();
  if (c.capturePath !== 'dynamodb' || !c.capturesTable) return undefined;
  return new DynamoCaptureSink({
    client: dynamo(),
    tableName: c.capturesTable,
    ttlDays: c.captureTtlDays,
    shards: c.captureShards,
    onFailure: (failed, reason) => logger.error('CAPTURE WRITE GAVE UP', { failed, reason }),
    ...(park ? { park } : {}),
  });
}

/**
 * What the drain of parked captures needs (`drainParkedCaptures`): the configured capture path
 * opened over the drain's own `park`, and the parking place for a partly written batch's rest.
 * @throws Error when no capture path or no parking place is configured
 */
export const captureDrain = /* @__PURE__ */ member((): DrainDeps => {
  const repark = captureParking();
  if (!repark) {
    throw new Error(`Either ${ENV.CAPTURE_PARKING_QUEUE} or ${ENV.CAPTURE_SPOOL_FILE} is required`);
  }
  const openSink = (park: Park) => {
    const sink = dynamoSink(park) ?? firehoseSink(park);
    if (!sink) throw new Error('No capture path is configured to drain parked captures into');
    return sink;
  };
  return { openSink, repark, metrics, logger };
});

/**
 * Where sampled scored rows go (`VIGIL_CAPTURE_PATH`): the DynamoDB table, or the Firehose
 * stream (the twin's Parquet stand-in without a stream name); undefined when the chosen path is
 * not configured (capture off).
 */
export const captures = (): CaptureSink | undefined => captureTable() ?? captureStream();

/**
 * Reads captures back (drift evaluator, captures API): the table, or the Parquet partitions in the artifact
 * bucket (directory on the twin). @throws Error when the chosen path is not configured
 */
export const captureReader = /* @__PURE__ */ member((): CaptureReader & RecentCaptureReader => {
  const c = config();
  if (c.capturePath === 'firehose') {
    if (c.artifactBucket) return new ParquetCaptureReader(new S3CaptureObjects(s3(), c.artifactBucket));
    if (c.artifactDir) return new ParquetCaptureReader(new FsCaptureObjects(c.artifactDir));
    throw new Error(`Either ${ENV.ARTIFACT_BUCKET} or ${ENV.ARTIFACT_DIR} is required`);
  }
  const reader = captureTable();
  if (!reader) throw new Error(`Environment variable ${ENV.CAPTURES_TABLE} is required`);
  return reader;
});

/**
 * Feedback labels, or undefined without `VIGIL_FEEDBACK_TABLE` (retraining then trains and
 * evaluates without labels). The feedback function is always given the table.
 */
export const feedbackLabels = /* @__PURE__ */ member((): FeedbackStore | undefined => {
  const t = config().feedbackTable;
  return t ? new DynamoFeedbackStore({ client: dynamo(), tableName: t }) : undefined;
});

/**
 * Captures by request id (the captures table's `ByRequest` index): on the DynamoDB path only;
 * the Firehose path has no such lookup (a label then names its model).
 */
export const captureLookup = (): CaptureLookup | undefined => captureTable();

/** Drift reports. @throws Error when `VIGIL_DRIFT_TABLE` is unset */
export const driftReports = /* @__PURE__ */ member(
  (): DriftReportStore =>
    new DynamoDriftReportStore({
      client: dynamo(),
      tableName: required(config().driftTable, ENV.DRIFT_TABLE),
    }),
);

/**
 * Staged package uploads: the S3 `staging/` prefix of the artifact bucket, else the twin's
 * directory; undefined when neither is configured (uploads refused).
 */
export const staging = /* @__PURE__ */ member((): PackageStaging | undefined => {
  const c = config();
  if (c.artifactBucket) return new S3PackageStaging({ client: s3(), bucket: c.artifactBucket });
  if (c.stagingDir && c.stagingUrl) return new FsPackageStaging({ dir: c.stagingDir, baseUrl: c.stagingUrl });
  return undefined;
});

/** Domain events: EventBridge, else the twin's events file, else the log. */
export const events = /* @__PURE__ */ member((): EventPublisher => {
  const c = config();
  if (c.eventBusName)
    return new EventBridgePublisher({ client: lazyEventBridge(), eventBusName: c.eventBusName });
  if (c.eventsFile) return new FileEventPublisher(c.eventsFile);
  return new MemoryEventPublisher((e) =>
    logger.warn('no event bus or events file configured: event logged only', { event: e }),
  );
});

/** Hashed API keys: Secrets Manager, else the twin's key file. @throws Error when neither is set */
export const apiKeys = /* @__PURE__ */ member((): SecretSource => {
  const c = config();
  const onStale = (error: unknown, ageMs: number) =>
    logger.warn('API key set read failed; serving the last good set', {
      reason: describeError(error),
      ageSeconds: Math.round(ageMs / 1000),
    });
  if (c.apiKeysSecret) return new SecretsManagerKeys(c.apiKeysSecret, undefined, { onStale });
  if (c.apiKeysFile) return new FileKeys(c.apiKeysFile, { onStale });
  throw new Error(`${ENV.API_KEYS_SECRET} (or ${ENV.API_KEYS_FILE} locally) is required`);
});

/**
 * An SDK client created, and its module imported, on its first call: only the release machine's
 * tasks reach these, and no other bundle should carry (or load) their SDKs.
 */
function lazyClient<C extends { send(command: never): Promise<unknown> }>(
  build: () => Promise<C>,
): Pick<C, 'send'> {
  let client: Promise<C> | undefined;
  return {
    send: (async (command: never) => {
      client ??= build();
      return (await client).send(command);
    }) as C['send'],
  };
}

/** An EventBridge client created, and its SDK module imported, on the first publish. */
function lazyEventBridge(): PutEventsClient {
  let client: Promise<PutEventsClient> | undefined;
  return {
    async send(command) {
      client ??= import('@aws-sdk/client-eventbridge').then(
        ({ EventBridgeClient }) => new EventBridgeClient({}),
      );
      return (await client).send(command);
    },
  };
}

/** A Firehose client created, and its SDK module imported, on the first capture write. */
function lazyFirehose(): PutRecordBatchClient {
  let client: Promise<PutRecordBatchClient> | undefined;
  return {
    async putRecordBatch(input) {
      client ??= import('@aws-sdk/client-firehose').then(({ FirehoseClient, PutRecordBatchCommand }) => {
        const c = new FirehoseClient({});
        return { putRecordBatch: (i) => c.send(new PutRecordBatchCommand(i)) };
      });
      return (await client).putRecordBatch(input);
    },
  };
}

/** An SQS client created, and its SDK module imported, on the first parked capture. */
function lazySqs(): SendMessageBatchClient {
  let client: Promise<SendMessageBatchClient> | undefined;
  return {
    async sendMessageBatch(input) {
      client ??= import('@aws-sdk/client-sqs').then(({ SQSClient, SendMessageBatchCommand }) => {
        const c = new SQSClient({});
        return { sendMessageBatch: (i) => c.send(new SendMessageBatchCommand(i)) };
      });
      return (await client).sendMessageBatch(input);
    },
  };
}

/** A CodeDeploy client created, and its SDK module imported, on first use. */
function lazyCodeDeploy(): CodeDeployApi {
  let sdk: Promise<typeof import('@aws-sdk/client-codedeploy')> | undefined;
  let client: InstanceType<typeof import('@aws-sdk/client-codedeploy').CodeDeployClient> | undefined;
  const load = async () => {
    sdk ??= import('@aws-sdk/client-codedeploy');
    const m = await sdk;
    client ??= new m.CodeDeployClient({ maxAttempts: 5 });
    return { m, client };
  };
  return {
    async listDeployments(input) {
      const { m, client: c } = await load();
      const out = await c.send(
        new m.ListDeploymentsCommand({
          ...input,
          includeOnlyStatuses: [...input.includeOnlyStatuses] as DeploymentStatus[],
        }),
      );
      return out as { deployments?: string[]; nextToken?: string };
    },
    async putLifecycleEventHookExecutionStatus(input) {
      const { m, client: c } = await load();
      return c.send(new m.PutLifecycleEventHookExecutionStatusCommand(input));
    },
  };
}

/** Drops the root (tests and the local twin's restarts): the next access re-reads the environment. */
export function resetRoot(): void {
  current = undefined;
}
