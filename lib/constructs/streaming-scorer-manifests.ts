import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';

/** Options of {@link streamingScorerManifests}. */
export interface StreamingScorerOptions {
  readonly namespace: string;
  /** Name of the Deployment, Service, HPA, PDB and ConfigMap. */
  readonly name: string;
  /** Kubernetes service account bound to the pod identity role. */
  readonly serviceAccountName: string;
  /** Image reference: the CDK image asset by digest (`repo@sha256:…`), so every pull runs the same bytes. */
  readonly image: string;
  /**
   * Node labels the pods must land on (the node pool whose nodes enforce NetworkPolicy, and the
   * architecture the image was built for).
   * @default - none
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /**
   * CIDRs where cluster DNS answers. On EKS Auto Mode DNS runs on each node, not as a kube-system
   * pod, so a namespace selector would match nothing: allow the VPC (nodes) and the Service CIDR
   * (the kube-dns ClusterIP) instead.
   */
  readonly dnsCidrs: readonly string[];
  /** Port the container listens on (`vigil serve --port`). */
  readonly containerPort: number;
  readonly resources: {
    readonly cpuRequest: string;
    readonly cpuLimit: string;
    readonly memoryRequest: string;
    readonly memoryLimit: string;
  };
  /** Environment of the scorer (table/bucket names, region …), delivered through the ConfigMap. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * HPA bounds and CPU target.
   * @default { minReplicas: 2, maxReplicas: 10, cpuUtilization: 70 }
   */
  readonly scaling?: {
    readonly minReplicas: number;
    readonly maxReplicas: number;
    readonly cpuUtilization: number;
  };
  /**
   * PodDisruptionBudget minAvailable.
   * @default 1
   */
  readonly minAvailable?: number;
}

/** What every kubernetes-models object offers: schema validation and plain-JSON conversion. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  validate(): void;
  toJSON(): Record<string, unknown>;
}

/** Path the container answers liveness/readiness probes on. */
export const HEALTH_PATH = '/health';
/** Port the Service exposes inside the cluster. */
export const SERVICE_PORT = 80;

/**
 * Kubernetes objects of the long-running streaming scorer (DESIGN.md §9 `Eks`), typed with
 * `kubernetes-models` and schema-validated here (`validate()` throws on a malformed object), so a
 * wrong field fails at synth time instead of inside the kubectl custom resource at deploy time.
 *
 * Order matters for `addManifest`: the namespace comes first.
 */
export const streamingScorerManifests = (o: StreamingScorerOptions): K8sObject[] => {
  const scaling = o.scaling ?? { minReplicas: 2, maxReplicas: 10, cpuUtilization: 70 };
  if (scaling.minReplicas < 1 || scaling.maxReplicas < scaling.minReplicas) {
    throw new Error(
      `streamingScorerManifests: need 1 <= minReplicas <= maxReplicas (got ${JSON.stringify(scaling)})`,
    );
  }
  if (o.dnsCidrs.length === 0) {
    throw new Error(
      'streamingScorerManifests: dnsCidrs is empty, so the default-deny policy would block DNS',
    );
  }
  const minAvailable = o.minAvailable ?? 1;
  if (minAvailable >= scaling.minReplicas) {
    // A PDB that covers every replica blocks node drains forever.
    throw new Error(`streamingScorerManifests: minAvailable (${minAvailable}) must be below minReplicas`);
  }
  const labels = { 'app.kubernetes.io/name': o.name, 'app.kubernetes.io/part-of': 'vigil' };
  const metadata = { name: o.name, namespace: o.namespace, labels };
  const probe = (initialDelaySeconds: number) => ({
    httpGet: { path: HEALTH_PATH, port: 'http' },
    initialDelaySeconds,
    periodSeconds: 10,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });

  const objects: K8sObject[] = [
    new Namespace({ metadata: { name: o.namespace, labels: { 'app.kubernetes.io/part-of': 'vigil' } } }),
    new ConfigMap({ metadata, data: { ...o.env, PORT: String(o.containerPort) } }),
    new Deployment({
      metadata,
      spec: {
        // No `replicas`: the HPA owns the count, and a value here would reset it on every apply.
        selector: { matchLabels: labels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: o.serviceAccountName,
            automountServiceAccountToken: true,
            ...(o.nodeSelector ? { nodeSelector: { ...o.nodeSelector } } : {}),
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 10001,
              runAsGroup: 10001,
              fsGroup: 10001,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'scorer',
                image: o.image,
                imagePullPolicy: 'IfNotPresent',
                ports: [{ name: 'http', containerPort: o.containerPort, protocol: 'TCP' }],
                envFrom: [{ configMapRef: { name: o.name } }],
                resources: {
                  requests: { cpu: o.resources.cpuRequest, memory: o.resources.memoryRequest },
                  limits: { cpu: o.resources.cpuLimit, memory: o.resources.memoryLimit },
                },
                livenessProbe: probe(10),
                readinessProbe: probe(2),
                securityContext: {
                  runAsNonRoot: true,
                  readOnlyRootFilesystem: true,
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'] },
                },
                // Read-only root: the only writable path is this scratch volume.
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
          },
        },
      },
    }),
    new Service({
      metadata,
      spec: {
        type: 'ClusterIP',
        selector: labels,
        ports: [{ name: 'http', port: SERVICE_PORT, targetPort: 'http', protocol: 'TCP' }],
      },
    }),
    new HorizontalPodAutoscaler({
      metadata,
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: o.name },
        minReplicas: scaling.minReplicas,
        maxReplicas: scaling.maxReplicas,
        metrics: [
          {
            type: 'Resource',
            resource: {
              name: 'cpu',
              target: { type: 'Utilization', averageUtilization: scaling.cpuUtilization },
            },
          },
        ],
      },
    }),
    new PodDisruptionBudget({ metadata, spec: { minAvailable, selector: { matchLabels: labels } } }),
    // Default deny for everything in the namespace; the next policy opens only what the scorer needs.
    new NetworkPolicy({
      metadata: { name: 'default-deny-all', namespace: o.namespace, labels },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    }),
    new NetworkPolicy({
      metadata: { name: `${o.name}-allow`, namespace: o.namespace, labels },
      spec: {
        podSelector: { matchLabels: labels },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [{ protocol: 'TCP', port: o.containerPort }] }],
        egress: [
          {
            to: o.dnsCidrs.map((cidr) => ({ ipBlock: { cidr } })),
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
          // AWS APIs (DynamoDB, S3, Secrets Manager) over HTTPS.
          { ports: [{ protocol: 'TCP', port: 443 }] },
          // The EKS Pod Identity Agent hands out credentials on this link-local address, port 80.
          { to: [{ ipBlock: { cidr: '169.254.170.23/32' } }], ports: [{ protocol: 'TCP', port: 80 }] },
        ],
      },
    }),
  ];
  for (const object of objects) object.validate();
  return objects;
};
