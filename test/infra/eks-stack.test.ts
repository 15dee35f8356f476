import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrainingJobConfigSchema, trainingJob } from '#app/retrain-job.ts';
import { ENV, RETRAINING_TASKS } from '#contracts';
import { autoModeNodePoolManifests } from '../../lib/constructs/auto-mode-node-pool.ts';
import { streamingScorerManifests } from '../../lib/constructs/streaming-scorer-manifests.ts';
import { trainingManifests } from '../../lib/constructs/training-manifests.ts';
import { SCORER, SERVICE_CIDR, TRAINING } from '../../lib/stacks/eks-stack.ts';
import { type CfnProps, joinedText, resourcesOf, synthEnv } from './harness.ts';

const { templates, config, stacks, app } = synthEnv('prod');
const t = templates.eks;

/** Every Kubernetes object the template applies, parsed from the kubectl custom resources. */
const applied = resourcesOf(t, 'Custom::AWSCDK-EKS-KubernetesResource').flatMap(
  ([, p]) =>
    JSON.parse(joinedText(p.Manifest)) as { kind: string; metadata: { name: string }; spec: CfnProps }[],
);
const one = (kind: string, name: string = SCORER.name) => {
  const found = applied.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0];
};

const baseOptions = {
  namespace: 'vigil',
  name: 'scorer',
  serviceAccountName: 'scorer',
  image: 'example/scorer:1.0.0',
  containerPort: 8080,
  resources: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '256Mi', memoryLimit: '512Mi' },
  env: { A: 'b' },
  dnsCidrs: ['10.0.0.0/16'],
};

describe('EKS stack', () => {
  it('creates an Auto Mode cluster with a private endpoint and all control-plane logs', () => {
    const [[, cluster]] = resourcesOf(t, 'AWS::EKS::Cluster');
    expect(cluster.ComputeConfig.Enabled).toBe(true);
    expect(cluster.ResourcesVpcConfig.EndpointPublicAccess).toBe(false);
    expect(cluster.ResourcesVpcConfig.EndpointPrivateAccess).toBe(true);
    expect(cluster.Logging.ClusterLogging.EnabledTypes.map((x: { Type: string }) => x.Type).sort()).toEqual([
      'api',
      'audit',
      'authenticator',
      'controllerManager',
      'scheduler',
    ]);
  });

  it('applies the namespace, ConfigMap, Deployment, Service, HPA, PDB and network policies', () => {
    expect(applied.map((o) => o.kind).sort()).toEqual([
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'Namespace',
      'Namespace',
      'NetworkPolicy',
      'NetworkPolicy',
      'NodeClass',
      'NodePool',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ServiceAccount',
    ]);
  });

  it('configures `vigil serve --aws` with every table, the bucket and the API-key secret it reads', () => {
    const data = (one('ConfigMap') as unknown as { data: Record<string, string> }).data;
    for (const key of [
      'VIGIL_REGISTRY_TABLE',
      'VIGIL_CAPTURES_TABLE',
      'VIGIL_DRIFT_TABLE',
      'VIGIL_ARTIFACT_BUCKET',
      'VIGIL_API_KEYS_SECRET',
    ]) {
      expect(data[key], key).toBeDefined();
    }
  });

  it('scales on 70% CPU between 2 and 10 replicas', () => {
    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 10 });
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: SCORER.name });
    expect(hpa.spec.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
    ]);
  });

  it('keeps at least one pod through voluntary disruptions', () => {
    expect(one('PodDisruptionBudget').spec.minAvailable).toBe(1);
  });

  it('denies all traffic by default and opens only the service port, DNS, HTTPS and the pod identity agent', () => {
    expect(one('NetworkPolicy', 'default-deny-all').spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
    });
    const allow = one('NetworkPolicy', `${SCORER.name}-allow`).spec;
    expect(allow.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: config.eks.containerPort }] }]);
    const egressPorts = allow.egress.flatMap((e: { ports: { port: number; protocol: string }[] }) => e.ports);
    expect(egressPorts).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
      { protocol: 'TCP', port: 443 },
      { protocol: 'TCP', port: 80 },
    ]);
    const agent = allow.egress.find((e: { ports: { port: number }[] }) => e.ports[0].port === 80);
    expect(agent.to).toEqual([{ ipBlock: { cidr: '169.254.170.23/32' } }]);
  });

  it('runs the scorer non-root on a read-only root file system with no capabilities and /health probes', () => {
    const pod = one('Deployment').spec.template.spec;
    const [container] = pod.containers;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.livenessProbe.httpGet.path).toBe('/health');
    expect(container.readinessProbe.httpGet.path).toBe('/health');
    expect(container.resources).toEqual({
      requests: { cpu: config.eks.cpuRequest, memory: config.eks.memoryRequest },
      limits: { cpu: config.eks.cpuLimit, memory: config.eks.memoryLimit },
    });
    expect(pod.serviceAccountName).toBe(SCORER.serviceAccount);
  });

  it('binds the scorer service account to its role through a Pod Identity association', () => {
    t.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      Namespace: SCORER.namespace,
      ServiceAccount: SCORER.serviceAccount,
    });
  });

  it('ships its own kubectl layer, so deploying needs no parameters', () => {
    expect(t.toJSON().Parameters?.KubectlLayerArn).toBeUndefined();
    const layers = Object.values(t.findResources('AWS::Lambda::LayerVersion'));
    expect(layers.some((l) => /kubectl/i.test(JSON.stringify(l.Properties?.Description ?? '')))).toBe(true);
  });
});

