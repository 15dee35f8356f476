import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV, METRICS_NAMESPACE, TRACER } from '#contracts';
import type { ArtifactBucket } from './artifact-bucket.ts';
import type { CaptureParking } from './capture-parking.ts';
import type { CaptureStream } from './capture-stream.ts';

/** Repository root: entries in `HANDLERS` are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * esbuild banner for ESM bundles: CommonJS dependencies bundled into an ESM file still call
 * `require` (e.g. for Node built-ins), which does not exist in ESM scope. Defining it through
 * `createRequire` keeps those calls working without switching the whole bundle to CJS.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __vigilCreateRequire } from 'node:module'; const require = __vigilCreateRequire(import.meta.url);";

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The esbuild settings of every function bundle, shared by CDK's bundling below and by the
 * cold-start bench, so the bench measures the bundle Lambda runs.
 *
 * The AWS SDK is **bundled**, not left to the runtime's copy: from the runtime's (or any)
 * `node_modules` each client loads as its whole CommonJS build, while bundled, esbuild keeps only
 * the commands the code uses (ESM `module` entries, tree-shaken, minified). Measured on the score
 * handler: about 140 ms less CPU from process start to the first result (`npm run bench --
 * cold-start` prints both), as AWS's SDK team also advises for cold starts. The price is a
 * bigger zip (about 1 MB) and SDK upgrades that come with ours, not the runtime's.
 */
export const BUNDLE = {
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  minify: true,
  sourceMap: true,
  externalModules: [] as string[],
} as const;

/**
 * The command that builds Powertools Tracer (`TRACER.entry`) into `TRACER.file` beside the
 * function's bundle: the handlers import it at run time in Lambda only, so the bundles themselves
 * (and every process off the AWS path) do not carry it.
 */
export const tracerBuildCommand = (inputDir: string, outputDir: string): string =>
  [
    join(inputDir, 'node_modules/.bin/esbuild'),
    join(inputDir, TRACER.entry),
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--target=node22',
    '--minify',
    '--main-fields=module,main',
    '--external:@aws-sdk/*',
    `--banner:js=${ESM_REQUIRE_BANNER}`,
    `--outfile=${join(outputDir, TRACER.file)}`,
    '--log-level=warning',
  ]
    .map(shellQuote)
    .join(' ');

/** How much of a table a function may touch. */
/**
 * `read`, `write`, `readWrite`; `record`: reads, single puts and queries, no updates or batches
 * (the feedback labels: one conditional put per label); `append`: puts and batch writes only
 * (the capture drain writing parked rows back).
 */
export type TableAccessMode = 'read' | 'write' | 'readWrite' | 'record' | 'append';

const TABLE_ACTIONS: Record<TableAccessMode, string[]> = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
  write: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem', 'dynamodb:DescribeTable'],
  readWrite: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:DescribeTable',
  ],
  record: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
  append: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
};

/** Properties of {@link ModelFunction}. */
export interface ModelFunctionProps {
  /** Handler entry file, relative to the repo root (a value of `HANDLERS`) or absolute. */
  readonly entry: string;
  /** Value of `POWERTOOLS_SERVICE_NAME`; also names the log group. */
  readonly serviceName: string;
  /**
   * The deployment environment (`dev`, `staging`, `prod`), set as `VIGIL_ENVIRONMENT`: every EMF
   * metric of the function carries it as the `environment` dimension the alarms select on.
   */
  readonly environmentName: string;
  /** Days the function's log group keeps events. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the log group when the stack is deleted. */
  readonly logRemovalPolicy: RemovalPolicy;
  /**
   * Memory in MB.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Function timeout.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Extra environment variables (Powertools variables are always set).
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Layers mounted under `/opt`.
   * @default - none
   */
  readonly layers?: lambda.ILayerVersion[];
  /**
   * Reserved concurrency.
   * @default - the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Description shown in the console.
   * @default - none
   */
  readonly description?: string;
  /**
   * VPC to run in (private subnets with egress), e.g. to reach a private EKS endpoint.
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Ship the bundle's source map and start Node with `--enable-source-maps`, so logged stack
   * traces point into the TypeScript sources. Node reads and keeps the map at start: about 25 ms
   * more cold start on the score bundle (`npm run bench -- cold-start`), and the map is most of a
   * zipped asset, so the request-path functions turn it off (a trace of theirs maps by hand: the
   * same commit bundles to the same bytes, `npx esbuild … --sourcemap`).
   * @default true
   */
  readonly mappedStackTraces?: boolean;
}

