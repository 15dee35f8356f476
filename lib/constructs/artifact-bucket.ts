import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { STAGING_PREFIX } from '#contracts';

/** Properties of {@link ArtifactBucket}. */
export interface ArtifactBucketProps {
  /** Customer-managed key encrypting model packages. */
  readonly encryptionKey: kms.IKey;
  /** Applied to both buckets. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Empty both buckets (every object version) when they are deleted, so a stack delete with
   * `DESTROY` actually succeeds: CloudFormation cannot delete a bucket that holds objects.
   * @default true when `removalPolicy` is `DESTROY`, else false
   */
  readonly autoDeleteObjects?: boolean;
  /**
   * Key prefix holding model packages; the read policy is limited to it.
   * @default 'models/'
   */
  readonly modelPrefix?: string;
  /**
   * Days after which non-current object versions expire.
   * @default 90
   */
  readonly noncurrentVersionDays?: number;
}

/**
 * The S3 bucket holding model packages (`s3://bucket/models/<name>/<version>/`), secure by default:
 * public access blocked, TLS only, versioned, SSE-KMS with the given key, server access logs to a
 * second bucket. It also owns the one read policy every reader (score, explain, drift, pods)
 * attaches, so the S3 grant and its single reviewed wildcard (`models/*`) live in one place.
 */
export class ArtifactBucket extends Construct {
  /** The model package bucket. */
  public readonly bucket: s3.Bucket;
  /** The server access log bucket. */
  public readonly accessLogs: s3.Bucket;
  /** Read-only access to the model prefix: attach it to any role that loads model packages. */
  public readonly readPolicy: iam.ManagedPolicy;
  /** The prefix under which model packages live, e.g. `models/`. */
  public readonly modelPrefix: string;
  /** The prefix of staged package uploads (presigned PUTs), `STAGING_PREFIX`; expired after a day. */
  public readonly stagingPrefix: string = STAGING_PREFIX;
  /**
   * What registering a package needs, and nothing more: PutObject of packages under the model
   * prefix, PutObject (for presigned uploads) and GetObject of staged zips under the staging
   * prefix, and the KMS use SSE-KMS needs for those. Attach it to the models function only.
   */
  public readonly registerPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ArtifactBucketProps) {
    super(scope, id);
    this.modelPrefix = props.modelPrefix ?? 'models/';
    if (!this.modelPrefix.endsWith('/') || this.modelPrefix.startsWith('/')) {
      throw new Error(`ArtifactBucket: modelPrefix must look like "models/" (got "${this.modelPrefix}")`);
    }

    const autoDeleteObjects = props.autoDeleteObjects ?? props.removalPolicy === RemovalPolicy.DESTROY;
    if (autoDeleteObjects && props.removalPolicy !== RemovalPolicy.DESTROY) {
      throw new Error(
        'ArtifactBucket: autoDeleteObjects needs removalPolicy DESTROY (it would empty a retained bucket)',
      );
    }

    // Log delivery through a bucket policy (logging.s3.amazonaws.com) instead of the legacy
    // LogDeliveryWrite ACL, so the log bucket can disable ACLs altogether. Set on this scope, the
    // flag holds for both buckets whatever the app's context says.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    // Access-log targets cannot use SSE-KMS with a customer key, so S3-managed keys here.
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log destination; logging it to itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'artifacts/',
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 90) },
        // Staged uploads are registered within minutes or abandoned.
        {
          prefix: STAGING_PREFIX,
          expiration: Duration.days(1),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects,
    });

    this.readPolicy = new iam.ManagedPolicy(this, 'ReadPolicy', {
      description: 'Read model packages under the artifact bucket model prefix',
      statements: [
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [this.bucket.arnForObjects(`${this.modelPrefix}*`)],
        }),
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${this.modelPrefix}*`] } },
        }),
        new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.encryptionKey.keyArn] }),
      ],
    });
    this.registerPolicy = new iam.ManagedPolicy(this, 'RegisterPolicy', {
      description: 'Register model packages: write packages, presign and read staged uploads',
      statements: [
        new iam.PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [this.bucket.arnForObjects(`${this.modelPrefix}*`)],
        }),
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:GetObject'],
          resources: [this.bucket.arnForObjects(`${STAGING_PREFIX}*`)],
        }),
        new iam.PolicyStatement({
          actions: ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [props.encryptionKey.keyArn],
        }),
      ],
    });
    // The finding id names the bucket by its logical id exactly as cdk-nag flattens it.
    const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    for (const prefix of [this.modelPrefix, STAGING_PREFIX]) {
      Validations.of(this.registerPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
        reason: `Package and staged-upload keys are generated per version/upload under ${prefix}; writing them needs the prefix wildcard.`,
      });
    }
    Validations.of(this.readPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${this.modelPrefix}*]`,
      reason:
        'Model packages are objects under the model prefix; reading any of them needs the prefix wildcard.',
    });
  }

  /**
   * A managed policy, in this bucket's stack, allowing `actions` on the objects under each prefix.
   * Roles of other stacks attach it: the prefix wildcard's acknowledgement can then name the
   * bucket by its logical id, as cdk-nag flattens it here, instead of a cross-stack token.
   */
  prefixPolicy(
    id: string,
    actions: readonly string[],
    prefixes: readonly string[],
    why: string,
  ): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, id, {
      description: `${actions.join(', ')} under ${prefixes.join(', ')} of the artifact bucket`,
      statements: [
        new iam.PolicyStatement({
          actions: [...actions],
          resources: prefixes.map((p) => this.bucket.arnForObjects(`${p}*`)),
        }),
      ],
    });
    const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    for (const prefix of prefixes) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
        reason: `${why} under the ${prefix} prefix only: their keys are made per run, so not known at deploy time.`,
      });
    }
    return policy;
  }
}