describe('EKS stack: a scorer that can run', () => {
  it('runs the image built from the repo Dockerfile as a CDK asset, not a public placeholder', () => {
    const workload = Object.values(t.findResources('Custom::AWSCDK-EKS-KubernetesResource')).find((r) =>
      joinedText((r as CfnProps).Properties.Manifest).includes('"kind":"Deployment"'),
    );
    const raw = JSON.stringify((workload as CfnProps).Properties.Manifest);
    expect(raw).not.toMatch(/public\.ecr\.aws|:latest/);
    // The bootstrap ECR repository, by the digest read after the push, not by the (re-pushable) tag.
    expect(raw).toContain('.dkr.ecr.');
    expect(raw).not.toContain(`:${stacks.eks.image.assetHash}`);
    expect(raw).toMatch(
      /container-assets-[^"]*"[^@]*@", *\{"Fn::GetAtt":\["ScorerImageDigest[0-9A-F]+","imageDetails\.0\.imageDigest"\]\}/,
    );
    const assets = JSON.parse(readFileSync(join(app.outdir, `${stacks.eks.stackName}.assets.json`), 'utf8'));
    const images = Object.values(assets.dockerImages) as {
      source: { directory: string; platform?: string };
    }[];
    expect(images).toHaveLength(1);
    expect(images[0].source.platform).toBe(`linux/${config.eks.arch}`);
    // Synth staged the build context offline: the Dockerfile is in the cloud assembly.
    expect(readFileSync(join(app.outdir, images[0].source.directory, 'Dockerfile'), 'utf8')).toContain(
      'dist/vigil.mjs',
    );
  });

  it('reads that digest from ECR for the asset tag, allowed to describe only the bootstrap image repository', () => {
    const [[id, digest], ...more] = resourcesOf(t, 'Custom::AWS');
    expect(more).toHaveLength(0);
    expect(id).toMatch(/^ScorerImageDigest/);
    const create = JSON.parse(joinedText(digest.Create));
    expect(create).toMatchObject({
      service: 'ECR',
      action: 'describeImages',
      parameters: { repositoryName: 'TOKEN', imageIds: [{ imageTag: stacks.eks.image.imageTag }] },
      // A new asset hash is a new physical id: the digest is read again, never kept from an old image.
      physicalResourceId: { id: stacks.eks.image.imageTag },
      outputPaths: ['imageDetails.0.imageDigest'],
    });
    expect(JSON.stringify(digest.Create)).toContain('cdk-hnb659fds-container-assets-');
    expect(digest.Update).toEqual(digest.Create);
    const statements = resourcesOf(t, 'AWS::IAM::Policy')
      .filter(([pid]) => pid.startsWith('ScorerImageDigest'))
      .flatMap(([, p]) => p.PolicyDocument.Statement as CfnProps[]);
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toBe('ecr:DescribeImages');
    expect(joinedText(statements[0]?.Resource)).toBe('arn:TOKEN:ecr:TOKEN:TOKEN:repository/TOKEN');
    expect(JSON.stringify(statements[0]?.Resource)).toContain('cdk-hnb659fds-container-assets-');
  });

  it('schedules pods on the network-policy node pool of the image architecture', () => {
    const pod = one('Deployment').spec.template.spec;
    expect(pod.nodeSelector).toEqual({
      'karpenter.sh/nodepool': SCORER.nodePool,
      'kubernetes.io/arch': config.eks.arch,
    });
    const pool = one('NodePool', SCORER.nodePool).spec.template.spec;
    expect(pool.requirements).toContainEqual({
      key: 'kubernetes.io/arch',
      operator: 'In',
      values: [config.eks.arch],
    });
    expect(pool.nodeClassRef).toEqual({
      group: 'eks.amazonaws.com',
      kind: 'NodeClass',
      name: SCORER.nodePool,
    });
  });

  it('turns NetworkPolicy enforcement on: the controller ConfigMap and a NodeClass with networkPolicy', () => {
    const cm = applied.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'amazon-vpc-cni',
    ) as unknown as { metadata: { namespace: string }; data: Record<string, string> };
    expect(cm.metadata.namespace).toBe('kube-system');
    expect(cm.data['enable-network-policy-controller']).toBe('true');
    expect(one('NodeClass', SCORER.nodePool).spec).toMatchObject({
      networkPolicy: 'DefaultAllow',
      networkPolicyEventLogs: 'Enabled',
    });
  });

  it('allows DNS to the nodes and the Service CIDR, where Auto Mode answers, not to kube-system pods', () => {
    const allow = one('NetworkPolicy', `${SCORER.name}-allow`).spec;
    const dns = allow.egress.find((e: { ports: { port: number }[] }) => e.ports[0].port === 53);
    expect(JSON.stringify(dns.to)).not.toContain('namespaceSelector');
    expect(dns.to).toContainEqual({ ipBlock: { cidr: SERVICE_CIDR } });
    expect(dns.to).toHaveLength(2);
    const [[, cluster]] = resourcesOf(t, 'AWS::EKS::Cluster');
    expect(cluster.KubernetesNetworkConfig.ServiceIpv4Cidr).toBe(SERVICE_CIDR);
  });

  it('installs the metrics server the HPA needs, before the workload', () => {
    const [[addonId]] = resourcesOf(t, 'AWS::EKS::Addon').filter(([, p]) => p.AddonName === 'metrics-server');
    const workload = Object.entries(t.findResources('Custom::AWSCDK-EKS-KubernetesResource')).find(([, r]) =>
      joinedText((r as CfnProps).Properties.Manifest).includes('"kind":"Deployment"'),
    );
    expect(workload).toBeDefined();
    expect((workload as [string, CfnProps])[1].DependsOn).toContain(addonId);
  });

  it('leaves the replica count to the HPA', () => {
    expect(one('Deployment').spec.replicas).toBeUndefined();
  });
});

