import { randomUUID } from 'node:crypto';
import type { HANDLERS, StateMachineKey } from '#contracts';
import { STATE_TYPES, type StateType, type StepEvent } from '#core/retrain/steps.ts';
import {
  type AslDefinition,
  type AslState,
  type EventRule,
  keyOfStateMachineArn,
  type SynthesizedMachine,
} from './state-machines.ts';

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

/** The ARN an execution of machine `key` named `name` has on the twin. */
export const localExecutionArn = (key: string, name: string): string =>
  `arn:aws:states:local:000000000000:execution:${key}:${name}`;

/** One history event, as `GetExecutionHistory` lists them (names only: no state payloads kept). */
export interface LocalHistoryEvent {
  readonly type: string;
  readonly timestamp: string;
  /** The state entered/exited/failed …; absent for execution-level events. */
  readonly state?: string;
  /** Its type (`Task`, `Choice` …), with `state`. */
  readonly stateType?: string;
  /** Index of the Map iteration the event belongs to. */
  readonly index?: number;
  readonly error?: string;
  readonly cause?: string;
}

/** One execution as the twin tracks it (what `DescribeExecution` would say). */
export interface LocalExecution<K extends string = StateMachineKey> {
  readonly executionArn: string;
  /** The machine's `STATE_MACHINES` key (`definition` for {@link StateMachineRunner.runDefinition}). */
  readonly machine: K | 'definition';
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: unknown;
  readonly startDate: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  stopDate?: string;
  /** The top-level state it is in (or ended in). */
  state?: string;
  output?: unknown;
  error?: { readonly error: string; readonly cause: string };
  /** Its history so far, oldest first. */
  readonly history: LocalHistoryEvent[];
  /** The execution that started it (`states:startExecution*` of a parent), if any. */
  readonly parentArn?: string;
}

/** A service integration the twin implements itself, given the task's effective parameters. */
export type LocalIntegration = (
  parameters: unknown,
  ctx: { readonly execution: LocalExecution<string> },
) => Promise<unknown>;

export interface StateMachineRunnerOptions<K extends string = StateMachineKey> {
  /** The synthesized machines (`machinesFromTemplates`), by key. */
  readonly machines: Partial<Record<K, SynthesizedMachine<K>>>;
  /** The handler modules, by `HANDLERS` key (local/handler-modules.ts). */
  readonly handlers: Readonly<Partial<Record<keyof typeof HANDLERS, unknown>>>;
  /**
   * Service integrations by `Resource` (e.g. `arn:aws:states:::aws-sdk:lambda:updateAlias`),
   * for Task states that call neither a function nor a state machine. @default none
   */
  readonly integrations?: Readonly<Record<string, LocalIntegration>>;
  /** Retry pauses in ms instead of the definition's seconds (tests). @default the definition's */
  readonly retryIntervalMs?: number;
  /** Called when an execution ends. */
  readonly onEnd?: (e: LocalExecution<K>) => void;
}

/**
 * A `waitForTaskToken` task whose answer comes from a process that does not exist here: the
 * twin runs what that process runs, on the same event, and answers with its result. TrainOnEks
 * submits a Kubernetes Job, and the Job runs the same trainer as TrainInLambda.
 */
const STANDS_IN_FOR: Partial<Record<keyof typeof HANDLERS, keyof typeof HANDLERS>> = {
  retrainSubmitJob: 'retrainTrain',
};

/** Lambda integration ARNs (`lambda:invoke`, with or without a wait). */
const LAMBDA_INVOKE = /^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/;
/** Step Functions' own integration: start a child execution, optionally waiting for it. */
const START_EXECUTION = /^arn:aws:states:::states:startExecution(\.sync(:2)?|\.waitForTaskToken)?$/;
/**
 * A task without `TimeoutSeconds` never times out in Step Functions (99999999 s), but the
 * library defaults to 60 s: the runner sets the largest timeout a Node timer can hold (24.8 days).
 */
