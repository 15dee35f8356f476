import type { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { restrictGrantsToAwsServices } from './key-grants.ts';

/** An AWS service allowed to publish, and the ARNs of its resources that may do so. */
export interface TopicPublisher {
  /** Service principal, e.g. `cloudwatch.amazonaws.com` or `events.amazonaws.com`. */
  readonly service: string;
  /**
   * `aws:SourceArn` patterns of the publishing resources (alarms, rules) in this account, e.g.
   * `arn:aws:cloudwatch:<region>:<account>:alarm:*`; the statement also pins `aws:SourceAccount`.
   */
  readonly sourceArns: string[];
}

/** Properties of {@link NotificationTopic}. */
export interface NotificationTopicProps {
  /** Shown in e-mail notifications. */
  readonly displayName: string;
  /**
   * AWS services that publish to the topic; each is allowed on the topic policy and the key.
   * @default - none
   */
  readonly publishers?: TopicPublisher[];
  /**
   * E-mail subscribed to the topic (the recipient must confirm the subscription once).
   * @default - no subscription
   */
  readonly email?: string;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * An SNS topic encrypted with its own customer-managed key (rotation on), TLS-only, that the named
 * AWS services may publish to.
 *
 * Both halves are needed: an SSE topic needs the publishing service allowed on the key, and a topic
 * with any policy (`enforceSSL` writes one holding only the TLS deny) no longer has SNS's default
 * policy, so a service's `sns:Publish` must be allowed explicitly — scoped by `aws:SourceArn` and
 * `aws:SourceAccount` so no other account's alarm or rule can publish through the service.
 */
export class NotificationTopic extends Construct {
  public readonly topic: sns.Topic;
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: NotificationTopicProps) {
    super(scope, id);
    const publishers = props.publishers ?? [];
    for (const p of publishers) {
      if (p.sourceArns.length === 0) {
        throw new Error(
          `NotificationTopic ${this.node.path}: publisher ${p.service} needs at least one sourceArn`,
        );
      }
    }
    this.key = new kms.Key(this, 'Key', {
      description: `Encrypts the ${props.displayName} topic`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    restrictGrantsToAwsServices(this.key);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName,
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const p of publishers) {
      const conditions = {
        ArnLike: { 'aws:SourceArn': p.sourceArns },
        StringEquals: { 'aws:SourceAccount': this.topic.env.account },
      };
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(p.service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          // In a key policy "*" means this key.
          resources: ['*'],
          conditions,
        }),
      );
      this.topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Publish-${p.service.split('.')[0]}`,
          principals: [new iam.ServicePrincipal(p.service)],
          actions: ['sns:Publish'],
          resources: [this.topic.topicArn],
          conditions,
        }),
      );
    }
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}