/** Every statement of the trainer role: inline, and the artifact-bucket prefix policies it attaches (Data stack). */
const trainerStatements = (): CfnProps[] => {
  const eks = t.toJSON();
  const [[roleId, role]] = resourcesOf(t, 'AWS::IAM::Role').filter(([id]) => id.startsWith('TrainerRole'));
  const inline = resourcesOf(t, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Roles.some((r: CfnProps) => r.Ref === roleId))
    .flatMap(([, p]) => p.PolicyDocument.Statement as CfnProps[]);
  const data = templates.data.toJSON();
  const attached = ((role.ManagedPolicyArns ?? []) as CfnProps[]).map(
    (a) => a['Fn::GetStackOutput']?.OutputName as string,
  );
  expect(attached.every((o) => typeof o === 'string')).toBe(true);
  expect(eks.Resources[roleId]).toBeDefined();
  return [
    ...inline,
    ...attached.flatMap(
      (o) => data.Resources[data.Outputs[o].Value.Ref].Properties.PolicyDocument.Statement as CfnProps[],
    ),
  ];
};

describe('EKS training branch', () => {
  it('creates the training namespace under Pod Security “restricted”, and the trainer service account in it', () => {
    const ns = one('Namespace', TRAINING.namespace) as unknown as {
      metadata: { labels: Record<string, string> };
    };
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const sa = one('ServiceAccount', TRAINING.serviceAccount) as unknown as {
      metadata: { namespace: string };
    };
    expect(sa.metadata.namespace).toBe(TRAINING.namespace);
  });

  it('binds the trainer service account to its own role by EKS Pod Identity', () => {
    const [[, assoc]] = resourcesOf(t, 'AWS::EKS::PodIdentityAssociation').filter(
      ([, p]) => p.Namespace === TRAINING.namespace,
    );
    expect(assoc.ServiceAccount).toBe(TRAINING.serviceAccount);
    const roleId = assoc.RoleArn['Fn::GetAtt'][0] as string;
    expect(roleId).toMatch(/^TrainerRole/);
    const trust = t.toJSON().Resources[roleId].Properties.AssumeRolePolicyDocument.Statement as CfnProps[];
    expect(trust).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
      },
    ]);
  });

  it('lets the trainer read the run’s dataset and the production package, write the candidate, answer its task: nothing else', () => {
    const statements = trainerStatements();
    const actions = statements.flatMap((s) => [s.Action].flat() as string[]).sort();
    expect(actions).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
      's3:GetObject',
      's3:PutObject',
      'states:SendTaskFailure',
      'states:SendTaskSuccess',
    ]);
    const objects = (action: string) =>
      statements
        .filter((s) => [s.Action].flat().includes(action))
        .flatMap((s) => [s.Resource].flat())
        .map((r) => joinedText(r).replace(/^.*?(?=\/)/, ''))
        .sort();
    expect(objects('s3:GetObject')).toEqual(['/models/*', '/retraining/*/dataset.*']);
    expect(objects('s3:PutObject')).toEqual(['/retraining/*/candidate/*']);
    const kms = statements.find((s) => [s.Action].flat().includes('kms:Decrypt'));
    expect(JSON.stringify(kms?.Condition)).toContain('kms:ViaService');
  });

  it('runs the Job the Pipeline stack submits in that namespace, as that service account, within “restricted”', () => {
    const [[, submitter]] = resourcesOf(templates.pipeline, 'AWS::Lambda::Function').filter(
      ([, p]) => p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === RETRAINING_TASKS.TrainOnEks.service,
    );
    // The image and table names are tokens here; the rest is the config the function parses.
    const raw = JSON.parse(
      joinedText(submitter.Environment.Variables[ENV.TRAINING_JOB]).replace(/\$\{Token\[[^\]]+\]\}/g, 'x'),
    );
    const job = trainingJob(
      TrainingJobConfigSchema.parse(raw),
      { state: { model: 'default' }, execution: { id: 'arn:x', name: 'run-1' } },
      'token',
    ).toJSON() as CfnProps;
    expect(job.metadata.namespace).toBe(TRAINING.namespace);
    const pod = job.spec.template.spec;
    expect(pod.serviceAccountName).toBe(TRAINING.serviceAccount);
    // What Pod Security “restricted” demands of every pod in the namespace.
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
    }
    expect(pod.volumes ?? []).toEqual([]);
  });
});

