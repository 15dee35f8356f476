import { Job } from 'kubernetes-models/batch/v1';
import { z } from 'zod';
import { VigilError } from '#core/errors.ts';
import type { JobSubmitter } from '#core/retrain/ports.ts';
import { parseStepEvent, type TaskAnswer } from './retrain.ts';

/** Where and how the large-data branch runs the trainer (from `ENV.TRAINING_JOB`, set by the Pipeline stack). */
export const TrainingJobConfigSchema = z.object({
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
  image: z.string().min(1),
  serviceAccountName: z.string().min(1),
  /** Environment of the trainer container (table/bucket names, region …); never secrets. */
  env: z.record(z.string(), z.string()).default({}),
  cpu: z.string().default('4'),
  memory: z.string().default('16Gi'),
  /** Seconds Kubernetes lets the Job run before it fails it. */
  activeDeadlineSeconds: z
    .number()
    .int()
    .positive()
    .default(6 * 3600),
});
export type TrainingJobConfig = z.infer<typeof TrainingJobConfigSchema>;

export type { JobSubmitter };

/** Env var names the trainer container reads (`vigil retrain-worker`). */
export const WORKER_ENV = { stepEvent: 'VIGIL_STEP_EVENT', taskToken: 'VIGIL_TASK_TOKEN' } as const;

/** Kubernetes names: ≤ 63 chars of [a-z0-9-]; execution names may hold other characters. */
const k8sName = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/g, '');

/**
 * The training Job for one execution, as a validated `kubernetes-models` object: the same
 * trainer as the Lambda branch (`vigil retrain-worker` runs `train` on the step event) in
 * the Vigil image, no retries (a failure is reported through the task token instead),
 * a deadline, and a TTL so finished Jobs are cleaned up. The task token travels in the
 * pod's environment: it grants only answering this one task.
 */
export function trainingJob(
  cfg: TrainingJobConfig,
  stepEvent: { state: unknown; execution: { id: string; name: string } },
  taskToken: string,
): Job {
  const name = `vigil-train-${k8sName(stepEvent.execution.name)}`;
  const job = new Job({
    metadata: {
      name,
      namespace: cfg.namespace,
      labels: { 'app.kubernetes.io/name': 'vigil-trainer', 'app.kubernetes.io/part-of': 'vigil' },
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: cfg.activeDeadlineSeconds,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'vigil-trainer' } },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: cfg.serviceAccountName,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'trainer',
              image: cfg.image,
              args: ['retrain-worker'],
              env: [
                ...Object.entries(cfg.env).map(([k, v]) => ({ name: k, value: v })),
                { name: WORKER_ENV.stepEvent, value: JSON.stringify(stepEvent) },
                { name: WORKER_ENV.taskToken, value: taskToken },
              ],
              resources: {
                requests: { cpu: cfg.cpu, memory: cfg.memory },
                limits: { cpu: cfg.cpu, memory: cfg.memory },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    },
  });
  job.validate();
  return job;
}

/**
 * TrainOnEks (`waitForTaskToken`): creates the Job and returns; the execution waits until the
 * Job's trainer answers with the token (or the state's timeout ends it).
 */
export function createSubmitJob(deps: { readonly jobs: JobSubmitter; readonly config: TrainingJobConfig }) {
  return async (event: unknown): Promise<{ submitted: string }> => {
    const { state, execution } = parseStepEvent(event);
    const token = z.object({ taskToken: z.string().min(1) }).safeParse(event);
    if (!token.success) throw new VigilError('BadRequest', 'TrainOnEks needs the task token in its payload');
    const job = trainingJob(deps.config, { state, execution }, token.data.taskToken);
    await deps.jobs.createJob(deps.config.namespace, job);
    return { submitted: job.metadata?.name ?? '' };
  };
}

/**
 * The training Job's entry (`vigil retrain-worker`): runs the same Train step the Lambda
 * branch runs on the step event from its environment, then answers the waiting TrainOnEks
 * task with the result, or with the error (its name becomes the state's error, so the
 * definition's Catch routes it to Notify). Returns the process exit code.
 */
export async function runTrainingWorker(deps: {
  readonly train: (event: unknown, trainedOn: 'eks') => Promise<unknown>;
  readonly callback: TaskAnswer;
  readonly env: NodeJS.ProcessEnv;
}): Promise<number> {
  const token = deps.env[WORKER_ENV.taskToken];
  const raw = deps.env[WORKER_ENV.stepEvent];
  if (!token || !raw) throw new Error(`${WORKER_ENV.taskToken} and ${WORKER_ENV.stepEvent} are required`);
  try {
    const output = await deps.train(JSON.parse(raw), 'eks');
    await deps.callback.success(token, output);
    return 0;
  } catch (e) {
    const err = e as Error;
    // Step Functions limits error to 256 and cause to 32,768 characters.
    await deps.callback.failure(
      token,
      (err.name || 'Error').slice(0, 256),
      (err.message ?? '').slice(0, 32_768),
    );
    return 1;
  }
}