const NO_TIMEOUT_SECONDS = Math.floor(2 ** 31 / 1000) - 1;

/** An error as a Task state sees it: `name` is the ASL error, `message` the cause. */
const taskError = (error: string, cause: string): Error => {
  const e = new Error(cause);
  e.name = error;
  return e;
};

/**
 * Runs the machines of the synthesized CDK app on aws-local-stepfunctions, every Task resolved
 * to what Step Functions would call, by the ARN in the definition:
 *
 * - a function ARN (direct, or `lambda:invoke`'s `FunctionName`) → the handler module Lambda
 *   runs (through the function's `POWERTOOLS_SERVICE_NAME`);
 * - `…waitForTaskToken` → the handler gets a fresh task token where the definition reads
 *   `$$.Task.Token` (the library knows no tokens), and the state waits for
 *   {@link sendTaskSuccess}/{@link sendTaskFailure} with it — except a TrainOnEks-style task
 *   (`STANDS_IN_FOR`), whose out-of-process answerer the twin runs in-process;
 * - `states:startExecution` (`.sync`, `.sync:2`) → the child machine, run by this runner:
 *   `.sync` returns `DescribeExecution`'s output with `Input`/`Output` as JSON strings,
 *   `.sync:2` with them parsed; a failed child fails the task with `States.TaskFailed` and
 *   the child's description (`Error`, `Cause`) as the cause;
 * - any other resource → `integrations[resource]`, else the task fails (`States.Runtime`).
 *
 * It also supplies what the library does not: `$$.Execution.Id/Name` (names unique, as the
 * service requires), history events, and Step Functions' default of no task timeout.
 */
