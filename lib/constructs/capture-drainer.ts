import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV, SERVICES } from '#contracts';
import type { CaptureStream } from './capture-stream.ts';
import { ModelFunction } from './model-function.ts';

/** Properties of {@link CaptureDrainer}. */
export interface CaptureDrainerProps {
  /** The Firehose capture path whose parking queue is drained back into its stream. */
  readonly stream: CaptureStream;
  /** The key encrypting the parking queue (and the stream's bucket). */
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
 * The consumer of the capture parking queue (README "Capture at scale"): a Lambda with the queue
 * as its SQS event source and `ReportBatchItemFailures`, running `drainParkedCaptures`. A message
 * is deleted only once its rows are in the stream (or a partly written message's rest is parked
 * again as a new message); one it cannot write stays in the queue, is retried after the queue's
 * visibility timeout, and after `maxReceiveCount` receives moves to the dead-letter queue
 * (`CaptureStream.parkingDeadLetters`, alarmed in Observability). Grants: PutRecordBatch on the
 * stream, SendMessage (re-park) and the event source's receive/delete on the queue, the key's use.
 */
export class CaptureDrainer extends Construct {
  public readonly fn: ModelFunction;

  constructor(scope: Construct, id: string, props: CaptureDrainerProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(60);
    this.fn = new ModelFunction(this, 'Drain', {
      entry: props.entry,
      serviceName: SERVICES.captureDrain,
      description: 'Writes parked capture rows from the parking queue back into the capture stream',
      environmentName: props.environmentName,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      timeout,
      environment: { [ENV.CAPTURE_PATH]: 'firehose' },
    }).bindCaptureStream(props.stream, props.key);
    this.fn.function.addEventSource(
      new SqsEventSource(props.stream.parkingQueue, {
        batchSize: props.batchSize ?? 10,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? 2,
      }),
    );
  }
}
