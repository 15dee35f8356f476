import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { EmfMetricsStore } from '#adapters/emf-metrics-store.ts';
import { ENV, LAMBDA_METRICS, SCORE_LIVE_ALIAS } from '#contracts';
import { ConflictError, VigilError } from '#core/errors.ts';
import type { AliasRouting, CodeDeployments, ScoreFunctionVersions } from '#core/release/ports.ts';
import type { VersionRef } from '#core/release/types.ts';
import type { RootScope } from '#runtime/root.ts';
import type { ApiHandler } from './http-adapter.ts';

/** Faults the simulated platform can inject into one version (tests and the README's demo). */
export interface VersionFaults {
  /** Extra latency of every invocation, ms (a slow candidate). */
  readonly delayMs?: number;
  /** Every invocation fails as a crashed function does (Lambda `Errors`; API Gateway answers 500). */
  readonly crash?: boolean;
}

interface SimulatedVersion {
  readonly version: string;
  readonly codeSha256: string;
  /** Environment on top of the process's; `MODEL_VERSION` for pinned versions. */
  readonly env: Readonly<Record<string, string>>;
  /** Its own composition root (own model cache, clients); blue runs in the process root. */
  readonly scope?: RootScope;
  faults: VersionFaults;
}

/**
 * The twin's stand-in for the score function's Lambda versions and its `live` alias (DESIGN.md
 * §10): version `1` is what `cdk deploy` publishes (unpinned, the process's own root, so the
 * twin with no release runs exactly as before); `publishPinned` adds versions with their own
 * environment (`MODEL_VERSION`) and their own module state (a scoped root: a candidate never shares
 * blue's model cache); `invoke` is the alias, routing each request by its weights with a seeded
 * generator and recording Lambda's `Invocations`, `Errors` and `Duration` per `ExecutedVersion` in
 * the metrics store. The guards mirror Lambda's: code SHA on publish, revision id on the alias.
 */
export class LocalScoreFunction implements ScoreFunctionVersions {
  readonly #handler: ApiHandler;
  readonly #metrics: EmfMetricsStore;
  readonly #fn: string;
  readonly #random: () => number;
  readonly #scope: (env: Readonly<Record<string, string>>) => RootScope;
  readonly #versions = new Map<string, SimulatedVersion>();
  readonly #counts = new Map<string, number>();
  #code: string;
  #next = 2;
  #alias: { primary: string; weights: Record<string, number>; revision: number };

  constructor(opts: LocalScoreFunctionOptions) {
    this.#handler = opts.handler;
    this.#metrics = opts.metrics;
    this.#fn = opts.functionName ?? 'vigil-score';
    this.#random = mulberry32(opts.seed ?? 1);
    this.#scope = opts.scopedRoot;
    this.#code = opts.codeSha256 ?? 'local-score-code-1';
    this.#versions.set('1', { version: '1', codeSha256: this.#code, env: {}, faults: {} });
    this.#alias = { primary: '1', weights: {}, revision: 1 };
  }

  async live(): Promise<AliasRouting> {
    return this.#routing();
  }

