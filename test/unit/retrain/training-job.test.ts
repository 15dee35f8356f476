import { describe, expect, it } from 'vitest';
import { eksToken } from '#adapters/eks-jobs.ts';
import {
  createSubmitJob,
  runTrainingWorker,
  TrainingJobConfigSchema,
  trainingJob,
  WORKER_ENV,
} from '#app/retrain-job.ts';

const config = TrainingJobConfigSchema.parse({
  namespace: 'vigil-training',
  image: 'example.com/vigil:1',
  serviceAccountName: 'vigil-trainer',
  env: { VIGIL_REGISTRY_TABLE: 'registry' },
});
const stepEvent = {
  state: { model: 'web', trigger: 'drift' },
  execution: { id: 'arn:aws:states:eu-west-1:1:execution:m:Drift_Run.1', name: 'Drift_Run.1' },
};

describe('trainingJob', () => {
  it('builds a valid Job that runs the trainer once, as non-root, with the step event and token', () => {
    const job = trainingJob(config, stepEvent, 'token-123').toJSON();
    expect(job.metadata?.name).toBe('vigil-train-drift-run-1');
    expect(job.metadata?.namespace).toBe('vigil-training');
    expect(job.spec?.backoffLimit).toBe(0);
    const pod = job.spec?.template.spec;
    expect(pod?.restartPolicy).toBe('Never');
    expect(pod?.serviceAccountName).toBe('vigil-trainer');
    expect(pod?.securityContext?.runAsNonRoot).toBe(true);
    const [c] = pod?.containers ?? [];
    expect(c.args).toEqual(['retrain-worker']);
    const env = Object.fromEntries(
      (c.env ?? []).map((e: { name: string; value?: string }) => [e.name, e.value]),
    );
    expect(JSON.parse(env[WORKER_ENV.stepEvent] ?? '')).toEqual(stepEvent);
    expect(env[WORKER_ENV.taskToken]).toBe('token-123');
    expect(env.VIGIL_REGISTRY_TABLE).toBe('registry');
    expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
  });

  it('keeps the Job name a valid Kubernetes name for any execution name', () => {
    const long = { ...stepEvent, execution: { ...stepEvent.execution, name: `${'X'.repeat(80)}--` } };
    const name = trainingJob(config, long, 't').metadata?.name ?? '';
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('submits the Job to the configured namespace and refuses an event without a task token', async () => {
    const created: { namespace: string; name?: string }[] = [];
    const submit = createSubmitJob({
      config,
      jobs: {
        createJob: async (namespace, job) => void created.push({ namespace, name: job.metadata?.name }),
      },
    });
    expect(await submit({ ...stepEvent, taskToken: 'tok' })).toEqual({
      submitted: 'vigil-train-drift-run-1',
    });
    expect(created).toEqual([{ namespace: 'vigil-training', name: 'vigil-train-drift-run-1' }]);
    await expect(submit(stepEvent)).rejects.toThrow(/task token/);
  });
});

describe('eksToken', () => {
  it('is a presigned STS GetCallerIdentity URL that signs the cluster-name header', async () => {
    const token = await eksToken({
      clusterName: 'vigil-dev',
      region: 'eu-west-1',
      credentials: {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      },
      now: new Date('2025-01-02T03:04:05Z'),
    });
    expect(token.startsWith('k8s-aws-v1.')).toBe(true);
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    const q = url.searchParams;
    expect(q.get('Action')).toBe('GetCallerIdentity');
    expect(q.get('X-Amz-Expires')).toBe('60');
    expect(q.get('X-Amz-Date')).toBe('20250102T030405Z');
    expect(q.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20250102/eu-west-1/sts/aws4_request');
    expect(q.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('runTrainingWorker', () => {
  const env = { [WORKER_ENV.taskToken]: 'tok', [WORKER_ENV.stepEvent]: JSON.stringify(stepEvent) };

  it('answers the waiting task with the Train result of the step event', async () => {
    const calls: unknown[] = [];
    const code = await runTrainingWorker({
      env,
      train: async (event, on) => ({ trainedOn: on, model: (event as typeof stepEvent).state.model }),
      callback: {
        success: async (t, o) => void calls.push(['success', t, o]),
        failure: async (t, e, c) => void calls.push(['failure', t, e, c]),
      },
    });
    expect(code).toBe(0);
    expect(calls).toEqual([['success', 'tok', { trainedOn: 'eks', model: 'web' }]]);
  });

  it('answers with the error’s name and message when training fails', async () => {
    const calls: unknown[] = [];
    const code = await runTrainingWorker({
      env,
      train: async () => {
        const e = new Error('The holdout is empty');
        e.name = 'InsufficientDataError';
        throw e;
      },
      callback: {
        success: async (t, o) => void calls.push(['success', t, o]),
        failure: async (t, e, c) => void calls.push(['failure', t, e, c]),
      },
    });
    expect(code).toBe(1);
    expect(calls).toEqual([['failure', 'tok', 'InsufficientDataError', 'The holdout is empty']]);
  });
});
