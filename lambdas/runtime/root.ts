import { S3Client } from '@aws-sdk/client-s3';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { S3ArtifactStore } from '#adapters/artifact-store-s3.ts';
import { FileCaptureSpool } from '#adapters/capture-spool-fs.ts';
import { DynamoCaptureSink } from '#adapters/dynamodb-captures.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoDriftReportStore } from '#adapters/dynamodb-drift-reports.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { logger } from '#adapters/observability.ts';
import { FsPackageStaging } from '#adapters/staging-fs.ts';
import { PRESIGN_CLIENT_CONFIG, S3PackageStaging } from '#adapters/staging-s3.ts';
import { ModelCache } from '#app/serve.ts';
import type { ArtifactStore, CaptureReader, CaptureSink, PackageStaging } from '#core/ports.ts';
import type { ModelRegistry } from '#core/registry/index.ts';
import { parseRuntimeConfig, type RuntimeConfig } from './config.ts';

/**
 * Process-wide wiring of the real adapters from the environment: built on
 * first use and reused by warm invocations. Lambda and the local twin both go
 * through here; only the environment differs (DynamoDB endpoint, S3 bucket vs
 * artifact directory).
 */
let cached: Runtime | undefined;

export interface Runtime {
  readonly config: RuntimeConfig;
  readonly registry: ModelRegistry;
  readonly store: ArtifactStore;
  readonly models: ModelCache;
  /** Where sampled scored rows go; absent when no captures table is configured. */
  readonly captures?: CaptureSink;
  /** Where capture rows that could not be written wait for a replay (the twin's spool file). */
  readonly captureSpool?: FileCaptureSpool;
  /** Reads the same captures table back (drift evaluator); absent with `captures`. */
  readonly captureReader?: CaptureReader;
  /** Drift reports; absent when no drift table is configured. */
  readonly driftReports?: DynamoDriftReportStore;
  /** Staged package uploads (S3 `staging/` prefix, or the twin's directory); absent when neither is set. */
  readonly staging?: PackageStaging;
}

export function runtime(): Runtime {
  if (cached) return cached;
  const config = parseRuntimeConfig();
  if (!config.registryTable) throw new Error('Environment variable VIGIL_REGISTRY_TABLE is required');
  const client = documentClient(config.dynamoEndpoint);
  const registry = new DynamoRegistry({
    client,
    tableName: config.registryTable,
    onWarning: (message, details) => logger.warn(message, details),
  });
  const s3 = config.artifactBucket ? new S3Client(PRESIGN_CLIENT_CONFIG) : undefined;
  const store = artifactStore(config, s3);
  const models = new ModelCache({
    resolver: registry,
    store,
    engine: config.engine,
    wasmDir: config.ortWasmDir,
    aliasTtlMs: config.aliasCacheSeconds * 1000,
  });
  const captureSpool = config.captureSpoolFile ? new FileCaptureSpool(config.captureSpoolFile) : undefined;
  const captures = config.capturesTable
    ? new DynamoCaptureSink({
        client,
        tableName: config.capturesTable,
        ttlDays: config.captureTtlDays,
        onFailure: (failed, reason) => logger.error('CAPTURE WRITE GAVE UP', { failed, reason }),
        ...(captureSpool ? { park: (rows, reason) => captureSpool.park(rows, reason) } : {}),
      })
    : undefined;
  const driftReports = config.driftTable
    ? new DynamoDriftReportStore({ client, tableName: config.driftTable })
    : undefined;
  const staging =
    s3 && config.artifactBucket
      ? new S3PackageStaging({ client: s3, bucket: config.artifactBucket })
      : config.stagingDir && config.stagingUrl
        ? new FsPackageStaging({ dir: config.stagingDir, baseUrl: config.stagingUrl })
        : undefined;
  cached = {
    config,
    registry,
    store,
    models,
    captures,
    captureSpool,
    captureReader: captures,
    driftReports,
    staging,
  };
  return cached;
}

function artifactStore(config: RuntimeConfig, s3: S3Client | undefined): ArtifactStore {
  if (config.artifactBucket && s3) return new S3ArtifactStore({ client: s3, bucket: config.artifactBucket });
  if (config.artifactDir) return new FsArtifactStore({ root: config.artifactDir });
  throw new Error('Either VIGIL_ARTIFACT_BUCKET or VIGIL_ARTIFACT_DIR is required');
}

/** Drops the cached wiring (tests and the local twin's restarts). */
export function resetRuntime(): void {
  cached = undefined;
}
