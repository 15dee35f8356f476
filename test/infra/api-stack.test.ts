import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV, ROUTES, scoreDeploymentNames } from '#contracts';
import { ENV_NAMES } from '../../lib/config.ts';
import {
  type CfnProps,
  joinedText,
  resourcesOf,
  type SynthesizedEnv,
  synthEnv,
  vigilFunctions,
} from './harness.ts';

/** Statements of every inline policy attached to the role `roleId`. */
const policyStatementsOf = (template: SynthesizedEnv['templates']['api'], roleId: string): CfnProps[] =>
  resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => p.PolicyDocument.Statement as CfnProps[]);

const envs = Object.fromEntries(ENV_NAMES.map((name) => [name, synthEnv(name)])) as Record<
  (typeof ENV_NAMES)[number],
  SynthesizedEnv
>;

const serviceOf = (p: CfnProps): string => p.Environment.Variables.POWERTOOLS_SERVICE_NAME;

describe.each(ENV_NAMES)('Vigil functions in %s', (name) => {
  const { templates, config } = envs[name];
  const functions = [...vigilFunctions(templates.api), ...vigilFunctions(templates.drift)];

  it('builds the API, drift, release and drift-summary handlers', () => {
    expect(functions.map(([, p]) => serviceOf(p)).sort()).toEqual([
      'vigil-authorizer',
      'vigil-captures',
      'vigil-drift-evaluate',
      'vigil-drift-plan',
      'vigil-drift-reduce',
      'vigil-drift-reports',
      'vigil-drift-summarize',
      'vigil-explain',
      'vigil-feedback',
      'vigil-health',
      'vigil-models',
      'vigil-releases',
      'vigil-score',
      'vigil-score-deploy-hook',
    ]);
  });

  it('gives every function the tables its handler reads through the composition root', () => {
    const env = (service: string) =>
      functions.find(([, p]) => serviceOf(p) === service)?.[1].Environment.Variables ?? {};
    for (const service of [
      'vigil-score',
      'vigil-explain',
      'vigil-models',
      'vigil-drift-reports',
      'vigil-drift-evaluate',
    ]) {
      expect(env(service).VIGIL_REGISTRY_TABLE, service).toBeDefined();
    }
    expect(env('vigil-drift-reports').VIGIL_DRIFT_TABLE).toBeDefined();
    expect(env('vigil-feedback')[ENV.FEEDBACK_TABLE]).toBeDefined();
    expect(env('vigil-feedback')[ENV.CAPTURE_PATH]).toBe(config.capture.path);
    expect(env('vigil-drift-evaluate').VIGIL_DRIFT_CONFIG).toBeDefined();
  });

  it('lets the score function read release records and never pins a model on $LATEST', () => {
    const score = functions.find(([, p]) => serviceOf(p) === 'vigil-score')?.[1].Environment.Variables ?? {};
    expect(score[ENV.RELEASE_CACHE_SECONDS]).toMatch(/^\d+$/);
    expect(score[ENV.MODEL_VERSION]).toBeUndefined();
    for (const [, p] of functions) expect(p.Environment.Variables[ENV.MODEL_VERSION]).toBeUndefined();
  });

  it('runs every function on Node.js 22, ARM64, with X-Ray active tracing and JSON logs', () => {
    for (const [, p] of functions) {
      expect(p.Runtime).toBe('nodejs22.x');
      expect(p.Architectures).toEqual(['arm64']);
      expect(p.TracingConfig).toEqual({ Mode: 'Active' });
      expect(p.LoggingConfig.LogFormat).toBe('JSON');
      expect(p.Handler).toBe('index.handler');
    }
  });

  it("writes every function's logs to its own log group with the environment's retention", () => {
    const groups = new Map([
      ...resourcesOf(templates.api, 'AWS::Logs::LogGroup'),
      ...resourcesOf(templates.drift, 'AWS::Logs::LogGroup'),
    ]);
    for (const [, p] of functions) {
      const groupId = p.LoggingConfig.LogGroup.Ref as string;
      expect(groups.get(groupId)?.RetentionInDays).toBe(config.logRetentionDays);
    }
  });

  it('sets the Powertools metrics namespace on every function', () => {
    for (const [, p] of functions) expect(p.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe('Vigil');
  });

  it('gives score and explain the wasm layer and its mount path, and no other function', () => {
    for (const [, p] of functions) {
      const usesOnnx = ['vigil-score', 'vigil-explain'].includes(serviceOf(p));
      expect(p.Layers?.length ?? 0).toBe(usesOnnx ? 1 : 0);
      expect(p.Environment.Variables[ENV.ORT_WASM_DIR]).toBe(usesOnnx ? '/opt/ort' : undefined);
    }
  });

  it('passes the capture and batch settings of the environment to score', () => {
    const [[, score]] = functions.filter(([, p]) => serviceOf(p) === 'vigil-score');
    expect(score.Environment.Variables).toMatchObject({
      [ENV.CAPTURE_SAMPLE_RATE]: String(config.captureSampleRate),
      [ENV.CAPTURE_TTL_DAYS]: String(config.captureTtlDays),
      [ENV.MAX_SCORE_ROWS]: String(config.maxScoreRows),
    });
    expect(score.MemorySize).toBe(config.lambda.scoreMemoryMb);
    expect(score.ReservedConcurrentExecutions).toBe(config.lambda.scoreReservedConcurrency);
  });

  it('shifts the live alias with the CodeDeploy config of the environment and rolls back on alarms', () => {
    const expected = {
      ALL_AT_ONCE: 'CodeDeployDefault.LambdaAllAtOnce',
      LINEAR_10PERCENT_EVERY_1MINUTE: 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute',
      CANARY_10PERCENT_10MINUTES: 'CodeDeployDefault.LambdaCanary10Percent10Minutes',
    } as Record<string, string>;
    const [[, group]] = resourcesOf(templates.api, 'AWS::CodeDeploy::DeploymentGroup');
    expect(group.DeploymentConfigName).toBe(expected[config.canary]);
    expect(group.AutoRollbackConfiguration.Events).toContain('DEPLOYMENT_STOP_ON_ALARM');
    const alarmIds = group.AlarmConfiguration.Alarms.map((a: { Name: { Ref: string } }) => a.Name.Ref);
    const alarms = new Map(resourcesOf(templates.api, 'AWS::CloudWatch::Alarm'));
    const metrics = alarmIds.map((id: string) => [
      alarms.get(id)?.MetricName,
      alarms.get(id)?.ExtendedStatistic ?? alarms.get(id)?.Statistic,
      alarms.get(id)?.Threshold,
    ]);
    expect(metrics).toEqual([
      ['Errors', 'Sum', config.alarms.scoreErrors],
      // Mapped 500s are normal returns to Lambda: only the handler's own metric sees them.
      ['ServerErrors', 'Sum', config.alarms.scoreErrors],
      ['Duration', 'p99', config.alarms.scoreP99LatencyMs],
    ]);
    const serverErrors = [...alarms.values()].find((a) => a.MetricName === 'ServerErrors');
    expect(serverErrors?.Dimensions).toEqual([
      { Name: 'environment', Value: config.envName },
      { Name: 'service', Value: 'vigil-score' },
    ]);
  });

  it('names the score deployment group as the contracts do, so releases can ask CodeDeploy about it', () => {
    const names = scoreDeploymentNames(config.envName);
    templates.api.hasResourceProperties('AWS::CodeDeploy::Application', {
      ApplicationName: names.application,
      ComputePlatform: 'Lambda',
    });
    const [[, group]] = resourcesOf(templates.api, 'AWS::CodeDeploy::DeploymentGroup');
    expect(group.DeploymentGroupName).toBe(names.deploymentGroup);
  });

  it('runs the pre-traffic hook before a code deployment moves live', () => {
    const [[hookId]] = vigilFunctions(templates.api).filter(
      ([, p]) => serviceOf(p) === 'vigil-score-deploy-hook',
    );
    const [[aliasId]] = resourcesOf(templates.api, 'AWS::Lambda::Alias').filter(([, p]) => p.Name === 'live');
    const update = templates.api.toJSON().Resources[aliasId].UpdatePolicy.CodeDeployLambdaAliasUpdate;
    expect(update.BeforeAllowTrafficHook).toEqual({ Ref: hookId });
    expect(update.AfterAllowTrafficHook).toBeUndefined();
  });

  it('gives the hook read-only registry access and the status call on this deployment group only', () => {
    const [[hookId, hook]] = vigilFunctions(templates.api).filter(
      ([, p]) => serviceOf(p) === 'vigil-score-deploy-hook',
    );
    expect(hook.Environment.Variables[ENV.REGISTRY_TABLE]).toBeDefined();
    const statements = policyStatementsOf(templates.api, hook.Role['Fn::GetAtt'][0]);
    const actions = statements.flatMap((st) => [st.Action].flat() as string[]);
    expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
      'dynamodb:Query',
    ]);
    expect(actions.filter((a) => a.startsWith('codedeploy:'))).toEqual([
      'codedeploy:PutLifecycleEventHookExecutionStatus',
    ]);
    const status = statements.find((st) => st.Action === 'codedeploy:PutLifecycleEventHookExecutionStatus');
    expect(JSON.stringify(status?.Resource)).toMatch(
      /:deploymentgroup:",\{"Ref":"ScoreDeploymentApplication[A-F0-9]{8}"\},"\/",\{"Ref":"ScoreDeployment[A-F0-9]{8}"\}/,
    );
    // The deployment group's role may invoke the hook and nothing else of ours.
    const [[groupRoleId]] = resourcesOf(templates.api, 'AWS::IAM::Role').filter(([id]) =>
      id.startsWith('ScoreDeploymentServiceRole'),
    );
    const invoke = policyStatementsOf(templates.api, groupRoleId).filter(
      (st) => st.Action === 'lambda:InvokeFunction',
    );
    expect(invoke).toHaveLength(1);
    expect(JSON.stringify(invoke[0]?.Resource)).toContain(`"${hookId}"`);
    expect(JSON.stringify(invoke[0]?.Resource)).not.toMatch(/"Resource":"\*"/);
  });

  it('lets the releases API list only the score deployment group’s deployments', () => {
    const [[, releases]] = vigilFunctions(templates.api).filter(([, p]) => serviceOf(p) === 'vigil-releases');
    const names = scoreDeploymentNames(config.envName);
    expect(releases.Environment.Variables).toMatchObject({
      [ENV.SCORE_DEPLOYMENT_APPLICATION]: names.application,
      [ENV.SCORE_DEPLOYMENT_GROUP]: names.deploymentGroup,
    });
    const list = policyStatementsOf(templates.api, releases.Role['Fn::GetAtt'][0]).filter(
      (st) => st.Action === 'codedeploy:ListDeployments',
    );
    expect(list).toHaveLength(1);
    expect(joinedText(list[0]?.Resource)).toMatch(
      new RegExp(`:deploymentgroup:${names.application}/${names.deploymentGroup}$`),
    );
  });

  it('rolls back only on M of N breaching minutes, so one cold-start minute cannot roll a canary back', () => {
    const rb = config.alarms.rollback;
    const [[, group]] = resourcesOf(templates.api, 'AWS::CodeDeploy::DeploymentGroup');
    const alarms = new Map(resourcesOf(templates.api, 'AWS::CloudWatch::Alarm'));
    const ids: string[] = group.AlarmConfiguration.Alarms.map((a: { Name: { Ref: string } }) => a.Name.Ref);
    expect(ids).toHaveLength(3);
    for (const id of ids) {
      expect(alarms.get(id), id).toMatchObject({
        Period: rb.periodSeconds,
        EvaluationPeriods: rb.evaluationPeriods,
        DatapointsToAlarm: rb.datapointsToAlarm,
      });
    }
    if (config.canary !== 'ALL_AT_ONCE') expect(rb.datapointsToAlarm).toBeGreaterThan(1);
  });

  it('loads the served models during init so provisioned concurrency starts warm', () => {
    templates.api.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'vigil-score',
          VIGIL_PRELOAD_MODELS: config.drift.models.join(','),
        }),
      },
    });
  });

  it('reserves score concurrency only when the environment sets it', () => {
    const [[, score]] = vigilFunctions(templates.api).filter(
      ([, p]) => p.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'vigil-score',
    );
    expect(score.ReservedConcurrentExecutions).toBe(config.lambda.scoreReservedConcurrency);
  });

  it('logs HTTP API variables only: the route key and the authorizer context, no REST-only fields', () => {
    const [[, stage]] = resourcesOf(templates.api, 'AWS::ApiGatewayV2::Stage');
    const format = JSON.parse(stage.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      routeKey: '$context.routeKey',
      apiKeyId: '$context.authorizer.keyId',
      authorizerError: '$context.authorizer.error',
    });
    const values = Object.values(format).join(' ');
    expect(values).not.toMatch(
      /\$context\.(resourcePath|identity\.(user|caller|accountId|apiKey|cognito\w*))(?![A-Za-z])/,
    );
  });

  it('puts provisioned concurrency on the live alias only when the environment asks for it', () => {
    const [[, alias]] = resourcesOf(templates.api, 'AWS::Lambda::Alias');
    expect(alias.Name).toBe('live');
    const pc = config.lambda.scoreProvisionedConcurrency;
    expect(alias.ProvisionedConcurrencyConfig).toEqual(
      pc > 0 ? { ProvisionedConcurrentExecutions: pc } : undefined,
    );
  });

  it('throttles the default stage and writes JSON access logs with the request id', () => {
    const [[, stage]] = resourcesOf(templates.api, 'AWS::ApiGatewayV2::Stage');
    expect(stage.StageName).toBe('$default');
    expect(stage.DefaultRouteSettings).toEqual({
      ThrottlingBurstLimit: config.api.throttleBurstLimit,
      ThrottlingRateLimit: config.api.throttleRateLimit,
    });
    expect(stage.AccessLogSettings.Format).toContain('$context.requestId');
  });
});

