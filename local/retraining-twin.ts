import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HANDLERS } from '#contracts';
import { type LocalExecution, RetrainingRunner } from './retraining-runner.ts';
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

/**
 * The synthesized machine, cached under `dataDir` by a hash of the CDK sources: synthesizing
 * the whole app in-process takes tens of seconds on a busy machine, and its output only
 * changes when `lib/` or `contracts.ts` do.
 */
async function machine(dataDir: string): Promise<SynthesizedMachine> {
  const file = path.join(dataDir, 'retraining-machine.json');
  const hash = await sourceHash();
  try {
    const cached = JSON.parse(await readFile(file, 'utf8')) as {
      hash: string;
      machine: Omit<SynthesizedMachine, 'functions'> & { functions: [string, keyof typeof HANDLERS][] };
    };
    if (cached.hash === hash) return { ...cached.machine, functions: new Map(cached.machine.functions) };
  } catch {
    // No cache or an unreadable one: synthesize.
  }
  const { synthesizeRetrainingMachine } = (await import(
    SYNTHESIZE_APP
  )) as typeof import('./synthesize-app.ts');
  const m = synthesizeRetrainingMachine('dev');
  await writeFile(file, JSON.stringify({ hash, machine: { ...m, functions: [...m.functions] } }));
  return m;
}

/**
 * The twin's EventBridge for retraining: reads the events the handlers appended to the
 * events file since the last look, passes each through the synthesized rules (pattern +
 * input transformer) and starts an execution of the synthesized machine for each match.
 */
export class LocalRetraining {
  #runner?: Promise<RetrainingRunner>;
  #offset = 0;
  readonly #ended: LocalExecution[] = [];

  constructor(
    private readonly opts: {
      readonly dataDir: string;
      readonly eventsFile: string;
      readonly handlers: Readonly<Record<keyof typeof HANDLERS, unknown>>;
    },
  ) {}

  /** The runner over the synthesized definition (built on first use). */
  runner(): Promise<RetrainingRunner> {
    this.#runner ??= machine(this.opts.dataDir).then(
      (m) =>
        new RetrainingRunner({ machine: m, handlers: this.opts.handlers, onEnd: (e) => this.#ended.push(e) }),
    );
    return this.#runner;
  }

  /** Waits for running executions (only if the runner was ever built). */
  async idle(): Promise<void> {
    if (this.#runner) await (await this.#runner).whenIdle();
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
      for (const rule of (await this.runner()).machineRules) {
        const input = applyRule(rule, event);
        if (input !== undefined) started.push(runner.start(input));
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
