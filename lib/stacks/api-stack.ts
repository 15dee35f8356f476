import { ArnFormat, CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  CAPTURE_REQUEST_INDEX,
  DEFAULT_RELEASE_CACHE_SECONDS,
  ENV,
  METRICS,
  PRODUCTION_ALIAS,
  ROUTES,
  SCORE_LIVE_ALIAS,
  SERVICES,
  scoreDeploymentNames,
} from '#contracts';
import { releaseStateMachineName, type VigilConfig } from '../config.ts';
import { ConsoleSite } from '../constructs/console-site.ts';
import { ModelFunction } from '../constructs/model-function.ts';
import { ORT_WASM_MOUNT, OrtWasmLayer } from '../constructs/ort-wasm-layer.ts';
import { grantListScoreDeployments } from '../constructs/score-deployment-group.ts';
import { vigilMetric } from '../constructs/vigil-metric.ts';
import { type HandlerEntries, handlerEntries } from '../handler-entries.ts';
import { type DataStack, removalPolicyOf } from './data-stack.ts';
import { retrainingMachineArns, retrainingMachineName } from './pipeline-stack.ts';

/** Name of the score function's alias that serves traffic (blue/green via CodeDeploy). */
export const LIVE_ALIAS = SCORE_LIVE_ALIAS;

/**
 * Access-log fields, all HTTP API `$context` variables (REST-only ones such as `resourcePath` or
 * `identity.user` log nothing here): the matched route, the caller's key id and scope from the
 * authorizer's context, and why an authorizer or integration failed.
 */
export const HTTP_API_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  apiKeyId: '$context.authorizer.keyId',
  apiKeyScope: '$context.authorizer.scope',
  authorizerError: '$context.authorizer.error',
  authorizerLatency: '$context.authorizer.latency',
  errorMessage: '$context.error.message',
} as const;

/** Properties of {@link ApiStack}. */
export interface ApiStackProps extends StackProps {
  readonly config: VigilConfig;
  readonly data: DataStack;
  /**
   * Handler entry files.
   * @default HANDLERS from lambdas/contracts.ts
   */
  readonly entries?: Partial<HandlerEntries>;
}

/**
 * The public HTTP API (DESIGN.md §5, §9 `Api`): HTTP API with stage throttling and access logs, an
 * API-key Lambda authorizer (cached), the score/explain/models/drift-reports/health functions, the
 * onnxruntime-web wasm layer, and the score function's `live` alias shifted by CodeDeploy.
 */
export class ApiStack extends Stack {
  public readonly api: apigw.HttpApi;
  public readonly score: ModelFunction;
  public readonly explain: ModelFunction;
  public readonly models: ModelFunction;
  public readonly driftReports: ModelFunction;
  /** Feedback labels (`POST /v1/feedback`) and the labelled quality report (any key). */
  public readonly feedback: ModelFunction;
  /** The captures API: recent captured rows (admin), read from whichever capture path is on. */
  public readonly captures: ModelFunction;
  public readonly health: ModelFunction;
  /** The releases API: starts release executions, lists releases (admin). */
  public readonly releases: ModelFunction;
  /**
   * Deleting (and reading) the score function's published versions, for the release machine's
   * Finish and Rollback roles. It lives beside the function so its `:*` wildcard (version numbers
   * are not known at synth time) is acknowledged against a resource of this stack.
   */
  public readonly scoreVersionsPolicy: iam.ManagedPolicy;
  public readonly authorizerFn: ModelFunction;
  public readonly liveAlias: lambda.Alias;
  public readonly deploymentGroup: codedeploy.LambdaDeploymentGroup;
  /**
   * The deployment group's `BeforeAllowTraffic` hook: fails a code deployment while a model release
   * holds `live` (it reads every model's release record).
   */
  public readonly scoreDeployHook: ModelFunction;
  /** Alarms that roll a score deployment back. */
  public readonly rollbackAlarms: cloudwatch.Alarm[];
  /** The console on CloudFront, with the API under `/v1/*` (absent when `console.enabled` is false). */
  public readonly console?: ConsoleSite;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const entries = handlerEntries(props.entries);
    const removal = removalPolicyOf(config);
    const fnDefaults = {
      logRetention: config.logRetentionDays,
      logRemovalPolicy: removal,
      timeout: Duration.seconds(config.lambda.timeoutSeconds),
      memorySize: config.lambda.defaultMemoryMb,
      environmentName: config.envName,
    };

