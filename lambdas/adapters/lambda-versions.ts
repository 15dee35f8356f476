import {
  DeleteFunctionCommand,
  type FunctionConfiguration,
  GetAliasCommand,
  type GetAliasCommandOutput,
  GetFunctionConfigurationCommand,
  type LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { ENV, SCORE_LIVE_ALIAS } from '#contracts';
import { ConflictError, VigilError } from '#core/errors.ts';
import type { AliasRouting, ScoreFunctionVersions } from '#core/release/ports.ts';
import type { VersionRef } from '#core/release/types.ts';

/** The one method of the SDK client this adapter uses (tests pass a simulated Lambda API). */
export type LambdaSend = Pick<LambdaClient, 'send'>;

/**
 * The score function's versions and `live` alias on the Lambda API (DESIGN.md §8).
 *
 * Every write is guarded so that a concurrent `cdk deploy` is never overwritten and never slips
 * other code into green:
 * - a pinned version is published from `$LATEST` only while `$LATEST` runs blue's `CodeSha256`,
 *   with `PublishVersion(CodeSha256, RevisionId)` conditional on the revision our own temporary
 *   configuration change produced (and on that configuration still being ours);
 * - `$LATEST`'s environment is put back as it was, conditional on its revision id; when someone
 *   else changed `$LATEST` meanwhile (a deploy) their configuration stands and ours is not restored;
 * - alias updates are conditional on the alias's `RevisionId`.
 * A precondition that fails is a `ConflictError` (409); the release machine re-reads and retries.
 */
export class LambdaScoreFunctionVersions implements ScoreFunctionVersions {
  readonly #lambda: LambdaSend;
  readonly #fn: string;
  readonly #alias: string;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #pollMs: number;
  readonly #maxPolls: number;

  constructor(opts: LambdaScoreFunctionVersionsOptions) {
    if (!opts.functionName) throw new Error(`LambdaScoreFunctionVersions: functionName is required`);
    this.#lambda = opts.client;
    this.#fn = opts.functionName;
    this.#alias = opts.aliasName ?? SCORE_LIVE_ALIAS;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#pollMs = opts.pollMs ?? 1000;
    this.#maxPolls = opts.maxPolls ?? 120;
  }

  async live(): Promise<AliasRouting> {
    const alias = await this.#getAlias();
    const primary = required(alias.FunctionVersion, 'alias FunctionVersion');
    const cfg = await this.#config(primary);
    return toRouting(alias, required(cfg.CodeSha256, 'CodeSha256'));
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
    const latest = await this.#settled();
    if (latest.CodeSha256 !== input.codeSha256) {
      throw new ConflictError(
        `$LATEST of ${this.#fn} runs other code than blue (a deployment in between?); green is not published`,
        { expected: input.codeSha256, found: latest.CodeSha256 },
      );
    }
    const original = { ...(latest.Environment?.Variables ?? {}) };
    const pinnedEnv = { ...original, [ENV.MODEL_VERSION]: String(input.modelVersion) };
    const pinned = await this.#guarded(() =>
      this.#lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: this.#fn,
          Environment: { Variables: pinnedEnv },
          RevisionId: latest.RevisionId,
        }),
      ),
    );
    let published: FunctionConfiguration | undefined;
    try {
      const ready = await this.#settled();
      // Our update must be what `$LATEST` holds now: a deploy that landed after it would otherwise
      // be published as green under our pin.
      if (!sameVariables(ready.Environment?.Variables, pinnedEnv) || ready.CodeSha256 !== input.codeSha256) {
        throw new ConflictError(`$LATEST of ${this.#fn} changed while green was being published`, {
          revisionId: pinned.RevisionId,
        });
      }
      published = await this.#guarded(() =>
        this.#lambda.send(
          new PublishVersionCommand({
            FunctionName: this.#fn,
            CodeSha256: input.codeSha256,
            RevisionId: ready.RevisionId,
            Description: `vigil release: model version ${input.modelVersion} pinned`,
          }),
        ),
      );
    } finally {
      await this.#restore(original, pinnedEnv);
    }
    return {
      functionVersion: required(published.Version, 'published Version'),
      modelVersion: input.modelVersion,
    };
  }

  async route(functionVersion: string, weight: number, expectRevisionId?: string): Promise<AliasRouting> {
    assertVersion(functionVersion);
    if (!(weight >= 0 && weight < 1)) {
      throw new VigilError(
        'BadRequest',
        `A weight routed to an additional version must be in [0, 1), got ${weight}; a release ends at 100 % by promoting the registry alias`,
        { functionVersion, weight },
      );
    }
    const alias = await this.#getAlias();
    const primary = required(alias.FunctionVersion, 'alias FunctionVersion');
    if (functionVersion === primary) {
      throw new ConflictError(`Version ${functionVersion} is the primary version of ${this.#alias}`, {
        functionVersion,
      });
    }
    if (expectRevisionId !== undefined && expectRevisionId !== alias.RevisionId) {
      throw aliasMoved(expectRevisionId, alias.RevisionId);
    }
    const weights: Record<string, number> = { ...(alias.RoutingConfig?.AdditionalVersionWeights ?? {}) };
    if (weight === 0) delete weights[functionVersion];
    else weights[functionVersion] = weight;
    const updated = await this.#guarded(
      () =>
        this.#lambda.send(
          new UpdateAliasCommand({
            FunctionName: this.#fn,
            Name: this.#alias,
            FunctionVersion: primary,
            RoutingConfig: { AdditionalVersionWeights: weights },
            RevisionId: alias.RevisionId,
          }),
        ),
      (revision) => aliasMoved(alias.RevisionId, revision),
    );
    const cfg = await this.#config(primary);
    return toRouting(updated, required(cfg.CodeSha256, 'CodeSha256'));
  }

  async retire(functionVersion: string): Promise<void> {
    assertVersion(functionVersion);
    const alias = await this.#getAlias();
    if (
      alias.FunctionVersion === functionVersion ||
      alias.RoutingConfig?.AdditionalVersionWeights?.[functionVersion]
    ) {
      throw new ConflictError(
        `Version ${functionVersion} still receives traffic from ${this.#alias}; route 0 first`,
        {
          functionVersion,
        },
      );
    }
    let cfg: FunctionConfiguration;
    try {
      cfg = await this.#config(functionVersion);
    } catch (e) {
      if (isNotFound(e)) return; // already retired
      throw e;
    }
    // Only versions a release published (pinned) are ours to delete; blue and deploys' versions are not.
    if (!cfg.Environment?.Variables?.[ENV.MODEL_VERSION]) {
      throw new ConflictError(`Version ${functionVersion} is not a pinned release version; not deleting it`, {
        functionVersion,
      });
    }
    try {
      await this.#lambda.send(
        new DeleteFunctionCommand({ FunctionName: this.#fn, Qualifier: functionVersion }),
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /**
   * Puts `$LATEST`'s environment back unless someone else changed it since our pin (then theirs
   * stands). Retries a lost revision race a few times: publishing itself bumps the revision id.
   */
  async #restore(original: Record<string, string>, pinnedEnv: Record<string, string>): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = await this.#settled();
      if (!sameVariables(now.Environment?.Variables, pinnedEnv)) return;
      try {
        await this.#lambda.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: this.#fn,
            Environment: { Variables: original },
            RevisionId: now.RevisionId,
          }),
        );
        await this.#settled();
        return;
      } catch (e) {
        if (!isPrecondition(e) && !isUpdateInProgress(e)) throw e;
      }
    }
    throw new Error(
      `$LATEST of ${this.#fn} still has ${ENV.MODEL_VERSION} pinned after 5 attempts to restore it; restore its environment by hand (cdk deploy)`,
    );
  }

  /** `$LATEST`'s configuration once no update is in progress (PublishVersion refuses during one). */
  async #settled(): Promise<FunctionConfiguration> {
    for (let i = 0; i < this.#maxPolls; i++) {
      const cfg = await this.#config();
      if (cfg.LastUpdateStatus !== 'InProgress') {
        if (cfg.LastUpdateStatus === 'Failed') {
          throw new Error(
            `The last update of ${this.#fn} failed: ${cfg.LastUpdateStatusReason ?? 'no reason given'}`,
          );
        }
        return cfg;
      }
      await this.#sleep(this.#pollMs);
    }
    throw new VigilError('ServiceUnavailable', `${this.#fn} is still updating; try again later`);
  }

  #config(qualifier?: string): Promise<FunctionConfiguration> {
    return this.#lambda.send(
      new GetFunctionConfigurationCommand({
        FunctionName: this.#fn,
        ...(qualifier ? { Qualifier: qualifier } : {}),
      }),
    );
  }

  #getAlias(): Promise<GetAliasCommandOutput> {
    return this.#lambda.send(new GetAliasCommand({ FunctionName: this.#fn, Name: this.#alias }));
  }

  /** Runs a revision-guarded write; a failed guard becomes a ConflictError. */
  async #guarded<T>(write: () => Promise<T>, conflict?: (revision?: string) => ConflictError): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (isPrecondition(e) || isUpdateInProgress(e)) {
        throw (
          conflict?.() ??
          new ConflictError(`${this.#fn} changed concurrently (revision id moved); re-read and retry`, {
            reason: (e as Error).name,
          })
        );
      }
      throw e;
    }
  }
}

