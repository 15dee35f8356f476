import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';

/**
 * Denies `kms:CreateGrant` on the key unless the grant is for an AWS resource or the caller is an
 * AWS service (Control Tower CT.KMS.PR.3): DynamoDB, S3, Secrets Manager and EKS create the grants
 * they need; no principal can hand the key to someone else through a grant.
 */
export const restrictGrantsToAwsServices = (key: kms.Key): kms.Key => {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsNotForAwsResources',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      // In a key policy "*" means this key.
      resources: ['*'],
      conditions: {
        BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
      },
    }),
  );
  return key;
};
