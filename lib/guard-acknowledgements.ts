import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { VigilConfig } from './config.ts';

/** Prefix of the rule ids of `@cdklabs/cdk-validator-cfnguard` (AWS Control Tower proactive controls). */
const GUARD = 'cdk-validator-cfnguard::';

/**
 * Rule files (by name, as the validator takes them) switched off in the validator itself (bin/app.ts), because their findings cannot be scoped:
 * `lambda_inside_vpc_check` (CT.LAMBDA.PR.3) reports the kubectl provider's functions — which do run
 * in the VPC — with no construct path, since their security group is the cluster's (an attribute of
 * AWS::EKS::Cluster, not a local AWS::EC2::SecurityGroup), so no per-resource acknowledgement can
 * match. Vigil's own functions depart from it on purpose: they reach only AWS APIs over TLS with IAM
 * auth, and a VPC would add NAT cost and cold-start latency without reducing exposure.
 */
export const DISABLED_GUARD_RULES = ['ct-lambda-pr-3'] as const;

/** One accepted Control Tower control: which resources it concerns and why Vigil departs from it. */
interface GuardAcceptance {
  readonly rule: string;
  readonly applies: (r: CfnResource, props: Record<string, unknown>) => boolean;
  readonly reason: string;
}

const typeIs =
  (...types: string[]) =>
  (r: CfnResource): boolean =>
    types.includes(r.cfnResourceType);
const pathHas = (r: CfnResource, part: string): boolean => r.node.path.includes(part);

/**
 * The Control Tower guard rules Vigil does not follow, each with the reason, per environment. The
 * reasons are true of every resource a predicate selects; each acknowledgement is recorded on the
 * one resource it concerns (never a stack or the app), so a new resource of another kind still fails.
 */
