/** The integration-test app of one small Vigil environment; see integ.vigil.ts. */
import { ExpectedResult, IntegTest, InvocationType } from '@aws-cdk/integ-tests-alpha';
import { type App, Duration, Stack } from 'aws-cdk-lib';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { hashApiKey } from '#core/auth.ts';
import { loadConfig } from '../../lib/config.ts';
import { type AddVigilStacksOptions, addVigilStacks } from '../../lib/vigil-app.ts';

/**
 * Test-only key, valid solely in the throwaway environment this test creates and destroys. A fixed
 * value keeps the snapshot stable; it authorizes nothing anywhere else.
 */
const INTEG_API_KEY = 'vgl_integ-throwaway-environment-key';

/**
 * Adds the environment under test, the probe stack and the assertions to `app`. Shared by the
 * deployable entry (`integ.vigil.ts`) and the offline snapshot test (`integ-snapshot.test.ts`).
 */
export const buildIntegApp = (app: App, options: AddVigilStacksOptions = {}): IntegTest => {
  const config = loadConfig('dev');
  const vigil = addVigilStacks(app, config, options);

  // A probe queue subscribed to the alarm topic shows that CloudWatch's publish reaches subscribers.
  const probe = new Stack(app, 'VigilIntegProbe');
  const alarmInbox = new sqs.Queue(probe, 'AlarmInbox', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.hours(1),
  });
  vigil.observability.alarmTopic.topic.addSubscription(
    new SqsSubscription(alarmInbox, { rawMessageDelivery: true }),
  );

  const integ = new IntegTest(app, 'VigilDev', {
    testCases: [vigil.data, vigil.api, vigil.drift, vigil.observability, probe],
    diffAssets: false,
    cdkCommandOptions: { destroy: { args: { force: true } } },
  });
  const { assertions } = integ;
  const url = vigil.api.api.apiEndpoint;

  // The API is up and refuses a request without a key.
  assertions.httpApiCall(`${url}/health`).expect(ExpectedResult.objectLike({ status: 200 }));
  assertions
    .httpApiCall(`${url}/v1/models/default/score`, { method: 'POST', body: JSON.stringify({ rows: [] }) })
    .expect(ExpectedResult.objectLike({ status: 401 }));

  // Create a key the way `vigil keys create` does (hash only), then score with it: the fresh
  // environment has no model registered, so the answer is a typed 404, past the authorizer.
  assertions
    .awsApiCall('SecretsManager', 'putSecretValue', {
      SecretId: vigil.data.apiKeys.secretArn,
      SecretString: JSON.stringify({
        keys: [
          { id: 'integ', hash: hashApiKey(INTEG_API_KEY), scope: 'score', createdAt: '2026-01-01T00:00:00Z' },
        ],
      }),
    })
    .next(
      assertions
        .httpApiCall(`${url}/v1/models/default/score`, {
          method: 'POST',
          headers: { 'x-api-key': INTEG_API_KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ rows: [{ cpu: 95, memory: 85, network: 500 }] }),
        })
        .expect(ExpectedResult.objectLike({ status: 404, body: { error: { code: 'ModelNotFound' } } })),
    );

  // Fire an alarm and see the SNS delivery.
  const alarmName = `Vigil-${config.envName}-ScoreErrors`;
  assertions
    .awsApiCall('CloudWatch', 'setAlarmState', {
      AlarmName: alarmName,
      StateValue: 'ALARM',
      StateReason: 'integration test: delivery check',
    })
    .next(
      assertions
        .awsApiCall('SQS', 'receiveMessage', { QueueUrl: alarmInbox.queueUrl, WaitTimeSeconds: 20 })
        .assertAtPath('Messages.0.Body', ExpectedResult.stringLikeRegexp(alarmName))
        .waitForAssertions({ totalTimeout: Duration.minutes(5) }),
    );

  // One scheduled drift evaluation, invoked as the schedule does (asynchronously, the schedule's input).
  assertions
    .invokeFunction({
      functionName: vigil.drift.evaluator.function.functionName,
      invocationType: InvocationType.EVENT,
      payload: JSON.stringify({ model: config.drift.models[0] }),
    })
    .next(
      assertions
        .awsApiCall('SQS', 'receiveMessage', {
          QueueUrl: vigil.drift.evaluationFailures.queueUrl,
          WaitTimeSeconds: 20,
        })
        .assertAtPath(
          'Messages.0.Body',
          ExpectedResult.stringLikeRegexp('DriftEvaluationError|ModelNotFound'),
        )
        .waitForAssertions({ totalTimeout: Duration.minutes(10), interval: Duration.seconds(30) }),
    );

  // Rolling back: the deployment group watches the rollback alarms and stops on them.
  assertions
    .awsApiCall('CodeDeploy', 'getDeploymentGroup', {
      applicationName: vigil.api.deploymentGroup.application.applicationName,
      deploymentGroupName: vigil.api.deploymentGroup.deploymentGroupName,
    })
    .expect(
      ExpectedResult.objectLike({
        deploymentGroupInfo: {
          alarmConfiguration: { enabled: true },
          autoRollbackConfiguration: { enabled: true },
        },
      }),
    );

  return integ;
};
