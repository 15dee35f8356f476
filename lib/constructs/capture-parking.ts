import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Properties of {@link CaptureParking}. */
export interface CaptureParkingProps {
  /** Customer-managed key encrypting both queues. */
  readonly key: kms.IKey;
  /**
   * Visibility timeout of the parking queue: how long a message its drain could not write stays
   * hidden before the next attempt (at least 6 × the drain function's timeout, as Lambda advises).
   * @default Duration.seconds(360)
   */
  readonly visibility?: Duration;
  /** Receives of a parked message before it moves to the dead-letter queue. @default 100 */
  readonly maxReceiveCount?: number;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Where capture rows a write gave up on wait (README "Capture at scale", "Nothing lost"), on
 * either capture path: the parking queue the score function parks them in (`SqsCaptureParking`,
 * counted as `CapturesParked`) and `CaptureDrainer` drains back into the path, and its
 * dead-letter queue for messages the drain could not write after `maxReceiveCount` receives.
 * Both queues: KMS with the data key, TLS only, 14 days (a dead letter's expiry counts from its
 * original enqueue time, so 14 days from parking).
 *
 * The queues' ids are `ParkingQueue` and `ParkingDeadLetters`: created with the id `Default`
 * inside `CaptureStream`, they keep the logical ids the stream gave them before this construct
 * existed (CDK leaves `Default` out of logical ids), so a deploy does not replace a queue that
 * may hold parked rows.
 */
export class CaptureParking extends Construct {
  /** The queue rows are parked in (`VIGIL_CAPTURE_PARKING_QUEUE`) and drained from. */
  public readonly queue: sqs.Queue;
  /** Parked messages the drain could not write after `maxReceiveCount` receives (alarmed). */
  public readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: CaptureParkingProps) {
    super(scope, id);
    this.deadLetters = new sqs.Queue(this, 'ParkingDeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is itself the parking queue's dead-letter queue: messages its drain could not write (redrive them to the parking queue once the cause is fixed).",
    });
    this.queue = new sqs.Queue(this, 'ParkingQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: props.visibility ?? Duration.seconds(360),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: props.maxReceiveCount ?? 100 },
      removalPolicy: props.removalPolicy,
    });
  }
}
