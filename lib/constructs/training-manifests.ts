import { Namespace, ServiceAccount } from 'kubernetes-models/v1';
import type { K8sObject } from './streaming-scorer-manifests.ts';

/** Options of {@link trainingManifests}. */
export interface TrainingManifestsOptions {
  /** Namespace the training Jobs run in (the Job submitter may edit this namespace only). */
  readonly namespace: string;
  /** Service account of the trainer pods, bound to the trainer's pod-identity role. */
  readonly serviceAccountName: string;
}

/** Labels on every training object. */
const PART_OF = { 'app.kubernetes.io/part-of': 'vigil', 'app.kubernetes.io/component': 'training' } as const;

/**
 * The Kubernetes objects the large-data training branch needs before a Job can run
 * (`lambdas/app/retrain-job.ts` builds the Job itself at run time): its namespace and the
 * trainer's service account, typed with `kubernetes-models` and schema-validated here, so a wrong
 * field fails at synth instead of inside the kubectl custom resource at deploy.
 *
 * The namespace enforces the Pod Security Standard `restricted` (the trainer pod runs as non-root
 * with RuntimeDefault seccomp, no privilege escalation and no capabilities), so nothing more
 * privileged can be started there, even by a principal with edit rights in it. Order matters for
 * `addManifest`: the namespace comes first.
 */
export const trainingManifests = (o: TrainingManifestsOptions): K8sObject[] => {
  const objects: K8sObject[] = [
    new Namespace({
      metadata: {
        name: o.namespace,
        labels: {
          ...PART_OF,
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    }),
    new ServiceAccount({
      metadata: { name: o.serviceAccountName, namespace: o.namespace, labels: { ...PART_OF } },
    }),
  ];
  for (const obj of objects) obj.validate();
  return objects;
};
