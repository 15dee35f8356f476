import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV, type HANDLERS, type StateMachineKey } from '#contracts';
import { VigilError } from '#core/errors.ts';
import type { ExecutionInfo } from '#core/retrain/ports.ts';
import { executionSteps, MAX_HISTORY_EVENTS } from '#core/retrain/steps.ts';
import type { LocalStepFunctions } from '#runtime/retrain-control.ts';
import {
  type LocalExecution,
  localExecutionArn,
  localStepEvents,
  StateMachineRunner,
} from './state-machine-runner.ts';
import { applyRule, type BusEvent, type SynthesizedMachine } from './state-machines.ts';

/**
 * Synthesizes the CDK app (aws-cdk-lib, lib/): imported only when the twin first retrains. The
 * specifier is a variable on purpose, so bundlers leave it out: the EKS scorer's image bundles
 * bin/vigil.ts without lib/ or aws-cdk-lib and never retrains locally.
 */
const SYNTHESIZE_APP = './synthesize-app.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every file the synthesized definition depends on: the CDK app and the shared names. */
async function sourceHash(): Promise<string> {
  const files = [path.join(ROOT, 'lambdas/contracts.ts')];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.ts')) files.push(p);
    }
  };
  await walk(path.join(ROOT, 'lib'));
  const h = createHash('sha256');
  for (const f of files.sort()) h.update(f).update(await readFile(f));
  return h.digest('hex');
}

type Machines = Partial<Record<StateMachineKey, SynthesizedMachine>>;
type CachedMachine = Omit<SynthesizedMachine, 'functions' | 'environments'> & {
  functions: [string, keyof typeof HANDLERS][];
  environments: [string, Record<string, string>][];
};

/**
 * The synthesized machines, cached under `dataDir` by a hash of the CDK sources: synthesizing
 * the whole app in-process takes tens of seconds on a busy machine, and its output only
 * changes when `lib/` or `contracts.ts` do.
 */
async function machines(dataDir: string, envName: string): Promise<Machines> {
  const file = path.join(dataDir, `state-machines-${envName}.json`);
  const hash = await sourceHash();
  try {
    const cached = JSON.parse(await readFile(file, 'utf8')) as { hash: string; machines: CachedMachine[] };
    if (cached.hash === hash)
      return Object.fromEntries(
        cached.machines.map((m) => [m.key, { ...m, functions: new Map(m.functions) }]),
      );
  } catch {
    // No cache or an unreadable one: synthesize.
  }
  const { synthesizeStateMachines } = (await import(SYNTHESIZE_APP)) as typeof import('./synthesize-app.ts');
  const ms = synthesizeStateMachines(envName);
  const cache: CachedMachine[] = Object.values(ms).map((m) => ({
    ...m,
    functions: [...m.functions],
    environments: [...m.environments],
  }));
  await writeFile(file, JSON.stringify({ hash, machines: cache }));
  return ms;
}

/**
 * The twin's Step Functions and EventBridge: one runner over every synthesized machine, and the
 * bus — reads the events the handlers appended to the events file since the last look, passes
 * each through the synthesized rules (pattern + input transformer) and starts an execution of
 * the machine a rule targets for each match.
 */
export class LocalRetraining {
  #runner?: Promise<StateMachineRunner>;
  #offset = 0;

  constructor(
    private readonly opts: {
      readonly dataDir: string;
      readonly eventsFile: string;
      readonly handlers: Readonly<Record<keyof typeof HANDLERS, unknown>>;
      /** The environment whose machines (and task settings) the twin runs. @default dev */
      readonly environment?: string;
    },
  ) {}