    const ort = new OrtWasmLayer(this, 'OrtWasm');
    const modelEnv = { [ENV.ORT_WASM_DIR]: ORT_WASM_MOUNT, [ENV.MODEL_ALIAS]: PRODUCTION_ALIAS };

    this.score = new ModelFunction(this, 'Score', {
      ...fnDefaults,
      entry: entries.score,
      serviceName: SERVICES.score,
      description: 'Scores rows with the production model',
      // The request path: its cold start is judged (issue 16), and a source map costs ~25 ms of it.
      mappedStackTraces: false,
      memorySize: config.lambda.scoreMemoryMb,
      reservedConcurrentExecutions: config.lambda.scoreReservedConcurrency,
      layers: [ort.layer],
      environment: {
        ...modelEnv,
        [ENV.CAPTURE_SAMPLE_RATE]: String(config.captureSampleRate),
        [ENV.CAPTURE_TTL_DAYS]: String(config.captureTtlDays),
        [ENV.CAPTURE_PATH]: config.capture.path,
        [ENV.CAPTURE_SHARDS]: String(config.capture.shards),
        [ENV.CAPTURE_ANOMALIES]: String(config.capture.anomaliesAlways),
        ...(Object.keys(config.capture.modelRates).length
          ? { [ENV.CAPTURE_MODEL_RATES]: JSON.stringify(config.capture.modelRates) }
          : {}),
        [ENV.MAX_SCORE_ROWS]: String(config.maxScoreRows),
        // Loaded during init, so provisioned concurrency (and a canary's new version) starts warm.
        [ENV.PRELOAD_MODELS]: config.drift.models.join(','),
        // The release record (shadow phase, promotions) is re-read this often; never MODEL_VERSION:
        // $LATEST stays unpinned, only a release's published versions pin a model.
        [ENV.RELEASE_CACHE_SECONDS]: String(DEFAULT_RELEASE_CACHE_SECONDS),
      },
    })
      .bindTable({ table: data.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'read' })
      .bindBucket({ bucket: data.artifacts, envVar: ENV.ARTIFACT_BUCKET });
    // Either capture path, with exactly its own grants.
    if (data.captureStream) this.score.bindCaptureStream(data.captureStream, data.key);
    else {
      this.score
        .bindTable({ table: data.capturesTable, envVar: ENV.CAPTURES_TABLE, accessMode: 'write' })
        .bindCaptureParking(data.captureParking, data.key);
    }

    this.explain = new ModelFunction(this, 'Explain', {
      ...fnDefaults,
      entry: entries.explain,
      serviceName: SERVICES.explain,
      description: 'Explains scores with TreeSHAP',
      memorySize: config.lambda.explainMemoryMb,
      layers: [ort.layer],
      environment: { ...modelEnv, [ENV.MAX_EXPLAIN_ROWS]: String(config.maxExplainRows) },
    })
      .bindTable({ table: data.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'read' })
      .bindBucket({ bucket: data.artifacts, envVar: ENV.ARTIFACT_BUCKET });

    this.models = new ModelFunction(this, 'Models', {
      ...fnDefaults,
      entry: entries.models,
      serviceName: SERVICES.models,
      description: 'The registry API: lists models; registers, approves and promotes versions (admin)',
    })
      // Item-level writes (conditional puts/updates of version, alias and event items), no Scan.
      .bindTable({ table: data.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'readWrite' })
      .bindBucket({ bucket: data.artifacts, envVar: ENV.ARTIFACT_BUCKET, access: 'register' })
      // GET …/versions/{version}/package reads a registered package back (the console's edge scoring).
      .bindBucket({ bucket: data.artifacts, envVar: ENV.ARTIFACT_BUCKET, access: 'read' });
    this.grantRetrainingControl(this.models, config);

