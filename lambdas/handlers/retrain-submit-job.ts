import { EksJobSubmitter } from '#adapters/eks-jobs.ts';
import { createSubmitJob, TrainingJobConfigSchema } from '#app/retrain-job.ts';
import { ENV } from '#contracts';

/** Wired once per process from the environment the Pipeline stack sets. */
let submit: ReturnType<typeof createSubmitJob> | undefined;

const required = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`Environment variable ${name} is required`);
  return v;
};

/** Step Functions task `TrainOnEks` (`waitForTaskToken`): creates the Kubernetes training Job. */
export const handler = (event: unknown) => {
  submit ??= createSubmitJob({
    jobs: new EksJobSubmitter({
      clusterName: required(ENV.EKS_CLUSTER_NAME),
      endpoint: required(ENV.EKS_ENDPOINT),
      certificateAuthority: required(ENV.EKS_CA),
      region: required('AWS_REGION'),
    }),
    config: TrainingJobConfigSchema.parse(JSON.parse(required(ENV.TRAINING_JOB))),
  });
  return submit(event);
};