describe('HTTP API routes and authorizer', () => {
  const t = envs.prod.templates.api;
  const routes = resourcesOf(t, 'AWS::ApiGatewayV2::Route');

  it('exposes the v1 routes of DESIGN.md §5, the same set the local twin serves', () => {
    const keys = routes.map(([, p]) => p.RouteKey).sort();
    expect(keys).toEqual(
      [
        'GET /health',
        'GET /v1/models',
        'GET /v1/models/{model}/drift',
        // Captured rows (admin scope: users' metric values).
        'GET /v1/models/{model}/captures',
        'GET /v1/models/{model}/versions/{version}/package',
        'GET /v1/models/{model}/history',
        'GET /v1/models/{model}/versions',
        'POST /v1/models/{model}/explain',
        'POST /v1/models/{model}/score',
        // The control plane (admin scope, enforced by the handlers' route-scope middleware).
        'DELETE /v1/models/{model}/aliases/{alias}',
        'POST /v1/models/{model}/aliases/{alias}/rollback',
        'POST /v1/models/{model}/uploads',
        'POST /v1/models/{model}/versions',
        'POST /v1/models/{model}/versions/{version}/approve',
        'POST /v1/models/{model}/versions/{version}/reject',
        'PUT /v1/models/{model}/aliases/{alias}',
        // Retraining (DESIGN.md §8): the manual trigger (admin), the listing and one run's steps.
        'POST /v1/models/{model}/retrain',
        'GET /v1/models/{model}/retraining',
        'GET /v1/models/{model}/retraining/{executionName}',
        // Model releases (issue 11, admin scope).
        'GET /v1/models/{model}/releases',
        'POST /v1/models/{model}/releases',
        // Feedback labels (any key) and the labelled quality report.
        'POST /v1/feedback',
        'GET /v1/models/{model}/quality',
        'POST /v1/models/{model}/releases/{releaseId}/abort',
      ].sort(),
    );
    expect(keys).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('protects every route except /health with the API-key authorizer', () => {
    for (const [, p] of routes) {
      if (p.RouteKey === 'GET /health') expect(p.AuthorizationType).toBe('NONE');
      else expect(p.AuthorizationType).toBe('CUSTOM');
    }
  });

  it('uses a cached REQUEST authorizer on the x-api-key header with simple responses', () => {
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['$request.header.x-api-key'],
      AuthorizerResultTtlInSeconds: envs.prod.config.api.authorizerCacheSeconds,
      EnableSimpleResponses: true,
    });
  });

  it('routes score traffic to the live alias, not to $LATEST', () => {
    const [[aliasId]] = resourcesOf(t, 'AWS::Lambda::Alias');
    const scoreRoute = routes.find(([, p]) => p.RouteKey === 'POST /v1/models/{model}/score');
    expect(scoreRoute).toBeDefined();
    const integrationId = ((scoreRoute as [string, CfnProps])[1].Target['Fn::Join'][1] as unknown[]).find(
      (x) => typeof x === 'object',
    ) as { Ref: string };
    const integration = new Map(resourcesOf(t, 'AWS::ApiGatewayV2::Integration')).get(integrationId.Ref);
    expect(integration?.IntegrationUri).toEqual({ Ref: aliasId });
  });

  it('outputs the API URL', () => {
    t.hasOutput('ApiUrl', { Value: Match.anyValue() });
  });
});

