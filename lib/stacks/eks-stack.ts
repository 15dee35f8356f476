import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { type CfnElement, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct, IConstruct } from 'constructs';
import { ENV, PRODUCTION_ALIAS } from '#contracts';
import type { VigilConfig } from '../config.ts';
import { autoModeNodePoolManifests } from '../constructs/auto-mode-node-pool.ts';
import { restrictGrantsToAwsServices } from '../constructs/key-grants.ts';
import { REPO_ROOT } from '../constructs/model-function.ts';
import { type K8sObject, streamingScorerManifests } from '../constructs/streaming-scorer-manifests.ts';
import { trainingManifests } from '../constructs/training-manifests.ts';
import { type DataStack, removalPolicyOf } from './data-stack.ts';

/** Namespace and names of the streaming scorer's Kubernetes objects. */
export const SCORER = {
  namespace: 'vigil',
  name: 'streaming-scorer',
  serviceAccount: 'streaming-scorer',
  /** NodeClass and NodePool whose nodes enforce NetworkPolicy. */
  nodePool: 'vigil-scorer',
} as const;

/**
 * Namespace and service account of the training Jobs (retraining's TrainOnEks branch): created
 * here with the trainer's pod-identity role; the Pipeline stack's Job submitter may edit this
 * namespace only, and its Jobs run as this service account.
 */
export const TRAINING = { namespace: 'vigil-training', serviceAccount: 'vigil-trainer' } as const;

/** Service CIDR of the cluster, fixed so the DNS egress rule can name the kube-dns ClusterIP range. */
export const SERVICE_CIDR = '172.20.0.0/16';

/** Docker platform per node architecture. */
const PLATFORMS = { amd64: ecrAssets.Platform.LINUX_AMD64, arm64: ecrAssets.Platform.LINUX_ARM64 } as const;

/** Construct id of the singleton function aws-cdk-lib creates for AwsCustomResources. */
const AWS_CUSTOM_RESOURCE_SINGLETON = 'AWS679f53fac002430cb0da5b7982bd2287';

/** Where ECR's DescribeImages answer holds the pushed image's digest. */
const IMAGE_DIGEST_PATH = 'imageDetails.0.imageDigest';

/** Properties of {@link EksStack}. */
export interface EksStackProps extends StackProps {
  readonly config: VigilConfig;
  readonly data: DataStack;
}

/**
 * EKS cluster for long-running containers (DESIGN.md §9 `Eks`): `aws-eks-v2` in Auto Mode with a
 * private API endpoint, all control-plane logs, VPC flow logs, and the streaming scorer's manifests
 * (validated `kubernetes-models` objects). The scorer pod reads tables and model packages through
 * an EKS Pod Identity association.
 *
 * Applying manifests needs the kubectl provider, which needs a kubectl Lambda layer: it comes from
 * `@aws-cdk/lambda-layer-kubectl-v33` (the kubectl/helm binaries ship inside that npm package, so
 * synth stays offline and `cdk deploy --all` needs no extra parameter).
 */
export class EksStack extends Stack {
  public readonly cluster: eks.Cluster;
  public readonly serviceAccount: eks.ServiceAccount;
  /** The streaming scorer's image, built from the repo's Dockerfile at deploy (staged at synth). */
  public readonly image: ecrAssets.DockerImageAsset;
  /**
   * `<repository uri>@sha256:…`: the image the pods run, by the digest ECR reports for the pushed
   * asset tag (read at deploy, after the push), so no later push or re-tag changes what runs.
   */
  public readonly imageRef: string;
  /** The metrics server the HPA reads CPU utilisation from (not installed by default). */
  public readonly metricsServer: eks.Addon;
  /** The validated objects applied to the cluster, in order. */
  public readonly manifests: K8sObject[];
  /** The training branch's namespace and service account (validated), applied before any Job. */
  public readonly trainingManifests: K8sObject[];
  /** What a training Job's pods may do in AWS (EKS Pod Identity, {@link TRAINING} service account). */
  public readonly trainerRole: iam.Role;