describe('trainingManifests', () => {
  it('returns a namespace and a service account that pass the Kubernetes schema', () => {
    const objects = trainingManifests({ namespace: 'train', serviceAccountName: 'trainer' });
    expect(objects.map((o) => o.kind)).toEqual(['Namespace', 'ServiceAccount']);
    for (const o of objects) expect(() => o.validate()).not.toThrow();
  });

  it('fails schema validation for a malformed field instead of deferring to kubectl', () => {
    expect(() =>
      trainingManifests({ namespace: 'train', serviceAccountName: 42 as unknown as string }),
    ).toThrow();
  });
});

describe('autoModeNodePoolManifests', () => {
  it('refuses a node pool without subnets or security groups', () => {
    expect(() =>
      autoModeNodePoolManifests({
        name: 'x',
        nodeRoleName: 'r',
        subnetIds: [],
        securityGroupIds: ['sg'],
        arch: 'amd64',
      }),
    ).toThrow(/at least one subnet/);
  });
});

describe('streamingScorerManifests', () => {
  it('refuses an empty DNS allow list, which the default deny would turn into no name resolution', () => {
    expect(() => streamingScorerManifests({ ...baseOptions, dnsCidrs: [] })).toThrow(/dnsCidrs is empty/);
  });

  it('returns objects that pass the Kubernetes schema', () => {
    const objects = streamingScorerManifests(baseOptions);
    expect(objects).toHaveLength(8);
    for (const o of objects) expect(() => o.validate()).not.toThrow();
  });

  it('fails schema validation for a malformed field instead of deferring to kubectl', () => {
    expect(() =>
      streamingScorerManifests({ ...baseOptions, containerPort: 'http' as unknown as number }),
    ).toThrow();
  });

  it('refuses a PodDisruptionBudget that would cover every replica', () => {
    expect(() =>
      streamingScorerManifests({
        ...baseOptions,
        minAvailable: 2,
        scaling: { minReplicas: 2, maxReplicas: 10, cpuUtilization: 70 },
      }),
    ).toThrow(/minAvailable \(2\) must be below minReplicas/);
  });
});