export class StateMachineRunner<K extends string = StateMachineKey> {
  readonly #machines: Partial<Record<K, SynthesizedMachine<K>>>;
  readonly #functions = new Map<string, keyof typeof HANDLERS>();
  readonly #opts: StateMachineRunnerOptions<K>;
  readonly #executions = new Map<string, LocalExecution<K>>();
  readonly #aborts = new Map<string, () => void>();
  readonly #running = new Set<Promise<unknown>>();
  readonly #waiting = new Map<
    string,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; executionArn: string }
  >();
  // Loaded on first use: the library pulls the AWS Lambda client and a validator.
  #lib?: Promise<typeof import('aws-local-stepfunctions')>;

  constructor(opts: StateMachineRunnerOptions<K>) {
    installPromiseWithResolvers();
    this.#machines = opts.machines;
    this.#opts = opts;
    for (const m of Object.values<SynthesizedMachine<K> | undefined>(opts.machines))
      for (const [arn, h] of m?.functions ?? []) this.#functions.set(arn, h);
  }

  /** The keys of the machines this runner holds. */
  get keys(): K[] {
    return Object.keys(this.#machines) as K[];
  }

  /** One machine as synthesized. @throws Error when the app has no such machine */
  machine(key: K): SynthesizedMachine<K> {
    const m = this.#machines[key];
    if (!m) throw new Error(`No ${key} state machine in the synthesized app`);
    return m;
  }

  /** The definition of `key` (as synthesized, references made local). */
  definition(key: K): AslDefinition {
    return this.machine(key).definition;
  }

  /** Every synthesized EventBridge rule that starts a machine, with the machine's key. */
  get rules(): { readonly key: K; readonly rule: EventRule }[] {
    return Object.values<SynthesizedMachine<K> | undefined>(this.#machines).flatMap((m) =>
      m ? m.eventRules.map((rule) => ({ key: m.key, rule })) : [],
    );
  }

  /**
   * Starts an execution of `key`, like StartExecution; resolves `done` once it has ended.
   * @param opts.name the execution name (generated when absent)
   * @throws Error `ExecutionAlreadyExists` for a name already used on this machine
   */
  start(
    key: K,
    input: unknown,
    opts: { readonly name?: string; readonly parentArn?: string } = {},
  ): { readonly executionArn: string; readonly done: Promise<LocalExecution<K>> } {
    const m = this.machine(key);
    const name =
      opts.name ?? `local-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
    const executionArn = localExecutionArn(key, name);
    if (this.#executions.has(executionArn))
      throw taskError('ExecutionAlreadyExists', `Execution ${name} already exists on ${key}`);
    const exec: LocalExecution<K> = {
      executionArn,
      machine: key,
      stateMachineArn: m.arn,
      name,
      input,
      startDate: new Date().toISOString(),
      status: 'RUNNING',
      history: [],
      ...(opts.parentArn ? { parentArn: opts.parentArn } : {}),
    };
    this.#executions.set(executionArn, exec);
    const done = this.#track(this.#run(exec, m.definition));
    return { executionArn, done };
  }

  /**
   * Runs a definition that is no top-level machine (a Distributed Map's ItemProcessor run over
   * partitions by the caller, say) to its end, tasks resolved as in any machine of the app.
   * @returns its output
   * @throws Error named as the ASL error (`States.TaskFailed` …) when it fails
   */
  async runDefinition(definition: AslDefinition, input: unknown): Promise<unknown> {
    const name = `local-def-${randomUUID().slice(0, 8)}`;
    const exec: LocalExecution<K> = {
      executionArn: `arn:aws:states:local:000000000000:execution:definition:${name}`,
      machine: 'definition',
      stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:definition',
      name,
      input,
      startDate: new Date().toISOString(),
      status: 'RUNNING',
      history: [],
    };
    const ended = await this.#track(this.#run(exec, definition));
    if (ended.status !== 'SUCCEEDED')
      throw taskError(ended.error?.error ?? 'States.Runtime', ended.error?.cause ?? ended.status);
    return ended.output;
  }

  /** Resolves when no execution is running (tests, and the twin's shutdown). */
  async whenIdle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  /** Executions so far (of `key`, or all), newest first, as ListExecutions. */
  list(key?: K): LocalExecution<K>[] {
    return [...this.#executions.values()].filter((e) => key === undefined || e.machine === key).reverse();
  }

  /** DescribeExecution. */
  describe(executionArn: string): LocalExecution<K> | undefined {
    return this.#executions.get(executionArn);
  }

  /** `DescribeExecution(...).status === 'RUNNING'` (the lock's liveness check). */
  isRunning = async (executionArn: string): Promise<boolean> =>
    this.#executions.get(executionArn)?.status === 'RUNNING';

  /** StopExecution: the execution ends ABORTED. @returns false when it was not running */
  stop(executionArn: string): boolean {
    const abort = this.#aborts.get(executionArn);
    if (!abort) return false;
    abort();
    return true;
  }

  /** Answers a waiting task, as `SendTaskSuccess`. @throws Error `TaskDoesNotExist` for an unknown token */
  sendTaskSuccess(taskToken: string, output: unknown): void {
    this.#answer(taskToken).resolve(output);
  }

  /** Fails a waiting task, as `SendTaskFailure` (e.g. `Rejected`). @throws Error `TaskDoesNotExist` */
  sendTaskFailure(taskToken: string, error: string, cause = ''): void {
    this.#answer(taskToken).reject(taskError(error, cause));
  }

  /**
   * Stops every execution waiting for a task token (the twin's shutdown: nobody will answer
   * them in this process; their locks are released on the next start, their executions being
   * unknown there).
   */
  stopWaiting(): void {
    for (const [token, w] of [...this.#waiting]) {
      this.#waiting.delete(token);
      this.stop(w.executionArn);
    }
  }

  /** The tokens tasks are waiting on now (tests and the console). */
  get waitingTokens(): string[] {
    return [...this.#waiting.keys()];
  }

  #answer(token: string) {
    const w = this.#waiting.get(token);
    if (!w) throw taskError('TaskDoesNotExist', `No task waits for token ${token.slice(0, 12)}…`);
    this.#waiting.delete(token);
    return w;
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
    return p;
  }

  /** One local handler per Task state of `definition`, nested ones (Map, Parallel) included. */
  #overrides(definition: AslDefinition, exec: LocalExecution<K>) {
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retries: Record<string, number> = {};
    const walk = (states: Record<string, AslState>) => {
      for (const [stateName, state] of Object.entries(states)) {
        const nested = [
          state.ItemProcessor,
          state.Iterator,
          ...((state.Branches as AslDefinition[] | undefined) ?? []),
        ] as (AslDefinition | undefined)[];
        for (const d of nested) if (d?.States) walk(d.States);
        if (state.Type !== 'Task') continue;
        handlers[stateName] = this.#taskHandler(stateName, state, exec);
        if (this.#opts.retryIntervalMs !== undefined) retries[stateName] = this.#opts.retryIntervalMs;
      }
    };
    walk(definition.States);
    return { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides: retries };
  }

  #handler(arn: string, stateName: string): { name: keyof typeof HANDLERS; fn: Handler } {
    // `FunctionName` may carry a qualifier (`…:function:X:live`) or be the bare ARN.
    const base = arn.replace(/^(arn:aws:lambda:[^:]+:[^:]+:function:[^:]+):.+$/, '$1');
    const name = this.#functions.get(base);
    const fn = name ? (this.#opts.handlers[name] as Handler | undefined) : undefined;
    if (!name || !fn) throw taskError('States.Runtime', `Task ${stateName}: no local handler for ${arn}`);
    return { name, fn };
  }

  #taskHandler(
    stateName: string,
    state: AslState,
    exec: LocalExecution<K>,
  ): (input: unknown) => Promise<unknown> {
    const resource = state.Resource ?? '';
    const tokenPaths = taskTokenPaths(state.Parameters);
    const waits = resource.endsWith('.waitForTaskToken');
    const withToken = (input: unknown): { input: unknown; token: string } => {
      const token = `local-token-${randomUUID()}`;
      return { input: setPaths(input, tokenPaths, token), token };
    };
    const waitFor = (token: string) =>
      new Promise((resolve, reject) =>
        this.#waiting.set(token, { resolve, reject, executionArn: exec.executionArn }),
      );

    const lambda = LAMBDA_INVOKE.exec(resource);
    if (lambda || resource.startsWith('arn:aws:lambda:')) {
      return async (raw) => {
        this.#enter(exec, stateName);
        if (!lambda) return this.#handler(resource, stateName).fn(raw);
        const params = raw as { FunctionName?: string; Payload?: unknown };
        const { name, fn } = this.#handler(String(params.FunctionName ?? ''), stateName);
        if (!waits) {
          // `lambda:invoke` without payloadResponseOnly: the Invoke response, as Step Functions gives it.
          return { ExecutedVersion: '$LATEST', Payload: await fn(params.Payload), StatusCode: 200 };
        }
        const { input, token } = withToken(raw);
        const payload = (input as { Payload?: unknown }).Payload;
        const standIn = STANDS_IN_FOR[name];
        if (standIn) return (this.#opts.handlers[standIn] as Handler)(payload);
        const answer = waitFor(token);
        // Left unobserved, a rejection before the handler returns would be reported as unhandled.
        answer.catch(() => undefined);
        await fn(payload);
        return answer;
      };
    }
    const start = START_EXECUTION.exec(resource);
    if (start) {
      return async (raw) => {
        this.#enter(exec, stateName);
        const { input: withTok, token } = waits ? withToken(raw) : { input: raw, token: '' };
        const p = withTok as { StateMachineArn?: string; Input?: unknown; Name?: string };
        const key = keyOfStateMachineArn(String(p.StateMachineArn ?? '')) as K | undefined;
        if (!key || !this.#machines[key])
          throw taskError('States.Runtime', `Task ${stateName}: no local machine ${p.StateMachineArn}`);
        const childInput = typeof p.Input === 'string' ? JSON.parse(p.Input) : (p.Input ?? {});
        const answer = waits ? waitFor(token) : undefined;
        answer?.catch(() => undefined);
        const child = this.start(key, childInput, { name: p.Name, parentArn: exec.executionArn });
        if (answer) return answer;
        if (!start[1]) return { ExecutionArn: child.executionArn, StartDate: Date.now() };
        const ended = await child.done;
        const parsed = start[1] === '.sync:2';
        const described = describeOutput(ended, parsed);
        if (ended.status === 'SUCCEEDED') return described;
        throw taskError('States.TaskFailed', JSON.stringify(describeOutput(ended, false)));
      };
    }
    const integration = this.#opts.integrations?.[resource];
    return async (raw) => {
      this.#enter(exec, stateName);
      if (!integration)
        throw taskError('States.Runtime', `Task ${stateName}: the twin has no integration for ${resource}`);
      if (!waits) return integration(raw, { execution: exec });
      const { input, token } = withToken(raw);
      const answer = waitFor(token);
      answer.catch(() => undefined);
      await integration(input, { execution: exec });
      return answer;
    };
  }

  #enter(exec: LocalExecution<K>, stateName: string): void {
    // Top-level Task states only: a Map iteration's task is not "the step it is in".
    const m = exec.machine === 'definition' ? undefined : this.#machines[exec.machine];
    if (m && stateName in m.definition.States) exec.state = stateName;
  }

  async #run(exec: LocalExecution<K>, definition: AslDefinition): Promise<LocalExecution<K>> {
    this.#lib ??= import('aws-local-stepfunctions');
    const { StateMachine } = await this.#lib;
    const sm = new StateMachine(withTaskTimeouts(definition) as never, {
      validationOptions: { checkArn: false, checkPaths: false },
    });
    const run = sm.run(exec.input as never, {
      overrides: this.#overrides(definition, exec),
      context: {
        Execution: {
          Id: exec.executionArn,
          Name: exec.name,
          StartTime: exec.startDate,
          Input: exec.input as never,
        },
        // The library has no task tokens: `$$.Task.Token` reads this placeholder, which the
        // task's handler replaces with a fresh token where the Parameters read it.
        Task: { Token: 'local-task-token-placeholder' },
      },
    });
    this.#aborts.set(exec.executionArn, run.abort);
    const history = (async () => {
      for await (const e of run.eventLogs) {
        const ev = e as {
          type: string;
          timestamp: number;
          state?: { name: string; type: string };
          index?: number;
          Error?: string;
          Cause?: unknown;
        };
        if (ev.type === 'StateEntered' && ev.index === undefined && ev.state) exec.state = ev.state.name;
        exec.history.push({
          type: ev.type,
          timestamp: new Date(ev.timestamp).toISOString(),
          ...(ev.state ? { state: ev.state.name, stateType: ev.state.type } : {}),
          ...(ev.index !== undefined ? { index: ev.index } : {}),
          ...(ev.Error !== undefined ? { error: ev.Error, cause: String(ev.Cause ?? '') } : {}),
        });
      }
    })().catch(() => undefined);
    try {
      exec.output = await run.result;
      exec.status = 'SUCCEEDED';
    } catch (e) {
      const outer = e as Error & { cause?: unknown };
      if (outer.name === 'ExecutionAbortedError') {
        exec.status = 'ABORTED';
      } else if (outer.name === 'ExecutionTimeoutError') {
        exec.status = 'TIMED_OUT';
        exec.error = { error: 'States.Timeout', cause: 'The execution ran longer than its TimeoutSeconds' };
      } else {
        // The library wraps the state's error (a Fail state's Error/Cause, or an uncaught task
        // error) in an ExecutionError whose `cause` is that error: report it as Step Functions would.
        const inner = outer.cause instanceof Error ? outer.cause : outer;
        exec.status = 'FAILED';
        exec.error = { error: inner.name, cause: inner.message };
      }
    }
    await history;
    this.#aborts.delete(exec.executionArn);
    exec.stopDate = new Date().toISOString();
    this.#opts.onEnd?.(exec);
    return exec;
  }
}

/**
 * The twin's history as the step fold reads it (the library's StateEntered/Exited/Failed/
 * Retried events name their state and its type; see `executionSteps`).
 */
export function* localStepEvents(history: Iterable<LocalHistoryEvent>): Generator<StepEvent> {
  for (const e of history) {
    if (e.state === undefined || e.stateType === undefined || !STATE_TYPES.has(e.stateType)) continue;
    const type = e.stateType as StateType;
    if (e.type === 'StateEntered') yield { kind: 'entered', state: e.state, type, at: e.timestamp };
    else if (e.type === 'StateExited') yield { kind: 'exited', state: e.state, type, at: e.timestamp };
    else if (e.type === 'StateFailed')
      yield {
        kind: 'attempt-failed',
        scope: type === 'Map' || type === 'Parallel' ? 'container' : 'task',
        state: e.state,
        error: e.error ?? 'States.Runtime',
        cause: e.cause ?? '',
      };
    else if (e.type === 'StateRetried') yield { kind: 'retried', state: e.state };
  }
}

/** DescribeExecution's answer, as a `.sync` (strings) or `.sync:2` (parsed JSON) task returns it. */
function describeOutput(e: LocalExecution<string>, parsed: boolean): Record<string, unknown> {
  const json = (v: unknown) => (parsed ? v : JSON.stringify(v ?? null));
  return {
    ExecutionArn: e.executionArn,
    StateMachineArn: e.stateMachineArn,
    Name: e.name,
    Status: e.status,
    StartDate: Date.parse(e.startDate),
    ...(e.stopDate ? { StopDate: Date.parse(e.stopDate) } : {}),
    Input: json(e.input),
    InputDetails: { Included: true },
    ...(e.status === 'SUCCEEDED' ? { Output: json(e.output), OutputDetails: { Included: true } } : {}),
    ...(e.error ? { Error: e.error.error, Cause: e.error.cause } : {}),
  };
}

/** Paths (key lists) of `Parameters` entries that read `$$.Task.Token`. */
function taskTokenPaths(params: unknown, at: string[] = []): string[][] {
  if (!params || typeof params !== 'object' || Array.isArray(params)) return [];
  return Object.entries(params as Record<string, unknown>).flatMap(([k, v]) =>
    k.endsWith('.$') && v === '$$.Task.Token' ? [[...at, k.slice(0, -2)]] : taskTokenPaths(v, [...at, k]),
  );
}

/** A copy of `input` with `value` at each path (objects on the way created as needed). */
function setPaths(input: unknown, paths: string[][], value: string): unknown {
  const root = structuredClone(input ?? {}) as Record<string, unknown>;
  for (const p of paths) {
    let o = root;
    for (const k of p.slice(0, -1)) {
      if (!o[k] || typeof o[k] !== 'object') o[k] = {};
      o = o[k] as Record<string, unknown>;
    }
    o[p[p.length - 1]] = value;
  }
  return root;
}

/** The definition with Step Functions' "no timeout" made explicit on every Task (see NO_TIMEOUT_SECONDS). */
function withTaskTimeouts(definition: AslDefinition): AslDefinition {
  const states = Object.fromEntries(
    Object.entries(definition.States).map(([name, s]) => {
      let state: AslState = s;
      if (s.Type === 'Task' && s.TimeoutSeconds === undefined && s.TimeoutSecondsPath === undefined)
        state = { ...state, TimeoutSeconds: NO_TIMEOUT_SECONDS };
      for (const field of ['ItemProcessor', 'Iterator'] as const) {
        const d = state[field] as AslDefinition | undefined;
        if (d?.States) state = { ...state, [field]: withTaskTimeouts(d) };
      }
      if (Array.isArray(state.Branches))
        state = { ...state, Branches: (state.Branches as AslDefinition[]).map(withTaskTimeouts) };
      return [name, state];
    }),
  );
  return { ...definition, States: states };
}