describe('retraining control from the models function', () => {
  const t = envs.prod.templates.api;
  const statements = () => {
    const [[fnId, fn]] = resourcesOf(t, 'AWS::Lambda::Function').filter(
      ([, p]) => p.Environment?.Variables?.VIGIL_RETRAINING_MACHINE_ARN !== undefined,
    );
    const roleId = fn.Role['Fn::GetAtt'][0];
    expect(fnId).toMatch(/^Models/);
    return resourcesOf(t, 'AWS::IAM::Policy')
      .filter(([, p]) => p.Roles.some((r: { Ref?: string }) => r.Ref === roleId))
      .flatMap(([, p]) => p.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
  };
  const resourceOf = (action: string) =>
    JSON.stringify(statements().find((s) => ([] as string[]).concat(s.Action).includes(action))?.Resource);

  it('starts and lists executions of the prod retraining machine only, by its fixed name', () => {
    expect(resourceOf('states:StartExecution')).toContain('stateMachine:vigil-prod-retraining"');
    expect(resourceOf('states:ListExecutions')).toContain('stateMachine:vigil-prod-retraining"');
    expect(resourceOf('states:DescribeExecution')).toContain('execution:vigil-prod-retraining:*');
    expect(resourceOf('states:StartExecution')).not.toContain('*');
  });

  it("reads an execution's steps (GetExecutionHistory) on the retraining machine's executions only", () => {
    const resource = resourceOf('states:GetExecutionHistory');
    expect(resource).toContain(':execution:vigil-prod-retraining:*');
    // Not the release machine's, nor every machine's: the one pattern and nothing else.
    expect(JSON.parse(resource)).not.toBeInstanceOf(Array);
    expect(resource).not.toContain('stateMachine:');
    expect(resource).not.toMatch(/execution:\*|execution:vigil-prod-release/);
  });

  it('answers task tokens (no resource type exists for them) and nothing else on Step Functions', () => {
    expect(resourceOf('states:SendTaskSuccess')).toBe('"*"');
    const actions = statements()
      .flatMap((s) => ([] as string[]).concat(s.Action))
      .filter((a) => a.startsWith('states:'));
    expect(actions.sort()).toEqual(
      [
        'states:DescribeExecution',
        'states:GetExecutionHistory',
        'states:ListExecutions',
        'states:SendTaskFailure',
        'states:SendTaskSuccess',
        'states:StartExecution',
      ].sort(),
    );
  });
});