    this.driftReports = new ModelFunction(this, 'DriftReports', {
      ...fnDefaults,
      entry: entries.driftReports,
      serviceName: SERVICES.driftReports,
      description: 'Returns the latest drift reports of a model',
    })
      .bindTable({ table: data.driftTable, envVar: ENV.DRIFT_TABLE, accessMode: 'read' })
      // Unknown models answer 404, which needs the registry.
      .bindTable({ table: data.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'read' });

    this.feedback = new ModelFunction(this, 'Feedback', {
      ...fnDefaults,
      entry: entries.feedback,
      serviceName: SERVICES.feedback,
      description: 'Records feedback labels of predictions; reports labelled quality per version',
      environment: {
        [ENV.CAPTURE_PATH]: config.capture.path,
        [ENV.CAPTURE_SHARDS]: String(config.capture.shards),
      },
    })
      // One conditional put per label, reads and the model's labels by Query: no updates, no batches.
      .bindTable({ table: data.feedbackTable, envVar: ENV.FEEDBACK_TABLE, accessMode: 'record' })
      // Unknown models answer 404.
      .bindTable({ table: data.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'read' });
    // Captures are read where the score function puts them: the table (and its request index, which
    // tells a label its model), or the Parquet objects of the Firehose path.
    if (data.captureStream) {
      this.feedback.function.addEnvironment(ENV.ARTIFACT_BUCKET, data.artifacts.bucket.bucketName);
      this.feedback.role.addManagedPolicy(data.captureStream.readPolicy);
    } else {
      this.feedback
        .bindTable({ table: data.capturesTable, envVar: ENV.CAPTURES_TABLE, accessMode: 'read' })
        .bindIndexQuery({ table: data.capturesTable, indexName: CAPTURE_REQUEST_INDEX.name });
    }

    this.captures = new ModelFunction(this, 'Captures', {
      ...fnDefaults,
      entry: entries.captures,
      serviceName: SERVICES.captures,
      description: 'Returns the newest captured rows of a model (admin)',
      environment: {
        [ENV.CAPTURE_PATH]: config.capture.path,
        [ENV.CAPTURE_SHARDS]: String(config.capture.shards),
      },
    })
      // Unknown models answer 404, which needs the registry.
      .bindTable({ table: data.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'read' });
    // Read access to exactly the capture path in use (as the drift evaluator has it): the capture
    // prefix of the bucket (no model packages), or the captures table (Query only, no Scan).
    if (data.captureStream) {
      this.captures.function.addEnvironment(ENV.ARTIFACT_BUCKET, data.artifacts.bucket.bucketName);
      this.captures.role.addManagedPolicy(data.captureStream.readPolicy);
    } else {
      this.captures.bindTable({ table: data.capturesTable, envVar: ENV.CAPTURES_TABLE, accessMode: 'read' });
    }

