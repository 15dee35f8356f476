import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRetrainingLedger } from '#adapters/dynamodb-retraining.ts';
import { SfnExecutions, type SfnSend, SfnTaskAnswer } from '#adapters/sfn-executions.ts';
import type { RetrainControlDeps } from '#app/retrain-control.ts';
import { ENV } from '#contracts';
import type { RetrainingExecutions, TaskAnswer } from '#core/retrain/ports.ts';
import { config, member, registry } from './root.ts';

/** What stands in for Step Functions where there is none (the twin's state-machine runner). */
export interface LocalStepFunctions {
  readonly executions: RetrainingExecutions;
  readonly answer: TaskAnswer;
}

let local: LocalStepFunctions | undefined;

/**
 * The twin hands its runner in here before serving (`local/twin.ts`); Lambda never calls it.
 * `undefined` puts Step Functions back.
 */
export function useLocalStepFunctions(stepFunctions: LocalStepFunctions | undefined): void {
  local = stepFunctions;
}

/** Whether this process can reach executions (the twin's runner, or a machine ARN to call). */
export const hasStepFunctions = (): boolean => local !== undefined || Boolean(config().retrainingMachineArn);

/**
 * Lock liveness (AcquireLock): whether the lock holder's execution still runs, by
 * DescribeExecution. A failed look answers "running" — the lease still bounds a dead holder —
 * so an outage of the check never takes a live execution's lock.
 */
export const executionIsRunning = async (executionArn: string): Promise<boolean> => {
  try {
    const d = await stepFunctions().executions.describe(executionArn);
    return d === undefined ? false : d.status === 'RUNNING';
  } catch {
    return true;
  }
};

/** A Step Functions client created, and its SDK module imported, on first use. */
const sfnClient = /* @__PURE__ */ member((): SfnSend => {
  let client: Promise<SfnSend> | undefined;
  return {
    async send(command: never) {
      client ??= import('@aws-sdk/client-sfn').then(({ SFNClient }) => new SFNClient({}));
      return (await client).send(command);
    },
  } as SfnSend;
});

/** Step Functions' side of retraining: the twin's runner, else the SDK on `VIGIL_RETRAINING_MACHINE_ARN`. */
export const stepFunctions = /* @__PURE__ */ member((): LocalStepFunctions => {
  if (local) return local;
  const arn = config().retrainingMachineArn;
  if (!arn) throw new Error(`Environment variable ${ENV.RETRAINING_MACHINE_ARN} is required`);
  return {
    executions: new SfnExecutions({ client: sfnClient(), stateMachineArn: arn }),
    answer: new SfnTaskAnswer(sfnClient()),
  };
});

/** The retraining control plane's ports (models function): registry, executions, approval tokens. */
export const retrainControl = /* @__PURE__ */ member((): RetrainControlDeps => {
  const c = config();
  if (!c.registryTable) throw new Error(`Environment variable ${ENV.REGISTRY_TABLE} is required`);
  return {
    registry: registry(),
    ledger: new DynamoRetrainingLedger({
      client: documentClient(c.dynamoEndpoint),
      tableName: c.registryTable,
    }),
    ...stepFunctions(),
  };
});