  constructor(scope: Construct, id: string, props: EksStackProps) {
    super(scope, id, props);
    const { config, data } = props;

    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });
    vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', {
          retention: config.logRetentionDays,
          removalPolicy: removalPolicyOf(config),
        }),
      ),
    });

    this.cluster = new eks.Cluster(this, 'Cluster', {
      version: eks.KubernetesVersion.V1_33,
      defaultCapacityType: eks.DefaultCapacityType.AUTOMODE,
      vpc,
      vpcSubnets: [{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }],
      serviceIpv4Cidr: SERVICE_CIDR,
      // Envelope encryption of Kubernetes Secrets with a customer key (rotation on).
      secretsEncryptionKey: restrictGrantsToAwsServices(
        new kms.Key(this, 'SecretsKey', {
          description: `Vigil ${config.envName}: EKS secrets envelope encryption`,
          enableKeyRotation: true,
          removalPolicy: removalPolicyOf(config),
        }),
      ),
      endpointAccess: eks.EndpointAccess.PRIVATE,
      clusterLogging: [
        eks.ClusterLoggingTypes.API,
        eks.ClusterLoggingTypes.AUDIT,
        eks.ClusterLoggingTypes.AUTHENTICATOR,
        eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
        eks.ClusterLoggingTypes.SCHEDULER,
      ],
      kubectlProviderOptions: {
        kubectlLayer: new KubectlV33Layer(this, 'KubectlLayer'),
        // The endpoint is private, so the provider runs inside the VPC.
        privateSubnets: vpc.privateSubnets,
      },
    });

    this.acknowledgeClusterFindings();

    // A CDK image asset: synth only stages the build context (the repo, minus .dockerignore) into
    // cdk.out, no Docker needed; `cdk deploy` builds it for the node pool's architecture and pushes
    // it to the bootstrap ECR repository under its content hash (an immutable tag there), so the
    // pods run exactly the code of this commit and nobody else's registry decides what runs.
    this.image = new ecrAssets.DockerImageAsset(this, 'ScorerImage', {
      directory: REPO_ROOT,
      file: 'Dockerfile',
      platform: PLATFORMS[config.eks.arch],
    });

    // The asset's tag is known at synth, its digest only after the push at deploy: a custom
    // resource asks ECR for it. A content-hash tag alone is not a pin: the bootstrap repository's
    // tag immutability is a bootstrap-template setting, anyone with ecr:BatchDeleteImage and
    // ecr:PutImage can delete and re-push it, and cdk-assets skips the push when the tag already
    // exists; a rescheduled pod would then pull other bytes. By digest, every pull is the image
    // that was there when this stack deployed, and a new asset hash re-reads it (Update).
    const digest = new cr.AwsCustomResource(this, 'ScorerImageDigest', {
      onUpdate: {
        service: 'ECR',
        action: 'describeImages',
        parameters: {
          repositoryName: this.image.repository.repositoryName,
          imageIds: [{ imageTag: this.image.imageTag }],
        },
        physicalResourceId: cr.PhysicalResourceId.of(this.image.imageTag),
        outputPaths: [IMAGE_DIGEST_PATH],
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['ecr:DescribeImages'],
          resources: [this.image.repository.repositoryArn],
        }),
      ]),
      installLatestAwsSdk: false,
    });
    this.imageRef = `${this.image.repository.repositoryUri}@${digest.getResponseField(IMAGE_DIGEST_PATH)}`;
    // The singleton function behind every AwsCustomResource of the stack (CDK-owned); its own
    // permissions are the one DescribeImages statement above, on the one repository.
    const digestRole = this.node
      .tryFindChild(AWS_CUSTOM_RESOURCE_SINGLETON)
      ?.node.tryFindChild('ServiceRole');
    if (!digestRole)
      throw new Error('EksStack: expected the AwsCustomResource singleton (aws-cdk-lib changed?)');
    Validations.of(digestRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "Role of CDK's AwsCustomResource singleton (reads the scorer image digest): the managed policy is its log writing, CDK attaches it.",
    });

    this.metricsServer = new eks.Addon(this, 'MetricsServer', {
      cluster: this.cluster,
      addonName: 'metrics-server',
    });

    const nodeRole = this.cluster.node.tryFindChild('ClusternodePoolRole') as iam.Role | undefined;
    if (!nodeRole)
      throw new Error('EksStack: expected construct Cluster/ClusternodePoolRole (aws-eks-v2 changed?)');
    const nodePool = this.cluster.addManifest(
      'NetworkPolicyNodePool',
      ...autoModeNodePoolManifests({
        name: SCORER.nodePool,
        nodeRoleName: nodeRole.roleName,
        subnetIds: vpc.privateSubnets.map((s) => s.subnetId),
        securityGroupIds: [this.cluster.clusterSecurityGroupId],
        arch: config.eks.arch,
      }),
    );

    this.manifests = streamingScorerManifests({
      namespace: SCORER.namespace,
      name: SCORER.name,
      serviceAccountName: SCORER.serviceAccount,
      image: this.imageRef,
      nodeSelector: { 'karpenter.sh/nodepool': SCORER.nodePool, 'kubernetes.io/arch': config.eks.arch },
      dnsCidrs: [vpc.vpcCidrBlock, SERVICE_CIDR],
      containerPort: config.eks.containerPort,
      resources: config.eks,
      env: {
        [ENV.REGISTRY_TABLE]: data.registryTable.tableName,
        [ENV.CAPTURES_TABLE]: data.capturesTable.tableName,
        [ENV.DRIFT_TABLE]: data.driftTable.tableName,
        [ENV.ARTIFACT_BUCKET]: data.artifacts.bucket.bucketName,
        [ENV.MODEL_ALIAS]: PRODUCTION_ALIAS,
        [ENV.CAPTURE_SAMPLE_RATE]: String(config.captureSampleRate),
        [ENV.MAX_SCORE_ROWS]: String(config.maxScoreRows),
        // `vigil serve --aws` checks API keys itself (no API Gateway in front of the pod).
        [ENV.API_KEYS_SECRET]: data.apiKeys.secretArn,
        [ENV.ENVIRONMENT]: config.envName,
        AWS_REGION: this.region,
      },
    });
    const [namespace, ...rest] = this.manifests.map((m) => m.toJSON());
    const namespaceManifest = this.cluster.addManifest('ScorerNamespace', namespace);

    this.serviceAccount = this.cluster.addServiceAccount('ScorerServiceAccount', {
      name: SCORER.serviceAccount,
      namespace: SCORER.namespace,
      identityType: eks.IdentityType.POD_IDENTITY,
    });
    this.serviceAccount.node.addDependency(namespaceManifest);
    // Same least-privilege access as the score function: read registry, write captures, read models.
    this.serviceAccount.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
        resources: [data.registryTable.tableArn],
      }),
    );
    // GET /v1/models/{model}/drift reads the reports.
    this.serviceAccount.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
        resources: [data.driftTable.tableArn],
      }),
    );
    this.serviceAccount.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:DescribeTable'],
        resources: [data.capturesTable.tableArn],
      }),
    );
    this.serviceAccount.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [data.key.keyArn],
      }),
    );
    this.serviceAccount.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [data.apiKeys.secretArn],
      }),
    );
    this.serviceAccount.role.addManagedPolicy(data.artifacts.readPolicy);

    const trainer = this.addTrainingBranch(data);
    this.trainingManifests = trainer.manifests;
    this.trainerRole = trainer.role;

    const workload = this.cluster.addManifest('StreamingScorer', ...rest);
    workload.node.addDependency(this.serviceAccount);
    // Pods must find their enforcing node pool, and the HPA its metrics, when they arrive.
    workload.node.addDependency(nodePool);
    workload.node.addDependency(this.metricsServer);
  }

  /**
   * The training Jobs' place on the cluster: the namespace (Pod Security `restricted`), the
   * trainer's service account, and its pod-identity role, which may do what the Train step does
   * and nothing else: read the run's dataset and the production package it takes its params
   * from, write the candidate package of the run, and answer the waiting task (SendTaskSuccess /
   * SendTaskFailure). No table, no other prefix, no other key use than S3's.
   */
  private addTrainingBranch(data: DataStack): { manifests: K8sObject[]; role: iam.Role } {
    const manifests = trainingManifests({
      namespace: TRAINING.namespace,
      serviceAccountName: TRAINING.serviceAccount,
    });
    const [namespace, serviceAccount] = manifests.map((m) => m.toJSON());
    const ns = this.cluster.addManifest('TrainingNamespace', namespace);
    this.cluster.addManifest('TrainerServiceAccount', serviceAccount).node.addDependency(ns);

    const role = new iam.Role(this, 'TrainerRole', {
      assumedBy: new iam.ServicePrincipal('pods.eks.amazonaws.com').withSessionTags(),
      description: `Vigil ${this.stackName}: retraining Jobs in ${TRAINING.namespace} (EKS Pod Identity)`,
    });
    role.addManagedPolicy(
      data.artifacts.prefixPolicy(
        'TrainerRead',
        ['s3:GetObject'],
        // `retraining/<model>/<execution>/dataset.parquet`, and the production package (its params).
        ['retraining/*/dataset.', data.artifacts.modelPrefix],
        'The EKS trainer reads the run dataset and the production package',
      ),
    );
    role.addManagedPolicy(
      data.artifacts.prefixPolicy(
        'TrainerWrite',
        ['s3:PutObject'],
        ['retraining/*/candidate/'],
        'The EKS trainer writes the candidate package of its run',
      ),
    );
    // The bucket is SSE-KMS with the data key: decrypt what it reads, a data key for what it writes,
    // through S3 only.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [data.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: ['*'],
      }),
    );
    const policy = role.node.tryFindChild('DefaultPolicy');
    if (!policy) throw new Error('EksStack: expected the trainer role’s DefaultPolicy');
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'states:SendTaskSuccess/SendTaskFailure (the trainer answering its own task token) support no resource-level permissions.',
    });
    // The Pod Identity agent (an addon, or built into Auto Mode nodes) hands the pods these credentials.
    void this.cluster.eksPodIdentityAgent;
    new eks.CfnPodIdentityAssociation(this, 'TrainerPodIdentity', {
      clusterName: this.cluster.clusterName,
      namespace: TRAINING.namespace,
      serviceAccount: TRAINING.serviceAccount,
      roleArn: role.roleArn,
    });
    return { manifests, role };
  }

  /**
   * Findings on resources aws-eks-v2 creates and owns (cluster roles, the kubectl provider), each
   * acknowledged on its one resource: their policies are what EKS Auto Mode and the provider need.
   */
  private acknowledgeClusterFindings(): void {
    const at = (path: string): IConstruct => {
      const found = this.cluster.node.tryFindChild(path.split('/')[0]);
      const target = path
        .split('/')
        .slice(1)
        .reduce<IConstruct | undefined>((node, id) => node?.node.tryFindChild(id), found);
      if (!target) throw new Error(`EksStack: expected construct Cluster/${path} (aws-eks-v2 changed?)`);
      return target;
    };
    const managed = (name: string) =>
      `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`;
    const ack = (path: string, ids: string[], reason: string) => {
      for (const id of ids) Validations.of(at(path)).acknowledge({ id, reason });
    };
    ack(
      'Role',
      [
        'AmazonEKSClusterPolicy',
        'AmazonEKSComputePolicy',
        'AmazonEKSBlockStoragePolicy',
        'AmazonEKSLoadBalancingPolicy',
        'AmazonEKSNetworkingPolicy',
      ].map(managed),
      'EKS Auto Mode requires these AWS-managed policies on the cluster role.',
    );
    ack(
      'ClusternodePoolRole',
      ['AmazonEKSWorkerNodePolicy', 'AmazonEC2ContainerRegistryReadOnly'].map(managed),
      'EKS Auto Mode nodes need the AWS-managed worker node and ECR read-only policies.',
    );
    const providerReason = 'Role of the aws-eks-v2 kubectl provider (CDK-owned), running in the VPC.';
    ack(
      'KubectlProvider/Handler/ServiceRole',
      [
        managed('AmazonEC2ContainerRegistryReadOnly'),
        managed('service-role/AWSLambdaBasicExecutionRole'),
        managed('service-role/AWSLambdaVPCAccessExecutionRole'),
        `AwsSolutions-IAM4[Policy::${JSON.stringify({
          'Fn::If': [
            this.getLogicalId(at('KubectlProvider/Handler/HasEcrPublic') as CfnElement),
            {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly',
                ],
              ],
            },
            { Ref: 'AWS::NoValue' },
          ],
        })}]`,
      ],
      providerReason,
    );
    ack(
      'KubectlProvider/Provider/framework-onEvent/ServiceRole',
      [
        managed('service-role/AWSLambdaBasicExecutionRole'),
        managed('service-role/AWSLambdaVPCAccessExecutionRole'),
      ],
      providerReason,
    );
    const handler = at('KubectlProvider/Handler/Resource') as lambda.CfnFunction;
    ack(
      'KubectlProvider/Provider/framework-onEvent/ServiceRole/DefaultPolicy',
      [`AwsSolutions-IAM5[Resource::<${this.getLogicalId(handler)}.Arn>:*]`],
      'The provider framework invokes the kubectl handler and its versions (ARN:*), nothing else.',
    );
    ack(
      'KubectlProvider/Handler',
      ['AwsSolutions-L1'],
      'The kubectl handler runtime is chosen by aws-eks-v2 (latest Python it supports), not by Vigil.',
    );
  }
}
