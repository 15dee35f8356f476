import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV, SERVICES } from '#contracts';
import type { CaptureParking } from './capture-parking.ts';
import type { CaptureStream } from './capture-stream.ts';
import { ModelFunction } from './model-function.ts';

/**
 * The capture path a drain writes parked rows back into, with the settings its writer needs:
 * the Firehose stream (whose own `parking` is drained), or the captures table with the parking
 * queue of the DynamoDB path and the score function's shard count and TTL (so a drained row
 * lands under the key it would have had).
 */
export type CaptureDrainTarget =
  | { readonly stream: CaptureStream }
  | {
      readonly table: ITable;
      readonly parking: CaptureParking;
      readonly shards: number;
      readonly ttlDays: number;
    };

/** Properties of {@link CaptureDrainer}. */
export interface CaptureDrainerProps {
  /** Where parked rows go back to, and (DynamoDB path) the queue they are parked in. */
  readonly target: CaptureDrainTarget;
  /** The key encrypting the parking queue (and the stream's bucket or the table). */
  readonly key: kms.IKey;
  /** Handler entry (`HANDLERS.captureDrain`). */
  readonly entry: string;
  readonly environmentName: string;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /**
   * Function timeout; the parking queue's visibility timeout must be at least 6 × this.
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /** Messages per invocation (each holds up to ~250 KiB of rows). @default 10 */
  readonly batchSize?: number;
  /**
   * Concurrent drains at most: a backlog after an outage is drained without stampeding the
   * stream that has just recovered.
   * @default 2
   */
  readonly maxConcurrency?: number;
}

/**
 * The consumer of a capture parking queue (README "Capture at scale"), on either capture path: a
 * Lambda with the queue as its SQS event source and `ReportBatchItemFailures`, running
 * `drainParkedCaptures` over the sink its `VIGIL_CAPTURE_PATH` names. A message is deleted only
 * once its rows are written (or a partly written message's rest is parked again as a new
 * message); one it cannot write stays in the queue, is retried after the queue's visibility
 * timeout, and after `maxReceiveCount` receives moves to the dead-letter queue
 * (`CaptureParking.deadLetters`, alarmed in Observability). Grants: PutRecordBatch on the stream,
 * or PutItem/BatchWriteItem on the captures table; SendMessage (re-park) and the event source's
 * receive/delete on the queue; the key's use.
 */
export class CaptureDrainer extends Construct {
  public readonly fn: ModelFunction;

  constructor(scope: Construct, id: string, props: CaptureDrainerProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(60);
    const target = props.target;
    const environment: Record<string, string> =
      'stream' in target
        ? { [ENV.CAPTURE_PATH]: 'firehose' }
        : {
            [ENV.CAPTURE_PATH]: 'dynamodb',
            [ENV.CAPTURE_SHARDS]: String(target.shards),
            [ENV.CAPTURE_TTL_DAYS]: String(target.ttlDays),
          };
    this.fn = new ModelFunction(this, 'Drain', {
      entry: props.entry,
      serviceName: SERVICES.captureDrain,
      description: `Writes parked capture rows from the parking queue back into the capture ${'stream' in target ? 'stream' : 'table'}`,
      environmentName: props.environmentName,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      timeout,
      environment,
    });
    let parking: CaptureParking;
    if ('stream' in target) {
      this.fn.bindCaptureStream(target.stream, props.key);
      parking = target.stream.parking;
    } else {
      this.fn
        .bindTable({ table: target.table, envVar: ENV.CAPTURES_TABLE, accessMode: 'append' })
        .bindCaptureParking(target.parking, props.key);
      parking = target.parking;
    }
    this.fn.function.addEventSource(
      new SqsEventSource(parking.queue, {
        batchSize: props.batchSize ?? 10,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? 2,
      }),
    );
  }
}
