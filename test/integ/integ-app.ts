/** The integration-test app of one small Vigil environment; see integ.vigil.ts. */
import { ExpectedResult, IntegTest, InvocationType, Match } from '@aws-cdk/integ-tests-alpha';
import { type App, Duration, Stack } from 'aws-cdk-lib';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { hashApiKey } from '#core/auth.ts';
import { loadConfig } from '../../lib/config.ts';
import { LIVE_ALIAS } from '../../lib/stacks/api-stack.ts';
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
  const model = config.drift.models[0] as string;
  const scorePath = `${url}/v1/models/${model}/score`;
  const withKey = { 'x-api-key': INTEG_API_KEY, 'content-type': 'application/json' };

  // The API is up and refuses a request without a key.
  assertions.httpApiCall(`${url}/health`).expect(ExpectedResult.objectLike({ status: 200 }));
  assertions
    .httpApiCall(scorePath, { method: 'POST', body: JSON.stringify({ rows: [] }) })
    .expect(ExpectedResult.objectLike({ status: 401 }));

  // The key secret is generated once by CloudFormation with no key in it (its value is not in any
  // template); create a key the way `vigil keys create` does (hash only) and score with it: the
  // Data stack's seed registered the shipped default model as production, so the answer is real.
  const keys = { kms: ['kms:Decrypt', 'kms:GenerateDataKey'], key: vigil.data.key.keyArn };
  const readSecret = assertions.awsApiCall('SecretsManager', 'getSecretValue', {
    SecretId: vigil.data.apiKeys.secretArn,
  });
  readSecret.provider.addToRolePolicy({ Effect: 'Allow', Action: keys.kms, Resource: [keys.key] });
  readSecret.expect(
    ExpectedResult.objectLike({ SecretString: Match.serializedJson(Match.objectLike({ keys: [] })) }),
  );
  const writeKey = assertions.awsApiCall('SecretsManager', 'putSecretValue', {
    SecretId: vigil.data.apiKeys.secretArn,
    SecretString: JSON.stringify({
      keys: [
        { id: 'integ', hash: hashApiKey(INTEG_API_KEY), scope: 'score', createdAt: '2026-01-01T00:00:00Z' },
      ],
    }),
  });
  writeKey.provider.addToRolePolicy({ Effect: 'Allow', Action: keys.kms, Resource: [keys.key] });
  const scored = assertions.httpApiCall(scorePath, {
    method: 'POST',
    headers: withKey,
    body: JSON.stringify({ rows: [{ cpu: 95, memory: 85, network: 500, disk_io: 40, latency: 900 }] }),
  });
  scored.expect(
    ExpectedResult.objectLike({
      status: 200,
      body: { model, version: 1, results: Match.arrayWith([Match.objectLike({})]) },
    }),
  );

  // Fire an alarm and see the SNS delivery.
  const alarmName = `Vigil-${config.envName}-ScoreErrors`;
  const fired = assertions.awsApiCall('CloudWatch', 'setAlarmState', {
    AlarmName: alarmName,
    StateValue: 'ALARM',
    StateReason: 'integration test: delivery check',
  });
  const delivered = assertions
    .awsApiCall('SQS', 'receiveMessage', { QueueUrl: alarmInbox.queueUrl, WaitTimeSeconds: 20 })
    .assertAtPath('Messages.0.Body', ExpectedResult.stringLikeRegexp(alarmName))
    .waitForAssertions({ totalTimeout: Duration.minutes(5) });

  // One scheduled drift evaluation, invoked as the schedule does (asynchronously, the schedule's
  // input), after the scored row was captured (dev samples every row): its report is served.
  const evaluated = assertions.invokeFunction({
    functionName: vigil.drift.evaluator.function.functionName,
    invocationType: InvocationType.EVENT,
    payload: JSON.stringify({ model }),
  });
  const reported = assertions
    .httpApiCall(`${url}/v1/models/${model}/drift`, { headers: withKey })
    .expect(
      ExpectedResult.objectLike({
        status: 200,
        body: { model, reports: Match.arrayWith([Match.objectLike({ model, version: 1 })]) },
      }),
    )
    .waitForAssertions({ totalTimeout: Duration.minutes(5), interval: Duration.seconds(20) });

  // A failed evaluation (a model the registry does not know) is not dropped: after Lambda's async
  // retries it lands in the on-failure queue.
  const failedEvaluation = assertions.invokeFunction({
    functionName: vigil.drift.evaluator.function.functionName,
    invocationType: InvocationType.EVENT,
    payload: JSON.stringify({ model: 'integ-unregistered' }),
  });
  const parked = assertions
    .awsApiCall('SQS', 'receiveMessage', {
      QueueUrl: vigil.drift.evaluationFailures.queueUrl,
      WaitTimeSeconds: 20,
    })
    .assertAtPath('Messages.0.Body', ExpectedResult.stringLikeRegexp('DriftEvaluationError|ModelNotFound'))
    .waitForAssertions({ totalTimeout: Duration.minutes(10), interval: Duration.seconds(30) });

  // Roll a code canary back: publish a second score version, put a rollback alarm in ALARM, ask
  // CodeDeploy to shift `live` to the new version; the deployment stops and `live` stays put.
  const scoreFn = vigil.api.score.function.functionName;
  const group = vigil.api.deploymentGroup;
  const liveBefore = assertions.awsApiCall('Lambda', 'getAlias', { FunctionName: scoreFn, Name: LIVE_ALIAS });
  const changed = assertions.awsApiCall('Lambda', 'updateFunctionConfiguration', {
    FunctionName: scoreFn,
    Description: 'integration test: canary candidate',
  });
  const settled = assertions
    .awsApiCall('Lambda', 'getFunctionConfiguration', { FunctionName: scoreFn })
    .expect(ExpectedResult.objectLike({ LastUpdateStatus: 'Successful' }))
    .waitForAssertions({ totalTimeout: Duration.minutes(3), interval: Duration.seconds(10) });
  const candidate = assertions.awsApiCall('Lambda', 'publishVersion', { FunctionName: scoreFn });
  const rollbackAlarm = vigil.api.rollbackAlarms[0];
  if (!rollbackAlarm) throw new Error('the score deployment group has no rollback alarm');
  const alarmed = assertions.awsApiCall('CloudWatch', 'setAlarmState', {
    AlarmName: rollbackAlarm.alarmName,
    StateValue: 'ALARM',
    StateReason: 'integration test: canary rollback',
  });
  // AppSpec as CodeDeploy reads it (version 0.0 is a number); the names and versions are tokens.
  const appSpec =
    `{"version":0.0,"Resources":[{"score":{"Type":"AWS::Lambda::Function","Properties":{` +
    `"Name":"${scoreFn}","Alias":"${LIVE_ALIAS}",` +
    `"CurrentVersion":"${liveBefore.getAttString('FunctionVersion')}",` +
    `"TargetVersion":"${candidate.getAttString('Version')}"}}}]}`;
  const deployment = assertions.awsApiCall('CodeDeploy', 'createDeployment', {
    applicationName: group.application.applicationName,
    deploymentGroupName: group.deploymentGroupName,
    revision: { revisionType: 'AppSpecContent', appSpecContent: { content: appSpec } },
  });
  // CreateDeployment reads the group's deployment config and records the revision.
  deployment.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: [
      'codedeploy:GetDeploymentConfig',
      'codedeploy:RegisterApplicationRevision',
      'codedeploy:GetApplicationRevision',
    ],
    Resource: ['*'],
  });
  const stopped = assertions
    .awsApiCall('CodeDeploy', 'getDeployment', { deploymentId: deployment.getAttString('deploymentId') })
    .expect(
      ExpectedResult.objectLike({ deploymentInfo: { status: Match.stringLikeRegexp('^(Stopped|Failed)$') } }),
    )
    .waitForAssertions({ totalTimeout: Duration.minutes(10), interval: Duration.seconds(20) });
  const liveAfter = assertions
    .awsApiCall('Lambda', 'getAlias', { FunctionName: scoreFn, Name: LIVE_ALIAS })
    .expect(ExpectedResult.objectLike({ FunctionVersion: liveBefore.getAttString('FunctionVersion') }));

  // One chain: the alarm-topic check must not race the rollback alarm, nor the drift invocation the
  // scored row it reports on.
  readSecret
    .next(writeKey)
    .next(scored)
    .next(fired)
    .next(delivered)
    .next(evaluated)
    .next(reported)
    .next(failedEvaluation)
    .next(parked)
    .next(liveBefore)
    .next(changed)
    .next(settled)
    .next(candidate)
    .next(alarmed)
    .next(deployment)
    .next(stopped)
    .next(liveAfter);

  return integ;
};
