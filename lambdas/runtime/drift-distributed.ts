import { S3Client } from '@aws-sdk/client-s3';
import { FsBlobStore } from '#adapters/blob-store-fs.ts';
import { S3BlobStore } from '#adapters/blob-store-s3.ts';
import { FsCaptureObjects, S3CaptureObjects } from '#adapters/capture-objects.ts';
import { DynamoCapturePartitions } from '#adapters/dynamodb-capture-partitions.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { ParquetCapturePartitions } from '#adapters/parquet-capture-partitions.ts';
import { createDistributedDrift } from '#app/drift-distributed.ts';
import { ENV } from '#contracts';
import type { CapturePartitionReader } from '#core/drift/partitions.ts';
import { config, driftReports, events, log, member, metricsSink, registry, store } from './root.ts';

/**
 * The distributed drift steps (plan, summarize, reduce) wired from the composition root plus
 * their own adapters: the partition reader of the environment's capture path (`CAPTURE_PATH`:
 * the sharded captures table, or Firehose's Parquet objects in the artifact bucket) and the
 * artifact store's blob side for the summaries. Built once per process.
 */
export const distributedDrift = /* @__PURE__ */ member(() => {
  const c = config();
  const s3 = c.artifactBucket ? new S3Client({}) : undefined;
  const summaries =
    s3 && c.artifactBucket
      ? new S3BlobStore({ client: s3, bucket: c.artifactBucket })
      : new FsBlobStore({ root: c.artifactDir ?? '.vigil/artifacts' });
  let partitions: CapturePartitionReader;
  if (c.capturePath === 'firehose') {
    const objects =
      s3 && c.artifactBucket
        ? new S3CaptureObjects({ client: s3, bucket: c.artifactBucket })
        : new FsCaptureObjects({ root: c.artifactDir ?? '.vigil/artifacts' });
    partitions = new ParquetCapturePartitions({ objects });
  } else {
    if (!c.capturesTable) throw new Error(`Environment variable ${ENV.CAPTURES_TABLE} is required`);
    partitions = new DynamoCapturePartitions({
      client: documentClient(c.dynamoEndpoint),
      tableName: c.capturesTable,
      shards: c.captureShards,
    });
  }
  // Each task's function is configured for its own step only (Summarize has no registry or
  // reports table): those members are built on first use, by the step that uses them.
  return createDistributedDrift({
    registry: { resolve: (model, ref) => registry().resolve(model, ref) },
    store: { getPackage: (uri) => store().getPackage(uri) },
    partitions,
    summaries,
    reports: {
      put: (report, opts) => driftReports().put(report, opts),
      list: (m, o) => driftReports().list(m, o),
    },
    events: { publish: (e) => events().publish(e) },
    metrics: metricsSink(),
    logger: log(),
    settings: c.driftSettings,
    windowMinutes: c.driftWindowMinutes,
  });
});
