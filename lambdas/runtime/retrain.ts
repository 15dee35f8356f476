import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { FsBlobStore } from '#adapters/blob-store-fs.ts';
import { S3BlobStore } from '#adapters/blob-store-s3.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRetrainingLedger } from '#adapters/dynamodb-retraining.ts';
import { FileNotifier, MemoryNotifier, SnsNotifier } from '#adapters/notifier.ts';
import { logger } from '#adapters/observability.ts';
import { createRetrainSteps, type RetrainSteps } from '#app/retrain.ts';
import { ENV } from '#contracts';
import { parseRetrainSettings } from '#core/retrain/config.ts';
import type { Notifier } from '#core/retrain/ports.ts';
import { executionIsRunning, hasStepFunctions } from './retrain-control.ts';
import { captureReader, config, events, feedbackLabels, member, registry, store } from './root.ts';

/**
 * The retraining steps wired from the composition root (`root.ts`) plus the retraining-only
 * adapters (blob store, lock ledger, notifier, settings from `VIGIL_RETRAIN_CONFIG`): a member
 * of the root, built once per process; every `retrain-*` handler calls `retrainSteps()`.
 */
export const retrainSteps = /* @__PURE__ */ member((): RetrainSteps => {
  const c = config();
  if (!c.registryTable) throw new Error(`Environment variable ${ENV.REGISTRY_TABLE} is required`);
  const blobs = c.artifactBucket
    ? new S3BlobStore({ client: new S3Client({}), bucket: c.artifactBucket })
    : new FsBlobStore({ root: c.artifactDir ?? '.vigil/artifacts' });
  return createRetrainSteps({
    registry: registry(),
    store: store(),
    blobs,
    captures: captureReader(),
    ...(feedbackLabels() ? { feedback: feedbackLabels() } : {}),
    ledger: new DynamoRetrainingLedger({
      client: documentClient(c.dynamoEndpoint),
      tableName: c.registryTable,
    }),
    notifier: notifierFrom(process.env),
    events: events(),
    settings: parseRetrainSettings(process.env[ENV.RETRAIN_CONFIG] || '{}'),
    // A lock whose execution no longer runs is released (without it, only the lease frees it).
    ...(hasStepFunctions() ? { isRunning: executionIsRunning } : {}),
  });
});

/** SNS when a topic is configured, else the twin's notifications file, else the log (shared with releases). */
export function notifierFrom(env: NodeJS.ProcessEnv): Notifier {
  const topic = env[ENV.NOTIFY_TOPIC_ARN];
  if (topic) return new SnsNotifier(new SNSClient({}), topic);
  const file = env[ENV.NOTIFICATIONS_FILE];
  if (file) return new FileNotifier(file);
  return new MemoryNotifier((m) =>
    logger.warn('no notification topic configured: notification logged only', m),
  );
}
