import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { S3ArtifactStore } from '#adapters/artifact-store-s3.ts';
import { DynamoCaptureSink } from '#adapters/dynamodb-captures.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoDriftReportStore } from '#adapters/dynamodb-drift-reports.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import {
  EventBridgePublisher,
  FileEventPublisher,
  MemoryEventPublisher,
  type PutEventsClient,
} from '#adapters/events.ts';
import { logger, metrics } from '#adapters/observability.ts';
import { FileKeys, SecretsManagerKeys } from '#adapters/secrets.ts';
import { ModelCache } from '#app/serve.ts';
import { ENV } from '#contracts';
import type { SecretSource } from '#core/auth.ts';
import type {
  ArtifactStore,
  CaptureReader,
  CaptureSink,
  DriftReportStore,
  EventPublisher,
  Logger,
  MetricsSink,
} from '#core/ports.ts';
import type { ModelRegistry } from '#core/registry/index.ts';
import { parseRuntimeConfig, type RuntimeConfig } from './config.ts';

/**
 * The process's composition root: configuration parsed once, and every adapter built on first
 * use and then reused by warm invocations. Lambda, the local twin and `vigil serve --aws` all go
 * through here; only the environment differs (DynamoDB endpoint, S3 bucket vs artifact
 * directory, secret vs key file, bus vs events file).
 *
 * Each member is a lazy getter, so a function builds only what it uses: the score function never
 * constructs the Secrets Manager or EventBridge clients, and their SDK modules are imported on
 * first use only (see `secrets.ts`, `events.ts`), so the score bundle does not load them at init.
 */
export interface Root {
  readonly config: RuntimeConfig;
  readonly logger: Logger;
  readonly metrics: MetricsSink;
  /** @throws Error when `VIGIL_REGISTRY_TABLE` is unset */
  readonly registry: ModelRegistry;
  /** @throws Error when neither `VIGIL_ARTIFACT_BUCKET` nor `VIGIL_ARTIFACT_DIR` is set */
  readonly store: ArtifactStore;
  /** Ready-to-serve models over `registry` and `store`. */
  readonly models: ModelCache;
  /** Where sampled scored rows go; undefined when no captures table is configured (capture off). */
  readonly captures: CaptureSink | undefined;
  /** @throws Error when `VIGIL_CAPTURES_TABLE` is unset */
  readonly captureReader: CaptureReader;
  /** @throws Error when `VIGIL_DRIFT_TABLE` is unset */
  readonly driftReports: DriftReportStore;
  /** EventBridge, else the twin's events file, else the log. */
  readonly events: EventPublisher;
  /** Hashed API keys: Secrets Manager, else the twin's key file. @throws Error when neither is set */
  readonly apiKeys: SecretSource;
}

const required = (value: string | undefined, name: string): string => {
  if (!value) throw new Error(`Environment variable ${name} is required`);
  return value;
};

/** Memoises a getter on first access (a failed build is not cached: the next access retries). */
function lazy<T>(build: () => T): () => T {
  let built = false;
  let value: T;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value;
  };
}

/** Builds a root over `env`; `root()` keeps one per process. */
export function createRoot(env: NodeJS.ProcessEnv = process.env): Root {
  const config = parseRuntimeConfig(env);
  const dynamo = lazy((): DynamoDBDocumentClient => documentClient(config.dynamoEndpoint));
  const registry = lazy(
    () =>
      new DynamoRegistry({
        client: dynamo(),
        tableName: required(config.registryTable, ENV.REGISTRY_TABLE),
        onWarning: (message, details) => logger.warn(message, details),
      }),
  );
  const store = lazy((): ArtifactStore => {
    if (config.artifactBucket) {
      return new S3ArtifactStore({ client: new S3Client({}), bucket: config.artifactBucket });
    }
    if (config.artifactDir) return new FsArtifactStore({ root: config.artifactDir });
    throw new Error(`Either ${ENV.ARTIFACT_BUCKET} or ${ENV.ARTIFACT_DIR} is required`);
  });
  const models = lazy(
    () =>
      new ModelCache({
        resolver: registry(),
        store: store(),
        engine: config.engine,
        wasmDir: config.ortWasmDir,
        aliasTtlMs: config.aliasCacheSeconds * 1000,
      }),
  );
  const captureTable = lazy(() =>
    config.capturesTable
      ? new DynamoCaptureSink({
          client: dynamo(),
          tableName: config.capturesTable,
          ttlDays: config.captureTtlDays,
          onFailure: (failed, reason) => logger.error('capture write gave up', { failed, reason }),
        })
      : undefined,
  );
  const driftReports = lazy(
    () =>
      new DynamoDriftReportStore({
        client: dynamo(),
        tableName: required(config.driftTable, ENV.DRIFT_TABLE),
      }),
  );
  const events = lazy((): EventPublisher => {
    if (config.eventBusName) {
      return new EventBridgePublisher({ client: lazyEventBridge(), eventBusName: config.eventBusName });
    }
    if (config.eventsFile) return new FileEventPublisher(config.eventsFile);
    return new MemoryEventPublisher((e) =>
      logger.warn('no event bus or events file configured: event logged only', { event: e }),
    );
  });
  const apiKeys = lazy((): SecretSource => {
    if (config.apiKeysSecret) return new SecretsManagerKeys(config.apiKeysSecret);
    if (config.apiKeysFile) return new FileKeys(config.apiKeysFile);
    throw new Error(`${ENV.API_KEYS_SECRET} (or ${ENV.API_KEYS_FILE} locally) is required`);
  });
  return {
    config,
    logger,
    metrics,
    get registry() {
      return registry();
    },
    get store() {
      return store();
    },
    get models() {
      return models();
    },
    get captures() {
      return captureTable();
    },
    get captureReader() {
      const reader = captureTable();
      if (!reader) throw new Error(`Environment variable ${ENV.CAPTURES_TABLE} is required`);
      return reader;
    },
    get driftReports() {
      return driftReports();
    },
    get events() {
      return events();
    },
    get apiKeys() {
      return apiKeys();
    },
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

let cached: Root | undefined;

/** The process-wide root, built on first call (config errors surface here, naming the variable). */
export function root(): Root {
  cached ??= createRoot();
  return cached;
}

/** Drops the cached root (tests and the local twin's restarts): the next `root()` re-reads the environment. */
export function resetRoot(): void {
  cached = undefined;
}

/**
 * A handler's wiring built from the current root once, and rebuilt only when the root is
 * replaced (the local twin's restarts), so warm invocations pay nothing.
 * @example const core = fromRoot((r) => scoreRows({ models: r.models, ... }));
 */
export function fromRoot<T>(build: (r: Root) => T): () => T {
  let wired: { root: Root; value: T } | undefined;
  return () => {
    const r = root();
    if (wired?.root !== r) wired = { root: r, value: build(r) };
    return wired.value;
  };
}