/** Options of the Lambda versions adapter. */
export interface LambdaScoreFunctionVersionsOptions {
  readonly client: LambdaSend;
  /** The score function (`ENV.SCORE_FUNCTION_NAME`). */
  readonly functionName: string;
  /** @default SCORE_LIVE_ALIAS (`live`) */
  readonly aliasName?: string;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Poll interval while `$LATEST` updates, ms. @default 1000 */
  readonly pollMs?: number;
  /** @default 120 */
  readonly maxPolls?: number;
}

function toRouting(
  alias: {
    FunctionVersion?: string;
    RoutingConfig?: { AdditionalVersionWeights?: Record<string, number> };
    RevisionId?: string;
  },
  codeSha256: string,
): AliasRouting {
  return {
    primaryVersion: required(alias.FunctionVersion, 'alias FunctionVersion'),
    codeSha256,
    weights: { ...(alias.RoutingConfig?.AdditionalVersionWeights ?? {}) },
    revisionId: required(alias.RevisionId, 'alias RevisionId'),
  };
}

function required<T>(v: T | undefined, what: string): T {
  if (v === undefined || v === null) throw new Error(`Lambda API answered without ${what}`);
  return v;
}

function assertVersion(v: string): void {
  if (!/^[1-9][0-9]*$/.test(v)) {
    throw new VigilError(
      'BadRequest',
      `Invalid function version '${v}': expected a published version number`,
      {
        functionVersion: v,
      },
    );
  }
}

function sameVariables(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const x = a ?? {};
  const keys = new Set([...Object.keys(x), ...Object.keys(b)]);
  for (const k of keys) if (x[k] !== b[k]) return false;
  return true;
}

const aliasMoved = (expected: string | undefined, actual: string | undefined) =>
  new ConflictError('The live alias changed concurrently (RevisionId moved); re-read and retry', {
    expectedRevisionId: expected,
    ...(actual ? { actualRevisionId: actual } : {}),
  });

const nameOf = (e: unknown) => (e as { name?: string } | null)?.name;
const isPrecondition = (e: unknown) => nameOf(e) === 'PreconditionFailedException';
/** Lambda refuses a change while another update of the function is in progress. */
const isUpdateInProgress = (e: unknown) => nameOf(e) === 'ResourceConflictException';
const isNotFound = (e: unknown) => nameOf(e) === 'ResourceNotFoundException';
