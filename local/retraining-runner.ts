import { randomUUID } from 'node:crypto';
import type { HANDLERS } from '#contracts';
import type { AslDefinition, SynthesizedMachine } from './state-machines.ts';

/**
 * aws-local-stepfunctions 3.0.0 (the only version in the registry) calls
 * `Promise.withResolvers`, which Node.js gained in 22; the twin runs on Node ≥ 20.19.
 * This is the whole of it, per the TC39 proposal: a promise and its two settle functions.
 * The Lambda runtime stays on Node 22, which has it natively.
 */
export function installPromiseWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: unknown };
  if (typeof P.withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (v: T | PromiseLike<T>) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

type Handler = (event: unknown) => Promise<unknown>;

/** One execution as the twin tracks it (what `DescribeExecution` would say). */
export interface LocalExecution {
  readonly executionArn: string;
  readonly name: string;
  readonly input: unknown;
  readonly startDate: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  stopDate?: string;
  /** The state it is in (or ended in). */
  state?: string;
  output?: unknown;
  error?: { readonly error: string; readonly cause: string };
}

export interface RetrainingRunnerOptions {
  readonly machine: SynthesizedMachine;
  /** The handler modules, by `HANDLERS` key (local/handler-modules.ts). */
  readonly handlers: Readonly<Record<keyof typeof HANDLERS, unknown>>;
  /** Retry pauses in ms instead of the definition's seconds (tests). @default the definition's */
  readonly retryIntervalMs?: number;
  /** Called when an execution ends. */
  readonly onEnd?: (e: LocalExecution) => void;
}

/**
 * Runs the synthesized retraining definition on aws-local-stepfunctions, with every Task
 * resolved by its function ARN to the handler module Lambda would run. The library invokes
 * overrides with the task's input only, so the runner supplies what Step Functions would:
 *
 * - `$$.Execution.Id/Name` through the context object (names are unique, like the service's);
 * - for `waitForTaskToken` tasks, a fresh task token per state entry, and the answer: a
 *   task that waits for a Kubernetes Job (TrainOnEks) runs the same trainer the Job runs
 *   (`retrainTrain`) in-process, since there is no cluster here; any other waiting task
 *   (WaitForApproval) runs its handler and then waits for `sendTaskSuccess`/`sendTaskFailure`
 *   with its token, as the approve/reject route would send them.
 */
export class RetrainingRunner {
  readonly #machine: SynthesizedMachine;
  readonly #handlers: Readonly<Record<string, unknown>>;
  readonly #opts: RetrainingRunnerOptions;
  readonly #executions = new Map<string, LocalExecution>();
  readonly #running = new Set<Promise<LocalExecution>>();
  readonly #waiting = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  // Loaded on first use: the library pulls the AWS Lambda client and a validator.
  #lib?: Promise<typeof import('aws-local-stepfunctions')>;

  constructor(opts: RetrainingRunnerOptions) {
    installPromiseWithResolvers();
    this.#machine = opts.machine;
    this.#handlers = opts.handlers;
    this.#opts = opts;
  }

  /** The synthesized rules that start this machine. */
  get machineRules(): SynthesizedMachine['eventRules'] {
    return this.#machine.eventRules;
  }

  /** The definition being run (as synthesized, function references made local). */
  get definition(): AslDefinition {
    return this.#machine.definition;
  }

  /** Starts an execution; resolves once it has ended. Like StartExecution, the name is generated. */
  start(input: unknown): { readonly executionArn: string; readonly done: Promise<LocalExecution> } {
    const name = `local-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
    const executionArn = `arn:aws:states:local:000000000000:execution:vigil-retraining:${name}`;
    const exec: LocalExecution = {
      executionArn,
      name,
      input,
      startDate: new Date().toISOString(),
      status: 'RUNNING',
    };
    this.#executions.set(executionArn, exec);
    const done = this.#run(exec);
    this.#running.add(done);
    void done.finally(() => this.#running.delete(done));
    return { executionArn, done };
  }

  /** Resolves when no execution is running (tests, and the twin's shutdown). */
  async whenIdle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  /** Every execution so far, newest first. */
  list(): LocalExecution[] {
    return [...this.#executions.values()].reverse();
  }

  describe(executionArn: string): LocalExecution | undefined {
    return this.#executions.get(executionArn);
  }

  /** `DescribeExecution(...).status === 'RUNNING'` (the lock's liveness check). */
  isRunning = async (executionArn: string): Promise<boolean> =>
    this.#executions.get(executionArn)?.status === 'RUNNING';

  /** Answers a waiting task, as `SendTaskSuccess`. @throws Error for an unknown token */
  sendTaskSuccess(taskToken: string, output: unknown): void {
    this.#answer(taskToken).resolve(output);
  }

  /** Fails a waiting task, as `SendTaskFailure` (e.g. `Rejected`). */
  sendTaskFailure(taskToken: string, error: string, cause = ''): void {
    const e = new Error(cause);
    e.name = error;
    this.#answer(taskToken).reject(e);
  }

  #answer(token: string) {
    const w = this.#waiting.get(token);
    if (!w) throw new Error(`No task waits for token ${token.slice(0, 12)}…`);
    this.#waiting.delete(token);
    return w;
  }

  async #run(exec: LocalExecution): Promise<LocalExecution> {
    this.#lib ??= import('aws-local-stepfunctions');
    const { StateMachine } = await this.#lib;
    const definition = this.#machine.definition;
    const sm = new StateMachine(definition as never, {
      validationOptions: { checkArn: false, checkPaths: false },
    });
    // One override per Task state, resolved through the state's function ARN.
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retries: Record<string, number> = {};
    for (const [stateName, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Task') continue;
      const waits = (state.Resource ?? '').endsWith('.waitForTaskToken');
      const arn = waits ? String(state.Parameters?.FunctionName ?? '') : (state.Resource ?? '');
      const handlerName = this.#machine.functions.get(arn);
      if (!handlerName) throw new Error(`Task ${stateName}: no handler for ${arn}`);
      const handler = this.#handlers[handlerName] as Handler;
      overrides[stateName] = async (input) => {
        exec.state = stateName;
        if (!waits) return handler(input);
        const payload = (input as { Payload?: Record<string, unknown> }).Payload ?? {};
        const taskToken = `local-token-${randomUUID()}`;
        const event = { ...payload, taskToken };
        if (handlerName === 'retrainSubmitJob') {
          // No cluster here: the twin is the Job, running the same trainer on the same event.
          return (this.#handlers.retrainTrain as Handler)(event);
        }
        const answer = new Promise((resolve, reject) => this.#waiting.set(taskToken, { resolve, reject }));
        await handler(event);
        return answer;
      };
      if (this.#opts.retryIntervalMs !== undefined) retries[stateName] = this.#opts.retryIntervalMs;
    }
    const run = sm.run(exec.input as never, {
      overrides: { taskResourceLocalHandlers: overrides as never, retryIntervalOverrides: retries },
      context: {
        Execution: {
          Id: exec.executionArn,
          Name: exec.name,
          StartTime: exec.startDate,
          Input: exec.input as never,
        },
      },
    });
    try {
      exec.output = await run.result;
      exec.status = 'SUCCEEDED';
    } catch (e) {
      // The library wraps the state's error (a Fail state's Error/Cause, or an uncaught task
      // error) in an ExecutionError whose `cause` is that error: report it as Step Functions would.
      const outer = e as Error & { cause?: unknown };
      const inner = outer.cause instanceof Error ? outer.cause : outer;
      exec.status = 'FAILED';
      exec.error = { error: inner.name, cause: inner.message };
    }
    exec.stopDate = new Date().toISOString();
    this.#opts.onEnd?.(exec);
    return exec;
  }
}