  async publishPinned(input: {
    readonly modelVersion: number;
    readonly codeSha256: string;
  }): Promise<VersionRef> {
    if (!Number.isSafeInteger(input.modelVersion) || input.modelVersion < 1) {
      throw new VigilError('BadRequest', `Invalid model version ${input.modelVersion}`, {
        modelVersion: input.modelVersion,
      });
    }
    if (input.codeSha256 !== this.#code) {
      throw new ConflictError(`$LATEST of ${this.#fn} runs other code than blue; green is not published`, {
        expected: input.codeSha256,
        found: this.#code,
      });
    }
    const version = String(this.#next++);
    const env = { [ENV.MODEL_VERSION]: String(input.modelVersion) };
    this.#versions.set(version, {
      version,
      codeSha256: this.#code,
      env,
      scope: this.#scope(env),
      faults: {},
    });
    return { functionVersion: version, modelVersion: input.modelVersion };
  }

  async route(functionVersion: string, weight: number, expectRevisionId?: string): Promise<AliasRouting> {
    if (!(weight >= 0 && weight < 1)) {
      throw new VigilError(
        'BadRequest',
        `A weight routed to an additional version must be in [0, 1), got ${weight}`,
        {
          functionVersion,
          weight,
        },
      );
    }
    if (!this.#versions.has(functionVersion)) {
      throw new VigilError('NotFound', `${this.#fn} has no version ${functionVersion}`, { functionVersion });
    }
    if (functionVersion === this.#alias.primary) {
      throw new ConflictError(`Version ${functionVersion} is the primary version of ${SCORE_LIVE_ALIAS}`, {
        functionVersion,
      });
    }
    if (expectRevisionId !== undefined && expectRevisionId !== String(this.#alias.revision)) {
      throw new ConflictError('The live alias changed concurrently (RevisionId moved); re-read and retry', {
        expectedRevisionId: expectRevisionId,
        actualRevisionId: String(this.#alias.revision),
      });
    }
    const weights = { ...this.#alias.weights };
    if (weight === 0) delete weights[functionVersion];
    else weights[functionVersion] = weight;
    this.#alias = { ...this.#alias, weights, revision: this.#alias.revision + 1 };
    return this.#routing();
  }

  async retire(functionVersion: string): Promise<void> {
    if (functionVersion === this.#alias.primary || this.#alias.weights[functionVersion]) {
      throw new ConflictError(
        `Version ${functionVersion} still receives traffic from ${SCORE_LIVE_ALIAS}; route 0 first`,
        {
          functionVersion,
        },
      );
    }
    const v = this.#versions.get(functionVersion);
    if (!v) return;
    if (!v.env[ENV.MODEL_VERSION]) {
      throw new ConflictError(`Version ${functionVersion} is not a pinned release version; not deleting it`, {
        functionVersion,
      });
    }
    this.#versions.delete(functionVersion);
  }

  /** The `live` alias as API Gateway invokes it: one version per request, by the alias's weights. */
  readonly invoke: ApiHandler = async (event, context) => {
    const v = this.#pick();
    this.#counts.set(v.version, (this.#counts.get(v.version) ?? 0) + 1);
    const dims = {
      [LAMBDA_METRICS.dimensions.functionName]: this.#fn,
      [LAMBDA_METRICS.dimensions.resource]: `${this.#fn}:${SCORE_LIVE_ALIAS}`,
      [LAMBDA_METRICS.dimensions.executedVersion]: v.version,
    };
    const ctx = {
      ...context,
      functionName: this.#fn,
      functionVersion: v.version,
      invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${this.#fn}:${SCORE_LIVE_ALIAS}`,
    };
    const started = performance.now();
    let failed = false;
    try {
      if (v.faults.delayMs) await new Promise((r) => setTimeout(r, v.faults.delayMs));
      if (v.faults.crash) throw new Error(`simulated crash of ${this.#fn}:${v.version}`);
      return await (v.scope ? v.scope.run(() => this.#handler(event, ctx)) : this.#handler(event, ctx));
    } catch {
      failed = true;
      // What API Gateway's HTTP API answers when the Lambda invocation itself fails.
      return crashed();
    } finally {
      this.#metrics.record(LAMBDA_METRICS.invocations, dims, 1);
      this.#metrics.record(LAMBDA_METRICS.errors, dims, failed ? 1 : 0);
      this.#metrics.record(LAMBDA_METRICS.duration, dims, performance.now() - started);
    }
  };

  /** Requests each version served since the start or the last `resetRoutingCounts()`. */
  routingCounts(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  resetRoutingCounts(): void {
    this.#counts.clear();
  }

  /** Published versions and the model version each is pinned to (`undefined`: unpinned). */
  versions(): Array<{ readonly functionVersion: string; readonly modelVersion?: number }> {
    return [...this.#versions.values()].map((v) => ({
      functionVersion: v.version,
      ...(v.env[ENV.MODEL_VERSION] ? { modelVersion: Number(v.env[ENV.MODEL_VERSION]) } : {}),
    }));
  }

  /** Injects faults into one version (the platform misbehaving, not the code). */
  inject(functionVersion: string, faults: VersionFaults): void {
    const v = this.#versions.get(functionVersion);
    if (!v) throw new Error(`no version ${functionVersion}`);
    v.faults = { ...faults };
  }

  /** Simulates a code deployment of `$LATEST` (a later publish must carry this SHA). */
  deployCode(codeSha256: string): void {
    this.#code = codeSha256;
  }

  #pick(): SimulatedVersion {
    const primary = this.#versions.get(this.#alias.primary) as SimulatedVersion;
    const extra = Object.entries(this.#alias.weights).sort(([a], [b]) => Number(a) - Number(b));
    if (extra.length === 0) return primary;
    const u = this.#random();
    let acc = 0;
    for (const [version, w] of extra) {
      acc += w;
      if (u < acc) return this.#versions.get(version) ?? primary;
    }
    return primary;
  }

  #routing(): AliasRouting {
    const primary = this.#versions.get(this.#alias.primary) as SimulatedVersion;
    return {
      primaryVersion: this.#alias.primary,
      codeSha256: primary.codeSha256,
      weights: { ...this.#alias.weights },
      revisionId: String(this.#alias.revision),
    };
  }
}

/**
 * CodeDeploy as the twin has it: **there is none**. A code change on the twin is a restart of the
 * process (or `LocalScoreFunction.deployCode`, which swaps `$LATEST` at once and never shifts
 * `live`), so no code deployment can run beside a model release and `running()` is empty — because
 * that is the twin's reality, not because nobody asked. `simulate` stands in for one (tests, the
 * README's demo of the 409): while it is open, `running()` lists it.
 */
export class TwinCodeDeployments implements CodeDeployments {
  readonly #open = new Set<string>();

  async running(): Promise<readonly string[]> {
    return [...this.#open];
  }

  /** Opens a simulated code deployment `id`; the returned function ends it. */
  simulate(id: string): () => void {
    this.#open.add(id);
    return () => {
      this.#open.delete(id);
    };
  }
}

/** Options of the twin's score function. */
export interface LocalScoreFunctionOptions {
  /** The score handler module Lambda runs. */
  readonly handler: ApiHandler;
  /**
   * `scopedRoot` of `#runtime/root.ts`, passed in because the twin imports the runtime only after
   * it has set the environment (Powertools reads it at module load).
   */
  readonly scopedRoot: (env: Readonly<Record<string, string>>) => RootScope;
  /** Where Lambda-like per-version metrics go (the release's metrics reader). */
  readonly metrics: EmfMetricsStore;
  /** @default vigil-score */
  readonly functionName?: string;
  /** Seed of the weighted routing (deterministic runs). @default 1 */
  readonly seed?: number;
  /** @default a fixed local SHA */
  readonly codeSha256?: string;
}

const crashed = (): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 500,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: 'Internal Server Error' }),
});

/** A small seeded PRNG (mulberry32): uniform in [0, 1), deterministic per seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