/** Options of {@link ModelFunction.bindTable}. */
export interface BindTableOptions {
  readonly table: ITable;
  /** Environment variable receiving the table name (a value of `ENV`). */
  readonly envVar: string;
  readonly accessMode: TableAccessMode;
}

/** Options of {@link ModelFunction.bindBucket}. */
export interface BindBucketOptions {
  readonly bucket: ArtifactBucket;
  /** Environment variable receiving the bucket name (a value of `ENV`). */
  readonly envVar: string;
  /**
   * `read`: load model packages. `register`: write packages and handle staged uploads (the
   * models function), without reading served packages.
   * @default 'read'
   */
  readonly access?: 'read' | 'register';
}

/** Options of {@link ModelFunction.bindSecret}. */
export interface BindSecretOptions {
  readonly secret: secretsmanager.ISecret;
  /** Environment variable receiving the secret ARN (a value of `ENV`). */
  readonly envVar: string;
}

/**
 * One Vigil Lambda function with the house defaults set once (DESIGN.md §9): Node.js 22 on ARM64,
 * an ESM esbuild bundle, X-Ray active tracing, Powertools environment, and an explicit log group
 * with retention, written to by an own role scoped to that log group (no managed policies).
 *
 * @example
 * const fn = new ModelFunction(this, 'Score', { entry: HANDLERS.score, serviceName: SERVICES.score, ... });
 * fn.bindTable({ table: registry, envVar: ENV.REGISTRY_TABLE, accessMode: 'read' });
 */