  /**
   * The runner over every synthesized machine (built on first use). The task functions'
   * settings as CDK wrote them for the environment (`VIGIL_RETRAIN_CONFIG`: approval, gate,
   * size threshold) become the handlers' environment, as Lambda would give it.
   */
  runner(): Promise<StateMachineRunner> {
    this.#runner ??= machines(this.opts.dataDir, this.opts.environment ?? 'dev').then((ms) => {
      const settings = [...(ms.retraining?.environments.values() ?? [])].find(
        (e) => e[ENV.RETRAIN_CONFIG] !== undefined,
      )?.[ENV.RETRAIN_CONFIG];
      if (settings !== undefined) process.env[ENV.RETRAIN_CONFIG] = settings;
      return new StateMachineRunner({ machines: ms, handlers: this.opts.handlers });
    });
    return this.#runner;
  }

  /**
   * Step Functions' API over the runner, for the handlers (`useLocalStepFunctions`): the
   * retraining machine's StartExecution/ListExecutions/DescribeExecution and the task-token
   * answers. An answer to a token nobody waits for any more is a 409, as the service's
   * `TaskDoesNotExist`/`TaskTimedOut` are client errors.
   */
  stepFunctions(): LocalStepFunctions {
    const info = (e: LocalExecution): ExecutionInfo => ({
      executionArn: e.executionArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      ...(e.stopDate ? { stopDate: e.stopDate } : {}),
      input: e.input,
      ...(e.state ? { step: e.state } : {}),
      ...(e.error ? { error: e.error.error, cause: e.error.cause } : {}),
    });
    const answered = async (f: (r: StateMachineRunner) => void) => {
      const r = await this.runner();
      try {
        f(r);
      } catch (e) {
        if ((e as Error).name === 'TaskDoesNotExist')
          throw new VigilError('Conflict', 'The execution no longer waits for this decision');
        throw e;
      }
    };
    return {
      executions: {
        start: async (input) => {
          const { executionArn } = (await this.runner()).start('retraining', input);
          return { executionArn, startDate: new Date().toISOString() };
        },
        // Before the runner is built no execution exists: reads never pay for a synthesis.
        list: async (limit) =>
          this.#runner ? (await this.#runner).list('retraining').slice(0, limit).map(info) : [],
        describe: async (arn) => {
          const e = this.#runner ? (await this.#runner).describe(arn) : undefined;
          return e ? info(e) : undefined;
        },
        arnOf: (name) => localExecutionArn('retraining', name),
        history: async (arn) => {
          const e = this.#runner ? (await this.#runner).describe(arn) : undefined;
          if (!e) return undefined;
          return {
            steps: executionSteps(localStepEvents(e.history.slice(0, MAX_HISTORY_EVENTS)), {
              status: e.status,
              ...(e.error ? { error: e.error.error, cause: e.error.cause } : {}),
            }),
            truncated: e.history.length > MAX_HISTORY_EVENTS,
          };
        },
      },
      answer: {
        success: (token, output) => answered((r) => r.sendTaskSuccess(token, output)),
        failure: (token, error, cause) => answered((r) => r.sendTaskFailure(token, error, cause)),
      },
    };
  }

  /** Stops executions waiting for an answer and waits for the others (only if the runner was ever built). */
  async idle(): Promise<void> {
    if (!this.#runner) return;
    const r = await this.#runner;
    r.stopWaiting();
    await r.whenIdle();
  }

  /** Skips events already in the file (at start: they were handled by an earlier run). */
  async skipExisting(): Promise<void> {
    this.#offset = (await this.#read()).length;
  }

  /** Starts an execution for every new event a rule matches; returns them (each with `done`). */
  async dispatch(): Promise<{ executionArn: string; done: Promise<LocalExecution> }[]> {
    const text = await this.#read();
    const fresh = text.slice(this.#offset);
    const complete = fresh.lastIndexOf('\n') + 1;
    this.#offset += complete;
    const events = fresh
      .slice(0, complete)
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as BusEvent);
    const started: { executionArn: string; done: Promise<LocalExecution> }[] = [];
    for (const event of events) {
      const runner = await this.runner();
      for (const { key, rule } of runner.rules) {
        const input = applyRule(rule, event);
        if (input !== undefined) started.push(runner.start(key, input));
      }
    }
    return started;
  }

  async #read(): Promise<string> {
    try {
      return await readFile(this.opts.eventsFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw e;
    }
  }
}
