import { Aws, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CAPTURE_COLUMNS, CAPTURE_LAYOUT, CAPTURE_PARTITION_KEYS } from '#contracts';
import type { ArtifactBucket } from './artifact-bucket.ts';
import { CaptureParking } from './capture-parking.ts';

/** Properties of {@link CaptureStream}. */
export interface CaptureStreamProps {
  /** The bucket receiving the Parquet files under `CAPTURE_LAYOUT.s3Prefix`. */
  readonly artifacts: ArtifactBucket;
  /** Customer-managed key of the bucket; also encrypts the parking queue. */
  readonly key: kms.IKey;
  /** Environment name: part of the Glue database name. */
  readonly envName: string;
  /** Days a capture file is kept (lifecycle expiry of the prefix). */
  readonly ttlDays: number;
  /**
   * Firehose buffering interval, seconds. @default 300
   */
  readonly bufferSeconds?: number;
  /** Firehose buffer size, MiB (Parquet conversion needs at least 64). @default 128 */
  readonly bufferMb?: number;
  /**
   * Visibility timeout of the parking queue (`CaptureParkingProps.visibility`).
   * @default Duration.seconds(360)
   */
  readonly parkingVisibility?: Duration;
  /** Receives of a parked message before its dead-letter queue. @default 100 */
  readonly maxReceiveCount?: number;
  readonly removalPolicy: RemovalPolicy;
}

/** The JQ query of the stream's dynamic partitioning: the `CAPTURE_PARTITION_KEYS` of a record. */
export const CAPTURE_PARTITION_QUERY = '{model: .model, date: .at[0:10], hour: .at[11:13]}';

/**
 * The high-volume capture path (README "Capture at scale"): an Amazon Data Firehose stream
 * (Direct PUT, server-side encrypted) that splits the producer's packed JSON-lines records
 * (`RecordDeAggregation`), partitions them by model/date/hour with a JQ query (dynamic
 * partitioning: can only be enabled when a stream is created), converts them to Snappy Parquet
 * with the schema of a Glue table, and delivers them under `CAPTURE_LAYOUT.s3Partition` of the
 * artifact bucket; what it cannot partition or convert lands under `CAPTURE_LAYOUT.s3ErrorPrefix`.
 *
 * The Glue table (`features map<string,double>`, columns `CAPTURE_COLUMNS`) uses partition
 * projection, so Athena queries new hours without crawlers or `MSCK REPAIR`. Entries the stream
 * rejects at PutRecordBatch never reach its error prefix: the producer parks them in
 * `parking` ({@link CaptureParking}: KMS, TLS only, 14 days) and counts them (`CapturesParked`).
 */
