import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { ConsoleSite } from '../../lib/constructs/console-site.ts';
import type { CfnProps } from './harness.ts';

/** The console's CloudFront site, one behaviour per test, on a fresh stack each time. */

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';

function site(props: { domainName?: string; certificateArn?: string } = {}) {
  // Bundling skipped: these tests look at the template, not at the files.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'S');
  const api = new apigw.HttpApi(stack, 'Api');
  const console = new ConsoleSite(stack, 'Console', { api, ...props });
  return { app, stack, console, template: Template.fromStack(stack) };
}

const nagFindings = (app: App) =>
  new AwsSolutionsChecks(app)
    .validateScope(app)
    .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath ?? '?'}`))
    .filter((f) => f.includes('/Console/') || f.includes('CDKBucketDeployment'));

describe('ConsoleSite', () => {
  it('reads its bucket through origin access control, never a public bucket', () => {
    const { template } = site();
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 's3/' }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:GetObject',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('sends /v1/* to the HTTP API on the same distribution, uncached, with every method and header', () => {
    const { template } = site();
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
        CacheBehaviors: [
          Match.objectLike({
            PathPattern: '/v1/*',
            ViewerProtocolPolicy: 'https-only',
            AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
            // Managed CachingDisabled and AllViewerExceptHostHeader policies.
            CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
            OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
          }),
        ],
        Origins: Match.arrayWith([
          Match.objectLike({
            CustomOriginConfig: Match.objectLike({
              OriginProtocolPolicy: 'https-only',
              OriginSSLProtocols: ['TLSv1.2'],
            }),
          }),
        ]),
        Logging: Match.objectLike({ Prefix: 'cloudfront/' }),
      }),
    });
  });

  it('adds no CORS anywhere: the API is on the same origin', () => {
    const { template } = site();
    expect(JSON.stringify(template.toJSON())).not.toMatch(/CorsConfiguration|Access-Control-Allow-Origin/);
  });

  it('sends a CSP that allows no inline script and no third-party origin, with HSTS and nosniff', () => {
    const { template } = site();
    const [policy] = Object.values(
      template.findResources('AWS::CloudFront::ResponseHeadersPolicy'),
    ) as CfnProps[];
    const sec = policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = String(sec.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(sec.StrictTransportSecurity.AccessControlMaxAgeSec).toBe(365 * 24 * 3600);
    expect(sec.ContentTypeOptions.Override).toBe(true);
    expect(sec.FrameOptions.FrameOption).toBe('DENY');
  });

  it('without a domain: is cdk-nag clean with exactly the TLS finding acknowledged', () => {
    const { app, console: c } = site();
    expect(nagFindings(app)).toEqual([]);
    const acks = JSON.stringify(c.distribution.node.metadata);
    expect(acks).toContain('AwsSolutions-CFR4');
  });

  it('with a domain and certificate: enforces TLSv1.2_2021 and needs no TLS acknowledgement', () => {
    const { app, template, console: c } = site({ domainName: 'console.example.com', certificateArn: CERT });
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['console.example.com'],
        ViewerCertificate: Match.objectLike({
          AcmCertificateArn: CERT,
          MinimumProtocolVersion: 'TLSv1.2_2021',
        }),
      }),
    });
    expect(nagFindings(app)).toEqual([]);
    expect(JSON.stringify(c.distribution.node.metadata)).not.toContain('AwsSolutions-CFR4');
  });

  it('copies the files with a role of exact grants: no wildcard S3 action, no managed policy', () => {
    const { template } = site();
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: { Description: Match.stringLikeRegexp('Copies the built console') },
    });
    expect(Object.keys(roles)).toHaveLength(1);
    const [roleId] = Object.keys(roles);
    expect(Object.values(roles)[0]).not.toHaveProperty('Properties.ManagedPolicyArns');
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p).includes(roleId),
    );
    const actions = JSON.stringify(
      policies.map((p) => (p as { Properties: { PolicyDocument: unknown } }).Properties.PolicyDocument),
    );
    expect(actions).not.toMatch(/"s3:[A-Za-z]*\*"/);
    expect(actions).toContain('cloudfront:CreateInvalidation');
  });

  it('refuses a domain without a certificate, with a message that says what to do', () => {
    expect(() => site({ domainName: 'console.example.com' })).toThrow(
      /domainName and certificateArn go together/,
    );
  });

  it('is part of every environment by default; config refuses a certificate outside us-east-1', () => {
    expect(loadConfig('prod').console.enabled).toBe(true);
    expect(() =>
      loadConfig('dev', {
        console: {
          enabled: true,
          domainName: 'c.example.com',
          certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/x',
        },
      }),
    ).toThrow(/us-east-1/);
  });
});
