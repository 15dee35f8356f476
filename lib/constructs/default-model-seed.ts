import { join } from 'node:path';
import { CustomResource, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { DEFAULT_MODEL_SEED, ENV, SERVICES } from '#contracts';
import type { ArtifactBucket } from './artifact-bucket.ts';
import { ModelFunction, REPO_ROOT } from './model-function.ts';

/** The shipped default package, relative to the repo root (what the twin bootstraps from). */
export const DEFAULT_PACKAGE_DIR = 'models/default';

/** Properties of {@link DefaultModelSeed}. */
export interface DefaultModelSeedProps {
  /** The seed function's handler entry (`HANDLERS.seedDefaultModel`). */
  readonly entry: string;
  readonly environmentName: string;
  readonly registryTable: ITable;
  readonly artifacts: ArtifactBucket;
  /** The key of the artifact bucket and the registry table. */
  readonly key: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /**
   * Directory of the package to seed.
   * @default DEFAULT_PACKAGE_DIR
   */
  readonly packageDir?: string;
}

/**
 * Registers the shipped default model as `production` on the first deploy of an environment, so the
 * API scores right after `cdk deploy` as the twin does on first start. The package is a CDK file
 * asset (zipped at synth, uploaded to the bootstrap bucket at deploy); a Lambda-backed custom
 * resource hands it to the registry's own bootstrap use case, which does nothing once `production`
 * exists, so a later deploy (even with a rebuilt package) never overwrites a promotion. Deleting
 * the seed leaves the registry as it is.
 *
 * The function reads exactly that asset object, writes packages under the model prefix and items of
 * the registry table: no staging access, no other bucket.
 */
export class DefaultModelSeed extends Construct {
  public readonly function: ModelFunction;
  public readonly asset: Asset;
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: DefaultModelSeedProps) {
    super(scope, id);
    this.asset = new Asset(this, 'Package', {
      path: join(REPO_ROOT, props.packageDir ?? DEFAULT_PACKAGE_DIR),
      // The training data beside the package is the twin's business, not the registry's.
      exclude: ['data.csv'],
    });

    this.function = new ModelFunction(this, 'Seed', {
      entry: props.entry,
      serviceName: SERVICES.seedDefaultModel,
      description:
        'Registers the shipped default model as production when the registry has none (deploy time)',
      environmentName: props.environmentName,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      memorySize: 512,
      timeout: Duration.minutes(2),
    }).bindTable({ table: props.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'readWrite' });
    this.function.function.addEnvironment(ENV.ARTIFACT_BUCKET, props.artifacts.bucket.bucketName);
    const role = this.function.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.asset.bucket.arnForObjects(this.asset.s3ObjectKey)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [props.artifacts.bucket.arnForObjects(`${props.artifacts.modelPrefix}*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [props.key.keyArn],
      }),
    );
    const bucketLogicalId = Stack.of(this).getLogicalId(
      props.artifacts.bucket.node.defaultChild as s3.CfnBucket,
    );
    const defaultPolicy = role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) {
      Validations.of(defaultPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${props.artifacts.modelPrefix}*]`,
        reason: `Package keys are generated per version (${props.artifacts.modelPrefix}<name>/<version>/…); writing the seeded version's files needs the prefix wildcard.`,
      });
    }

    // Lambda-backed (no provider framework): CloudFormation invokes the function with the deploy
    // credentials and the function answers the presigned response URL itself.
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.function.function.functionArn,
      resourceType: 'Custom::VigilDefaultModelSeed',
      properties: {
        [DEFAULT_MODEL_SEED.bucketProperty]: this.asset.s3BucketName,
        [DEFAULT_MODEL_SEED.keyProperty]: this.asset.s3ObjectKey,
      },
    });
  }
}