    const releaseMachineArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: releaseStateMachineName(config),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.releases = new ModelFunction(this, 'Releases', {
      ...fnDefaults,
      entry: entries.releases,
      serviceName: SERVICES.releases,
      description:
        'The releases API: starts a model release (admin) and lists releases with their judgements',
      environment: {
        [ENV.RELEASE_STATE_MACHINE_ARN]: releaseMachineArn,
        [ENV.RELEASE_CONFIG]: JSON.stringify(config.release),
      },
    })
      // The release record is a conditional put beside the registry's items (one per model).
      .bindTable({ table: data.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'readWrite' });
    this.releases.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [releaseMachineArn] }),
    );
    grantListScoreDeployments(this.releases, config.envName);

    this.health = new ModelFunction(this, 'Health', {
      ...fnDefaults,
      entry: entries.health,
      serviceName: SERVICES.health,
      description: 'Liveness of the API',
    });

    this.authorizerFn = new ModelFunction(this, 'Authorizer', {
      ...fnDefaults,
      entry: entries.authorizer,
      serviceName: SERVICES.authorizer,
      description: 'Checks the x-api-key header against the hashed keys in Secrets Manager',
      // In front of every request, so on the request path like Score.
      mappedStackTraces: false,
    }).bindSecret({ secret: data.apiKeys, envVar: ENV.API_KEYS_SECRET });

    this.scoreVersionsPolicy = new iam.ManagedPolicy(this, 'ScoreVersionsPolicy', {
      description: 'Retires score-function versions a model release published',
      statements: [
        new iam.PolicyStatement({
          actions: ['lambda:DeleteFunction', 'lambda:GetFunctionConfiguration'],
          resources: [`${this.score.function.functionArn}:*`],
        }),
      ],
    });
    Validations.of(this.scoreVersionsPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.score.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason:
        'A release retires the pinned version it published: a qualified ARN of this function only; the number is not known at synth time.',
    });

    // Blue/green: each deploy publishes a new version; CodeDeploy shifts `live` to it per env policy.
    this.liveAlias = new lambda.Alias(this, 'ScoreLive', {
      aliasName: LIVE_ALIAS,
      version: this.score.function.currentVersion,
      provisionedConcurrentExecutions:
        config.lambda.scoreProvisionedConcurrency > 0 ? config.lambda.scoreProvisionedConcurrency : undefined,
    });
    // M of N over short periods (config.alarms.rollback): one slow minute, e.g. a request that
    // landed before a new instance finished its init, does not roll back; two bad minutes do.
    const rb = config.alarms.rollback;
    const period = Duration.seconds(rb.periodSeconds);
    const rollbackAlarm = (id: string, props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'>) =>
      new cloudwatch.Alarm(this, id, {
        evaluationPeriods: rb.evaluationPeriods,
        datapointsToAlarm: rb.datapointsToAlarm,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...props,
      });
    this.rollbackAlarms = [
      rollbackAlarm('LiveErrorsAlarm', {
        alarmDescription: 'Errors on the live score alias; rolls a CodeDeploy deployment back',
        metric: this.liveAlias.metricErrors({ period, statistic: 'Sum' }),
        threshold: config.alarms.scoreErrors,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      }),
      rollbackAlarm('LiveServerErrorsAlarm', {
        alarmDescription:
          'Genuine 500s answered by the score function (mapped responses, invisible to Lambda Errors); rolls a CodeDeploy deployment back',
        metric: vigilMetric(config, {
          metricName: METRICS.serverErrors,
          service: SERVICES.score,
          statistic: 'Sum',
          period,
        }),
        threshold: config.alarms.scoreErrors,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      }),
      rollbackAlarm('LiveLatencyAlarm', {
        alarmDescription: 'p99 duration of the live score alias; rolls a CodeDeploy deployment back',
        metric: this.liveAlias.metricDuration({ period, statistic: 'p99' }),
        threshold: config.alarms.scoreP99LatencyMs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
    ];
    this.scoreDeployHook = new ModelFunction(this, 'ScoreDeployHook', {
      ...fnDefaults,
      entry: entries.scoreDeployHook,
      serviceName: SERVICES.scoreDeployHook,
      description:
        "CodeDeploy BeforeAllowTraffic hook of the score function: fails while a model release holds 'live'",
      // Reads the model index and each model's release record: a handful of items.
      timeout: Duration.seconds(30),
    })
      // The model index (Query) and each model's RELEASE_ACTIVE item (GetItem); never a write.
      .bindTable({ table: data.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'read' });
    const deployNames = scoreDeploymentNames(config.envName);
    this.deploymentGroup = new codedeploy.LambdaDeploymentGroup(this, 'ScoreDeployment', {
      application: new codedeploy.LambdaApplication(this, 'ScoreDeploymentApplication', {
        applicationName: deployNames.application,
      }),
      deploymentGroupName: deployNames.deploymentGroup,
      // CDK grants the group's role InvokeFunction on this function only, and the hook
      // PutLifecycleEventHookExecutionStatus on this deployment group only.
      preHook: this.scoreDeployHook.function,
      alias: this.liveAlias,
      deploymentConfig: codedeploy.LambdaDeploymentConfig[config.canary],
      alarms: this.rollbackAlarms,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    const groupPolicy = this.deploymentGroup.role.node.tryFindChild('DefaultPolicy');
    if (groupPolicy) {
      Validations.of(groupPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.scoreDeployHook.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
        reason:
          "CDK's grantInvoke for the pre-traffic hook: the hook function and its versions (ARN:*), nothing else.",
      });
    }
    Validations.of(this.deploymentGroup.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
      reason:
        'AWS-maintained CodeDeploy role policy scoped to Lambda traffic shifting (the "Limited" variant).',
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays,
      removalPolicy: removal,
    });
    this.api = new apigw.HttpApi(this, 'HttpApi', {
      description: `Vigil ${config.envName} scoring API`,
      createDefaultStage: false,
    });
    new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.api.throttleRateLimit, burstLimit: config.api.throttleBurstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(HTTP_API_ACCESS_LOG_FIELDS)),
      },
    });

    const authorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', this.authorizerFn.function, {
      authorizerName: 'api-key',
      identitySource: ['$request.header.x-api-key'],
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      resultsCacheTtl: Duration.seconds(config.api.authorizerCacheSeconds),
    });
    // Routes come from the same table the local twin serves (lambdas/contracts.ts ROUTES), so
    // the two can never expose different surfaces.
    const targets: Partial<Record<(typeof ROUTES)[number]['handler'], lambda.IFunction>> = {
      score: this.liveAlias,
      explain: this.explain.function,
      models: this.models.function,
      releases: this.releases.function,
      driftReports: this.driftReports.function,
      feedback: this.feedback.function,
      captures: this.captures.function,
      health: this.health.function,
    };
    const methods: Record<(typeof ROUTES)[number]['method'], apigw.HttpMethod> = {
      GET: apigw.HttpMethod.GET,
      POST: apigw.HttpMethod.POST,
      PUT: apigw.HttpMethod.PUT,
      DELETE: apigw.HttpMethod.DELETE,
    };
    for (const r of ROUTES) {
      const target = targets[r.handler];
      if (!target) throw new Error(`ApiStack: no function serves route ${r.method} ${r.path} (${r.handler})`);
      const id = `${r.method}${r.path.replace(/[^A-Za-z0-9]/g, '')}`;
      const [route] = this.api.addRoutes({
        path: r.path,
        methods: [methods[r.method]],
        integration: new HttpLambdaIntegration(`${id}Integration`, target),
        ...(r.auth === 'public' ? {} : { authorizer }),
      });
      if (r.auth === 'public') {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${r.method} ${r.path} is public by design (ROUTES marks it so); it returns no data.`,
        });
      }
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Base URL of the Vigil API' });
    if (config.console.enabled) {
      this.console = new ConsoleSite(this, 'Console', {
        api: this.api,
        removalPolicy: removal,
        logRetention: config.logRetentionDays,
        ...(config.console.domainName ? { domainName: config.console.domainName } : {}),
        ...(config.console.certificateArn ? { certificateArn: config.console.certificateArn } : {}),
      });
    }
  }

  /**
   * `POST …/retrain`, `GET …/retraining[/{executionName}]` and the approval answers: start/list
   * the retraining machine's executions by its fixed name (no reference to the Pipeline stack,
   * which deploys after this one), describe them and read their history (the steps), and answer
   * their task tokens.
   */
  private grantRetrainingControl(f: ModelFunction, config: VigilConfig): void {
    const arns = retrainingMachineArns(this, config);
    f.function.addEnvironment(ENV.RETRAINING_MACHINE_ARN, arns.machine);
    f.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution', 'states:ListExecutions'],
        resources: [arns.machine],
      }),
    );
    f.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: [arns.executions],
      }),
    );
    // SendTaskSuccess/Failure take a token, not a resource: IAM has no resource type for them.
    f.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: ['*'],
      }),
    );
    Validations.of(f.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${retrainingMachineName(config)}:*]`,
      reason:
        'The models function describes executions of the retraining machine only; their ARNs end in generated names.',
    });
    Validations.of(f.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'states:SendTaskSuccess/SendTaskFailure (answering a stored approval token) support no resource-level permissions.',
    });
  }
}