export class CaptureStream extends Construct {
  public readonly deliveryStream: firehose.CfnDeliveryStream;
  public readonly database: glue.CfnDatabase;
  public readonly table: glue.CfnTable;
  /** The parking queue (and its dead-letter queue) of the rows PutRecordBatch gave up on. */
  public readonly parking: CaptureParking;
  /** Name of the delivery stream (`VIGIL_CAPTURE_STREAM`). */
  public readonly streamName: string;
  public readonly streamArn: string;
  /** Read the Parquet partitions (drift evaluation): GetObject and ListBucket under `captures/`. */
  public readonly readPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: CaptureStreamProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const bucket = props.artifacts.bucket;
    const dbName = `vigil_${props.envName.replace(/[^a-z0-9]/g, '_')}`;
    const tableName = 'captures';

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: dbName, description: 'Vigil captures (Firehose → Parquet)' },
    });
    this.database.applyRemovalPolicy(props.removalPolicy);

    const location = `s3://${bucket.bucketName}/${CAPTURE_LAYOUT.s3Prefix}`;
    this.table = new glue.CfnTable(this, 'Table', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: dbName,
      tableInput: {
        name: tableName,
        description: 'Scored rows captured by the score function; one row per capture',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: CAPTURE_PARTITION_KEYS.map((name) => ({ name, type: 'string' })),
        parameters: {
          classification: 'parquet',
          // Partition projection: Athena computes the partitions instead of reading them from Glue.
          'projection.enabled': 'true',
          'projection.model.type': 'injected',
          'projection.date.type': 'date',
          'projection.date.format': 'yyyy-MM-dd',
          'projection.date.range': 'NOW-3YEARS,NOW+1DAY',
          'projection.date.interval': '1',
          'projection.date.interval.unit': 'DAYS',
          'projection.hour.type': 'integer',
          'projection.hour.range': '0,23',
          'projection.hour.digits': '2',
          'storage.location.template': `${location}model=\${model}/date=\${date}/hour=\${hour}/`,
        },
        storageDescriptor: {
          location,
          columns: CAPTURE_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
          },
        },
      },
    });
    this.table.addDependency(this.database);
    this.table.applyRemovalPolicy(props.removalPolicy);

    // Id `Default`: the queues keep the logical ids they had when this construct made them itself.
    this.parking = new CaptureParking(this, 'Default', {
      key: props.key,
      ...(props.parkingVisibility ? { visibility: props.parkingVisibility } : {}),
      ...(props.maxReceiveCount ? { maxReceiveCount: props.maxReceiveCount } : {}),
      removalPolicy: props.removalPolicy,
    });

    const logGroup = new logs.LogGroup(this, 'DeliveryLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy,
    });
    const logStream = new logs.LogStream(this, 'DeliveryLogStream', { logGroup });

    // The stream's role: write the two prefixes, read the table's schema, use the bucket's key.
    const role = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'Vigil capture stream: writes Parquet captures to the artifact bucket',
    });
    const objectPrefixes = [CAPTURE_LAYOUT.s3Prefix, CAPTURE_LAYOUT.s3ErrorPrefix];
    const policy = new iam.Policy(this, 'DeliveryPolicy', {
      statements: [
        new iam.PolicyStatement({
          actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
          resources: [bucket.bucketArn],
        }),
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'],
          resources: objectPrefixes.map((p) => bucket.arnForObjects(`${p}*`)),
        }),
        new iam.PolicyStatement({
          actions: ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'],
          resources: [
            stack.formatArn({ service: 'glue', resource: 'catalog' }),
            stack.formatArn({ service: 'glue', resource: 'database', resourceName: dbName }),
            stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${dbName}/${tableName}` }),
          ],
        }),
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [props.key.keyArn],
        }),
        new iam.PolicyStatement({ actions: ['logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
      ],
    });
    policy.attachToRole(role);
    const bucketId = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    for (const p of objectPrefixes) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${p}*]`,
        reason: `Firehose names each object it delivers (partition, time, uuid) under ${p}; writing them needs the prefix wildcard.`,
      });
    }

    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'DeliveryStream', {
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      extendedS3DestinationConfiguration: {
        bucketArn: bucket.bucketArn,
        roleArn: role.roleArn,
        prefix:
          `${CAPTURE_LAYOUT.s3Prefix}model=!{partitionKeyFromQuery:model}/` +
          'date=!{partitionKeyFromQuery:date}/hour=!{partitionKeyFromQuery:hour}/',
        errorOutputPrefix: `${CAPTURE_LAYOUT.s3ErrorPrefix}!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/`,
        bufferingHints: {
          intervalInSeconds: props.bufferSeconds ?? 300,
          sizeInMBs: props.bufferMb ?? 128,
        },
        // Parquet carries its own (Snappy) compression; Firehose requires UNCOMPRESSED with conversion.
        compressionFormat: 'UNCOMPRESSED',
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: props.key.keyArn } },
        dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: 'RecordDeAggregation',
              parameters: [{ parameterName: 'SubRecordType', parameterValue: 'JSON' }],
            },
            {
              type: 'MetadataExtraction',
              parameters: [
                { parameterName: 'MetadataExtractionQuery', parameterValue: CAPTURE_PARTITION_QUERY },
                { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
              ],
            },
          ],
        },
        dataFormatConversionConfiguration: {
          enabled: true,
          inputFormatConfiguration: { deserializer: { openXJsonSerDe: {} } },
          outputFormatConfiguration: { serializer: { parquetSerDe: { compression: 'SNAPPY' } } },
          schemaConfiguration: {
            catalogId: Aws.ACCOUNT_ID,
            databaseName: dbName,
            tableName,
            region: Aws.REGION,
            roleArn: role.roleArn,
            versionId: 'LATEST',
          },
        },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: logGroup.logGroupName,
          logStreamName: logStream.logStreamName,
        },
      },
    });
    this.deliveryStream.node.addDependency(policy);
    this.deliveryStream.addDependency(this.table);
    this.streamName = this.deliveryStream.ref;
    this.streamArn = this.deliveryStream.attrArn;

    this.readPolicy = new iam.ManagedPolicy(this, 'ReadPolicy', {
      description: 'Read capture Parquet files under the artifact bucket capture prefix',
      statements: [
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [bucket.arnForObjects(`${CAPTURE_LAYOUT.s3Prefix}*`)],
        }),
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${CAPTURE_LAYOUT.s3Prefix}*`] } },
        }),
        new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.key.keyArn] }),
      ],
    });
    Validations.of(this.readPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${CAPTURE_LAYOUT.s3Prefix}*]`,
      reason: 'Capture files are named by Firehose per delivery; reading a window needs the prefix wildcard.',
    });

    // Captures expire like the table's TTL; error records are kept as long, for inspection.
    for (const prefix of objectPrefixes) {
      bucket.addLifecycleRule({
        prefix,
        expiration: Duration.days(props.ttlDays),
        noncurrentVersionExpiration: Duration.days(1),
      });
    }
  }
}