export class ModelFunction extends Construct {
  /** The Lambda function. */
  public readonly function: NodejsFunction;
  /** Its execution role. */
  public readonly role: iam.Role;
  /** Its log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ModelFunctionProps) {
    super(scope, id);
    const entry = isAbsolute(props.entry) ? props.entry : join(REPO_ROOT, props.entry);
    if (!existsSync(entry)) {
      throw new Error(
        `ModelFunction ${this.node.path}: handler entry ${props.entry} does not exist; ` +
          'create it (it must export `handler`) or point `entry` at an existing file.',
      );
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    // An own role instead of the default one: the default attaches the AWS managed
    // AWSLambdaBasicExecutionRole (logs:* on every group), we grant writes on this log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.serviceName}`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role: this.role,
      layers: props.layers,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      description: props.description,
      ...(props.vpc ? { vpc: props.vpc, vpcSubnets: { subnets: props.vpc.privateSubnets } } : {}),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      environment: {
        [ENV.SERVICE_NAME]: props.serviceName,
        [ENV.METRICS_NAMESPACE]: METRICS_NAMESPACE,
        [ENV.ENVIRONMENT]: props.environmentName,
        ...(props.mappedStackTraces === false ? {} : { NODE_OPTIONS: '--enable-source-maps' }),
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: [...BUNDLE.mainFields],
        banner: BUNDLE.banner,
        target: BUNDLE.target,
        minify: BUNDLE.minify,
        sourceMap: props.mappedStackTraces !== false && BUNDLE.sourceMap,
        // Explicitly none: CDK's default leaves `@aws-sdk/*` to the runtime (see BUNDLE).
        externalModules: [...BUNDLE.externalModules],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) => [tracerBuildCommand(inputDir, outputDir)],
        },
      },
    });

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the LTS line the code targets (esbuild target node22, @types/node 22); ' +
        'moving to 24 is a deliberate upgrade, not an automatic one.',
    });

    if (props.vpc) {
      // What AWSLambdaVPCAccessExecutionRole grants (CDK attaches it only to roles it creates):
      // Lambda manages the function's network interfaces; these actions take no resource ARN.
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
    }
    // X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions, so the
    // statement Lambda adds for active tracing necessarily names Resource "*".
    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) {
      Validations.of(defaultPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions' +
          (props.vpc ? '; nor do the network-interface actions Lambda needs in a VPC.' : '.'),
      });
    }
  }

  /**
   * Passes a table to the function: sets `envVar` to the table name and grants exactly the
   * item-level actions of `accessMode` on that table (plus KMS use of its key), no index or scan.
   */
  public bindTable({ table, envVar, accessMode }: BindTableOptions): this {
    this.function.addEnvironment(envVar, table.tableName);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: TABLE_ACTIONS[accessMode], resources: [table.tableArn] }),
    );
    if (table.encryptionKey)
      this.allowKey(table.encryptionKey, accessMode === 'read' ? 'decrypt' : 'encryptDecrypt');
    return this;
  }

  /**
   * Lets the function query one global secondary index of a table (nothing else of the index,
   * no other index), and decrypt what it reads. The table itself is bound with `bindTable`.
   */
  public bindIndexQuery({ table, indexName }: { readonly table: ITable; readonly indexName: string }): this {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${table.tableArn}/index/${indexName}`],
      }),
    );
    if (table.encryptionKey) this.allowKey(table.encryptionKey, 'decrypt');
    return this;
  }

  /**
   * Passes the artifact bucket to the function: sets `envVar` to the bucket name and attaches the
   * bucket's read policy (GetObject under `models/`, ListBucket limited to that prefix, KMS decrypt),
   * or with `access: 'register'` its register policy (see {@link ArtifactBucket.registerPolicy}).
   */
  public bindBucket({ bucket, envVar, access = 'read' }: BindBucketOptions): this {
    this.function.addEnvironment(envVar, bucket.bucket.bucketName);
    this.role.addManagedPolicy(access === 'register' ? bucket.registerPolicy : bucket.readPolicy);
    return this;
  }

  /**
   * Passes the Firehose capture path to the function: the stream name (`VIGIL_CAPTURE_STREAM`)
   * with PutRecordBatch on that stream, and its parking queue ({@link bindCaptureParking}) —
   * nothing else.
   */
  public bindCaptureStream(stream: CaptureStream, key: kms.IKey): this {
    this.function.addEnvironment(ENV.CAPTURE_STREAM, stream.streamName);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['firehose:PutRecordBatch'], resources: [stream.streamArn] }),
    );
    return this.bindCaptureParking(stream.parking, key);
  }

  /**
   * Passes a capture parking queue to the function: its URL (`VIGIL_CAPTURE_PARKING_QUEUE`),
   * SendMessage on that queue and the key use its encryption needs.
   */
  public bindCaptureParking(parking: CaptureParking, key: kms.IKey): this {
    this.function.addEnvironment(ENV.CAPTURE_PARKING_QUEUE, parking.queue.queueUrl);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [parking.queue.queueArn] }),
    );
    this.allowKey(key, 'encryptDecrypt');
    return this;
  }

  /** Passes a secret to the function: sets `envVar` to its ARN and grants reading that secret only. */
  public bindSecret({ secret, envVar }: BindSecretOptions): this {
    this.function.addEnvironment(envVar, secret.secretArn);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [secret.secretArn],
      }),
    );
    if (secret.encryptionKey) this.allowKey(secret.encryptionKey, 'decrypt');
    return this;
  }

  /**
   * Key use through the role's own policy. `key.grant*()` would also edit the key policy when the
   * key lives in another stack, making the Data stack depend on this one (a cycle); the key policy
   * already delegates to IAM policies of the account.
   */
  private allowKey(key: kms.IKey, use: 'decrypt' | 'encryptDecrypt'): void {
    const actions =
      use === 'decrypt' ? ['kms:Decrypt'] : ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'];
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [key.keyArn] }));
  }
}
