import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { FsBlobStore } from '#adapters/blob-store-fs.ts';
import { S3BlobStore } from '#adapters/blob-store-s3.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRetrainingLedger } from '#adapters/dynamodb-retraining.ts';
import { EventBridgePublisher, FileEventPublisher, MemoryEventPublisher } from '#adapters/events.ts';
import { FileNotifier, MemoryNotifier, SnsNotifier } from '#adapters/notifier.ts';
import { logger } from '#adapters/observability.ts';
import { createRetrainSteps, type RetrainSteps } from '#app/retrain.ts';
import { ENV } from '#contracts';
import type { EventPublisher } from '#core/ports.ts';
import { parseRetrainSettings } from '#core/retrain/config.ts';
import type { Notifier } from '#core/retrain/ports.ts';
import { type Runtime, runtime } from './root.ts';

/**
 * The retraining steps wired from the process runtime (`root.ts`) plus the
 * retraining-only adapters (blob store, lock ledger, notifier, settings from
 * `VIGIL_RETRAIN_CONFIG`). Built once per runtime; every `retrain-*` handler
 * calls `retrainSteps()`.
 */
let wired: { rt: Runtime; steps: RetrainSteps } | undefined;

export function retrainSteps(env: NodeJS.ProcessEnv = process.env): RetrainSteps {
  const rt = runtime();
  if (wired?.rt === rt) return wired.steps;
  const { config } = rt;
  if (!config.registryTable) throw new Error('Environment variable VIGIL_REGISTRY_TABLE is required');
  if (!rt.captureReader) throw new Error('Environment variable VIGIL_CAPTURES_TABLE is required');
  const blobs = config.artifactBucket
    ? new S3BlobStore({ client: new S3Client({}), bucket: config.artifactBucket })
    : new FsBlobStore({ root: config.artifactDir ?? '.vigil/artifacts' });
  const steps = createRetrainSteps({
    registry: rt.registry,
    store: rt.store,
    blobs,
    captures: rt.captureReader,
    ledger: new DynamoRetrainingLedger({
      client: documentClient(config.dynamoEndpoint),
      tableName: config.registryTable,
    }),
    notifier: notifierFrom(env),
    events: eventsFrom(config),
    settings: parseRetrainSettings(env[ENV.RETRAIN_CONFIG] || '{}'),
  });
  wired = { rt, steps };
  return steps;
}

function notifierFrom(env: NodeJS.ProcessEnv): Notifier {
  const topic = env[ENV.NOTIFY_TOPIC_ARN];
  if (topic) return new SnsNotifier(new SNSClient({}), topic);
  const file = env[ENV.NOTIFICATIONS_FILE];
  if (file) return new FileNotifier(file);
  return new MemoryNotifier((m) =>
    logger.warn('no notification topic configured: notification logged only', m),
  );
}

/**
 * Same choice as the drift evaluator's (EventBridge, else the twin's events file, else the log);
 * kept here so runtime code does not import a handler module.
 */
function eventsFrom(config: Runtime['config']): EventPublisher {
  if (config.eventBusName) {
    return new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: config.eventBusName });
  }
  if (config.eventsFile) return new FileEventPublisher(config.eventsFile);
  return new MemoryEventPublisher((e) =>
    logger.warn('no event bus or events file configured: event logged only', { event: e }),
  );
}