const acceptances = (config: VigilConfig): GuardAcceptance[] => [
  {
    rule: 'lambda_function_public_access_prohibited_check',
    applies: (r, p) =>
      r.cfnResourceType === 'AWS::Lambda::Permission' && p.principal === 'apigateway.amazonaws.com',
    reason:
      "API Gateway's invoke permission, scoped by SourceArn to this HTTP API's routes; nothing else may invoke.",
  },
  {
    rule: 'cloudwatch_log_group_encrypted_check',
    applies: typeIs('AWS::Logs::LogGroup'),
    reason:
      'CloudWatch Logs encrypts every log group at rest with service keys; Vigil logs carry no secrets or row payloads (structured Powertools logs, request ids), so a customer key per group buys no confidentiality.',
  },
  {
    rule: 'cloudwatch_log_group_retention_period_check',
    applies: (r, p) => r.cfnResourceType === 'AWS::Logs::LogGroup' && Number(p.retentionInDays) < 365,
    reason: `Retention is chosen per environment: ${config.logRetentionDays} days in ${config.envName}, which holds no audit obligation (prod keeps 365).`,
  },
  {
    rule: 'dynamodb_table_pitr_enabled_check',
    applies: () => !config.pointInTimeRecovery,
    reason: `Point-in-time recovery is off in ${config.envName} by config: its data is disposable test data.`,
  },
  {
    rule: 'cloudwatch_alarm_action_check',
    applies: (r, p) => r.cfnResourceType === 'AWS::CloudWatch::Alarm' && p.alarmActions === undefined,
    reason:
      "A rollback alarm of the score deployment group: CodeDeploy watches it and rolls back; the Observability stack's alarms on the same signals notify people.",
  },
  {
    rule: 'subnet_auto_assign_public_ip_disabled_check',
    applies: (r) => r.cfnResourceType === 'AWS::EC2::Subnet' && pathHas(r, '/PublicSubnet'),
    reason: 'Public subnets hold only the NAT gateway; nodes and the kubectl handler run in private subnets.',
  },
  {
    rule: 'sqs_dlq_check',
    applies: typeIs('AWS::SQS::Queue'),
    reason:
      'These queues are themselves the last stop (schedule dead letters, failed evaluations), alarmed on depth.',
  },
  {
    rule: 's3_bucket_object_lock_enabled_check',
    applies: typeIs('AWS::S3::Bucket'),
    reason:
      'Model packages are versioned and immutable by registry rule; Object Lock would stop dev/staging stacks from ever being deleted.',
  },
  {
    rule: 's3_event_notifications_enabled_check',
    applies: typeIs('AWS::S3::Bucket'),
    reason: 'Nothing reacts to object events: the registry, not the bucket, announces new model versions.',
  },
  ...[
    's3_bucket_versioning_enabled_check',
    's3_bucket_logging_enabled_check',
    's3_bucket_default_encryption_kms_check',
    's3_bucket_acl_prohibited_check',
  ].map(
    (rule): GuardAcceptance => ({
      rule,
      applies: (r) => r.cfnResourceType === 'AWS::S3::Bucket' && pathHas(r, '/Artifacts/AccessLogs/'),
      reason:
        'The server access log bucket: S3 log delivery needs SSE-S3, its objects expire after a year (no versions to keep), and logging it to itself would loop.',
    }),
  ),
  // The console (lib/constructs/console-site.ts): static files of this repository's web/ build on
  // S3 behind CloudFront, and a bucket for CloudFront's and S3's access logs.
  {
    rule: 'cloudfront_origin_failover_enabled_check',
    applies: (r) => r.cfnResourceType === 'AWS::CloudFront::Distribution' && pathHas(r, '/Console/'),
    reason:
      "The console's one S3 origin and the API origin behind /v1/*: failover would need a replica bucket in a second region, and the console is of no use while the API's region is down anyway.",
  },
  ...[
    'cloudfront_custom_ssl_certificate_check',
    'cloudfront_sni_enabled_check',
    'cloudfront_security_policy_check',
  ].map(
    (rule): GuardAcceptance => ({
      rule,
      applies: (r) =>
        r.cfnResourceType === 'AWS::CloudFront::Distribution' &&
        pathHas(r, '/Console/') &&
        !config.console.certificateArn,
      reason: `No console domain in ${config.envName}: CloudFront serves its default *.cloudfront.net certificate, which takes no custom certificate, SNI setting or TLS policy; set console.domainName and certificateArn (lib/config.ts) and these controls hold.`,
    }),
  ),
  {
    rule: 's3_bucket_default_encryption_kms_check',
    applies: (r) => r.cfnResourceType === 'AWS::S3::Bucket' && pathHas(r, '/Console/'),
    reason:
      'Console buckets hold the public web build (no data) and access logs; CloudFront standard-log delivery writes as the log-delivery account, which SSE-S3 serves without granting it a KMS key.',
  },
  {
    rule: 's3_bucket_versioning_enabled_check',
    applies: (r) => r.cfnResourceType === 'AWS::S3::Bucket' && pathHas(r, '/Console/'),
    reason:
      'The files bucket is rebuilt from the repository and pruned on every deploy (old builds live in git), and the log bucket expires its objects after 90 days: no versions worth keeping.',
  },
  {
    rule: 's3_lifecycle_policy_check',
    applies: (r) => r.cfnResourceType === 'AWS::S3::Bucket' && pathHas(r, '/Console/Files/'),
    reason: 'The files bucket holds only the current build, replaced whole on deploy: nothing in it ages.',
  },
  ...['s3_bucket_logging_enabled_check', 's3_bucket_acl_prohibited_check'].map(
    (rule): GuardAcceptance => ({
      rule,
      applies: (r) => r.cfnResourceType === 'AWS::S3::Bucket' && pathHas(r, '/Console/Logs/'),
      reason:
        "The console's log bucket: CloudFront standard logs are delivered by ACL (object-writer ownership, LogDeliveryWrite), and logging the log bucket to itself would loop.",
    }),
  ),
  {
    rule: 'api_gw_v2_authorization_type_configured_check',
    applies: (r, p) => r.cfnResourceType === 'AWS::ApiGatewayV2::Route' && p.routeKey === 'GET /health',
    reason: 'GET /health is public by design (ROUTES marks it so); it returns no data.',
  },
];

/**
 * Records Vigil's accepted departures from the guard rule set on the resources they concern, so
 * `cdk synth` with the CfnGuard policy plugin (bin/app.ts) is clean and every finding still open
 * is a new one.
 */
export const acknowledgeGuardFindings = (stacks: readonly Stack[], config: VigilConfig): void => {
  const rules = acceptances(config);
  for (const stack of stacks) {
    const cluster = stack.node.tryFindChild('Cluster')?.node.tryFindChild('Resource');
    if (cluster) {
      Validations.of(cluster).acknowledge({
        id: 'CloudFormation-Validate::W9009',
        reason:
          "aws-eks-v2 writes EncryptionConfig.Resources ['secrets'], the value EKS requires for secrets encryption; the schema only marks the property deprecated.",
      });
    }
    for (const node of stack.node.findAll() as IConstruct[]) {
      if (!CfnResource.isCfnResource(node)) continue;
      const props = propsOf(node);
      for (const a of rules) {
        if (a.applies(node, props))
          Validations.of(node).acknowledge({ id: `${GUARD}${a.rule}`, reason: a.reason });
      }
    }
  }
};

/** The resource's properties as written (camelCase for L1s), for the predicates above. */
const propsOf = (r: CfnResource): Record<string, unknown> => {
  const l1 = r as unknown as { cfnProperties?: Record<string, unknown> };
  const raw = (l1.cfnProperties ?? {}) as Record<string, unknown>;
  const resolved = Stack.of(r).resolve(raw) as Record<string, unknown>;
  // L1 classes expose lower-camel keys, generic CfnResources CloudFormation's PascalCase.
  return Object.fromEntries(
    Object.entries(resolved).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), v]),
  );
};
