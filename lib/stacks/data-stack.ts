import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { CAPTURE_REQUEST_INDEX, TABLE_KEYS } from '#contracts';
import type { VigilConfig } from '../config.ts';
import { ArtifactBucket } from '../constructs/artifact-bucket.ts';
import { CaptureDrainer, type CaptureDrainTarget } from '../constructs/capture-drainer.ts';
import { CaptureParking } from '../constructs/capture-parking.ts';
import { CaptureStream } from '../constructs/capture-stream.ts';
import { DefaultModelSeed } from '../constructs/default-model-seed.ts';
import { restrictGrantsToAwsServices } from '../constructs/key-grants.ts';
import { type HandlerEntries, handlerEntries } from '../handler-entries.ts';

/** Field CloudFormation fills with random text when it creates the API-key secret (unused). */
export const API_KEYS_SECRET_NONCE = 'createdNonce';

/** Maps the config's removal policy onto CDK's. */
export const removalPolicyOf = (config: VigilConfig): RemovalPolicy =>
  config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

/** Properties of {@link DataStack}. */
export interface DataStackProps extends StackProps {
  readonly config: VigilConfig;
  /**
   * Handler entry files (the default-model seed's).
   * @default HANDLERS from lambdas/contracts.ts
   */
  readonly entries?: Partial<HandlerEntries>;
}

/**
 * Stateful resources (DESIGN.md §9 `Data`): the registry, captures, drift-report and feedback tables, the
 * model artifact bucket, the API key secret, and the customer-managed KMS key encrypting them all;
 * and the seed that registers the shipped default model as `production` on the first deploy.
 */
export class DataStack extends Stack {
  public readonly key: kms.Key;
  public readonly registryTable: dynamodb.Table;
  public readonly capturesTable: dynamodb.Table;
  public readonly driftTable: dynamodb.Table;
  /** Feedback labels of predictions (`FEEDBACK_KEYS`), read by the quality report and retraining. */
  public readonly feedbackTable: dynamodb.Table;
  public readonly artifacts: ArtifactBucket;
  public readonly apiKeys: secretsmanager.Secret;
  public readonly defaultModelSeed: DefaultModelSeed;
  /** The Firehose capture path (`config.capture.path` 'firehose'); undefined on the DynamoDB path. */
  public readonly captureStream?: CaptureStream;
  /**
   * Where the score function parks capture rows its write gave up on, on either path (on the
   * Firehose path, the stream's own `parking`).
   */
  public readonly captureParking: CaptureParking;
  /** The consumer of the parking queue, writing rows back into the stream or the captures table. */
  public readonly captureDrainer: CaptureDrainer;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = removalPolicyOf(config);

    this.key = new kms.Key(this, 'DataKey', {
      description: `Vigil ${config.envName}: tables, model artifacts and API key secret`,
      enableKeyRotation: true,
      removalPolicy,
    });
    restrictGrantsToAwsServices(this.key);

    const table = (id: string, ttl: boolean): dynamodb.Table => {
      const t = new dynamodb.Table(this, id, {
        partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        // Table (not TableV2): TableV2 cannot render a customer key in a region-agnostic stack.
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: this.key,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: config.pointInTimeRecovery },
        timeToLiveAttribute: ttl ? TABLE_KEYS.ttlAttribute : undefined,
        deletionProtection: config.removalPolicy === 'retain',
        removalPolicy,
      });
      if (!config.pointInTimeRecovery) {
        Validations.of(t).acknowledge({
          id: 'AwsSolutions-DDB3',
          reason: `Point-in-time recovery is off in ${config.envName} by config: its data is disposable test data.`,
        });
      }
      return t;
    };
    this.registryTable = table('Registry', false);
    this.capturesTable = table('Captures', true);
    this.driftTable = table('DriftReports', false);
    this.feedbackTable = table('Feedback', false);
    // A label finds its prediction's captures by request id. Only on the DynamoDB capture path:
    // on the Firehose path the table receives no captures, and a label names its model.
    if (config.capture.path === 'dynamodb') {
      this.capturesTable.addGlobalSecondaryIndex({
        indexName: CAPTURE_REQUEST_INDEX.name,
        partitionKey: { name: CAPTURE_REQUEST_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...CAPTURE_REQUEST_INDEX.projected],
      });
    }

    this.artifacts = new ArtifactBucket(this, 'Artifacts', { encryptionKey: this.key, removalPolicy });
    const drain = config.capture.drain;
    const drainer = (target: CaptureDrainTarget): CaptureDrainer =>
      new CaptureDrainer(this, 'CaptureDrainer', {
        target,
        key: this.key,
        entry: handlerEntries(props.entries).captureDrain,
        environmentName: config.envName,
        logRetention: config.logRetentionDays,
        logRemovalPolicy: removalPolicy,
      });
    if (config.capture.path === 'firehose') {
      this.captureStream = new CaptureStream(this, 'CaptureStream', {
        artifacts: this.artifacts,
        key: this.key,
        envName: config.envName,
        ttlDays: config.captureTtlDays,
        bufferSeconds: config.capture.bufferSeconds,
        bufferMb: config.capture.bufferMb,
        parkingVisibility: Duration.seconds(drain.visibilitySeconds),
        maxReceiveCount: drain.maxReceiveCount,
        removalPolicy,
      });
      this.captureParking = this.captureStream.parking;
      this.captureDrainer = drainer({ stream: this.captureStream });
    } else {
      this.captureParking = new CaptureParking(this, 'CaptureTable', {
        key: this.key,
        visibility: Duration.seconds(drain.visibilitySeconds),
        maxReceiveCount: drain.maxReceiveCount,
        removalPolicy,
      });
      this.captureDrainer = drainer({
        table: this.capturesTable,
        parking: this.captureParking,
        shards: config.capture.shards,
        ttlDays: config.captureTtlDays,
      });
    }

    // In this stack, so the model exists before the Api stack's provisioned score instances load it.
    this.defaultModelSeed = new DefaultModelSeed(this, 'DefaultModelSeed', {
      entry: handlerEntries(props.entries).seedDefaultModel,
      environmentName: config.envName,
      registryTable: this.registryTable,
      artifacts: this.artifacts,
      key: this.key,
      logRetention: config.logRetentionDays,
      logRemovalPolicy: removalPolicy,
    });

    this.apiKeys = new secretsmanager.Secret(this, 'ApiKeys', {
      description: `Vigil ${config.envName}: hashed API keys read by the authorizer`,
      encryptionKey: this.key,
      // Generated once at creation and never again: the template holds no value, so no later deploy
      // can overwrite the issued keys (`vigil keys create` writes them). The generated field is
      // ignored by the key-set parser; the authorizer starts from the empty list.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ keys: [] }),
        generateStringKey: API_KEYS_SECRET_NONCE,
      },
      removalPolicy,
    });
    Validations.of(this.apiKeys).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret stores hashes of API keys; rotation means issuing a new key and retiring the old one ' +
        '(both hashes valid during overlap) with `vigil keys create` and an expiresAt on the old record, not a rotation Lambda.',
    });
  }
}
