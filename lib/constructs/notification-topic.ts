import type { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Properties of {@link NotificationTopic}. */
export interface NotificationTopicProps {
  /** Shown in e-mail notifications. */
  readonly displayName: string;
  /**
   * AWS services that publish to the topic (e.g. `cloudwatch.amazonaws.com`); each may use the key.
   * @default - none
   */
  readonly publisherServices?: string[];
  /**
   * E-mail subscribed to the topic.
   * @default - no subscription
   */
  readonly email?: string;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * An SNS topic encrypted with its own customer-managed key (rotation on), TLS-only, that the named
 * AWS services may publish to: SSE topics need the publishing service to be allowed on the key.
 */
export class NotificationTopic extends Construct {
  public readonly topic: sns.Topic;
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: NotificationTopicProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: `Encrypts the ${props.displayName} topic`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    for (const service of props.publisherServices ?? []) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          // In a key policy "*" means this key.
          resources: ['*'],
        }),
      );
    }
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName,
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}
