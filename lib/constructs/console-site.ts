import path from 'node:path';
import {
  AssetHashType,
  CfnOutput,
  DockerImage,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CONSOLE_CSP } from '#contracts';
import { buildConsoleSync } from '../../web/build.ts';

/** Props of {@link ConsoleSite}. */
export interface ConsoleSiteProps {
  /** The HTTP API the console reads, reached through `/v1/*` on the same distribution. */
  readonly api: apigw.IHttpApi;
  /**
   * A custom domain for the console; needs `certificateArn` (an ACM certificate in us-east-1).
   * @default none: CloudFront's `*.cloudfront.net` name and default certificate
   */
  readonly domainName?: string;
  /** ACM certificate (us-east-1) for `domainName`. @default none */
  readonly certificateArn?: string;
  /** Retention of the copy function's logs. @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY (the files are rebuilt from the sources on every deploy) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The console (web/) on S3 behind CloudFront: a private bucket read through origin access
 * control, the HTTP API behind a `/v1/*` behaviour of the same distribution (one origin: no
 * CORS, the API key never leaves it), security headers on every response (a CSP that allows no
 * inline script and no other origin, HSTS, nosniff, frame denial), HTTPS only, and access logs.
 * The files are built from the checkout at synth time with the esbuild the project uses.
 */
export class ConsoleSite extends Construct {
  public readonly distribution: cloudfront.Distribution;
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    if (Boolean(props.domainName) !== Boolean(props.certificateArn)) {
      throw new Error('ConsoleSite: domainName and certificateArn go together (set both, or neither)');
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const logBucket = new s3.Bucket(this, 'Logs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // CloudFront's standard logs are delivered with an ACL, which needs object-writer ownership.
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
    Validations.of(logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket is the access-log destination itself; logging it into itself would loop.',
    });
    this.bucket = new s3.Bucket(this, 'Files', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsBucket: logBucket,
      serverAccessLogsPrefix: 's3/',
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Vigil console: CSP without inline script or other origins, HSTS, nosniff, no framing',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: CONSOLE_CSP, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
    const region = Stack.of(this).region;
    const apiOrigin = new origins.HttpOrigin(
      `${props.api.apiId}.execute-api.${region}.${Stack.of(this).urlSuffix}`,
      {
        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      },
    );
    const certificate = props.certificateArn
      ? acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn)
      : undefined;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Vigil console and API',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: headers,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      },
      additionalBehaviors: {
        // The API: never cached, every header (x-api-key) and the query string passed on, all methods.
        '/v1/*': {
          origin: apiOrigin,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: headers,
        },
      },
      ...(certificate && props.domainName
        ? {
            domainNames: [props.domainName],
            certificate,
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket,
      logFilePrefix: 'cloudfront/',
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'Operators of a Vigil deployment may work from anywhere; access is controlled by API keys.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'The distribution serves static files and forwards to the HTTP API, which has its own throttling and key authorizer; a WAF web ACL is an account-level choice.',
      },
    );
    if (!certificate) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          "Without a custom domain CloudFront serves its default *.cloudfront.net certificate, whose TLS policy cannot be raised (TLSv1 is CloudFront's floor for it); set console.domainName and certificateArn in lib/config.ts for TLSv1.2_2021.",
      });
    }

    // The built files, hashed by the build's output: the same sources always give the same asset.
    const files = new s3assets.Asset(this, 'Build', {
      path: path.resolve(import.meta.dirname, '../../web/src'),
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never pulled: the local esbuild build below always succeeds or throws.
        image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
        local: {
          tryBundle: (outputDir: string) => {
            buildConsoleSync(outputDir);
            return true;
          },
        },
      },
    });
    // The copy function gets a role of exact grants (CDK's own would add s3:GetObject*, s3:List*…).
    const deployLogs = new logs.LogGroup(this, 'DeployLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'DeployRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Copies the built console into its bucket and invalidates the distribution',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [files.bucket.arnForObjects(files.s3ObjectKey)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
        resources: [
          Stack.of(this).formatArn({
            service: 'cloudfront',
            region: '',
            resource: 'distribution',
            resourceName: this.distribution.distributionId,
          }),
        ],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${deployLogs.logGroupArn}`],
      }),
    );
    // The finding id names the bucket by its logical id exactly as cdk-nag flattens it.
    const filesLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${filesLogicalId}.Arn>/*]`,
      reason:
        "Only the console bucket's own objects: a sync replaces and prunes files it cannot name in advance.",
    });
    new s3deploy.BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      distribution: this.distribution,
      sources: [s3deploy.Source.bucket(files.bucket, files.s3ObjectKey)],
      role: role.withoutPolicyUpdates(),
      logGroup: deployLogs,
      memoryLimit: 256,
    });
    // The copy function is a CDK-owned singleton at stack scope: its runtime is CDK's choice.
    for (const child of Stack.of(this).node.children) {
      if (child.node.id.startsWith('Custom::CDKBucketDeployment')) {
        Validations.of(child).acknowledge({
          id: 'AwsSolutions-L1',
          reason: "CDK's BucketDeployment handler; its runtime moves with aws-cdk-lib upgrades.",
        });
      }
    }
    new CfnOutput(this, 'ConsoleUrl', {
      value: `https://${props.domainName ?? this.distribution.distributionDomainName}/`,
      description: 'The Vigil console (and the API under /v1/ on the same origin)',
    });
  }
}
