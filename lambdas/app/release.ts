import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { PRODUCTION_ALIAS, RELEASE_EVENT } from '#contracts';
import { ConflictError, VigilError } from '#core/errors.ts';
import type { CaptureReader, EventPublisher } from '#core/ports.ts';
import {
  assertCanTakeAlias,
  assertModelName,
  assertVersionNumber,
  DEFAULT_POLICY,
  MODEL_NAME_PATTERN,
  type RegistryPolicy,
} from '#core/registry/rules.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import { expectedDifference } from '#core/release/expected.ts';
import { compareShadow, judge, type ShadowPair } from '#core/release/judge.ts';
import { planRelease, type ReleasePlan, type ReleaseSettings } from '#core/release/policy.ts';
import type {
  CodeDeployments,
  ReleaseMetricsReader,
  ReleaseStore,
  ScoreFunctionVersions,
} from '#core/release/ports.ts';
import type { ReleaseExecutionStopper, ReleaseExecutions } from '#core/release/starter.ts';

export { assertNoRelease } from './release-guard.ts';

import {
  type Breach,
  type Judgement,
  RELEASE_POLICIES,
  type ReleasePolicyName,
  type ReleaseRecord,
  TERMINAL_RELEASE_PHASES,
  type VersionReadings,
} from '#core/release/types.ts';
import type { Notifier } from '#core/retrain/ports.ts';

/**
 * Model releases (DESIGN.md §8, issue 11) as use cases over ports: starting one (the API),
 * and the release state machine's tasks (one Lambda per task, `lambdas/handlers/release-*.ts`),
 * each called with the whole state document and returning the part it adds (`$.<task>`).
 *
 * Blue is `live`'s primary, unpinned version (it serves the registry's `production`); green is
 * a version of the same code pinned to the candidate. The release record in the registry
 * (`ReleaseStore`) is the one lock: one non-terminal release per model.
 */
export interface ReleaseDeps {
  readonly releases: ReleaseStore;
  readonly versions: ScoreFunctionVersions;
  readonly metrics: ReleaseMetricsReader;
  readonly codeDeployments: CodeDeployments;
  readonly registry: Pick<ModelRegistry, 'getVersion' | 'getAlias' | 'writeAlias'>;
  readonly captures: CaptureReader;
  readonly notifier: Notifier;
  readonly events: EventPublisher;
  readonly settings: ReleaseSettings;
  /** Only the API's start (and abort) needs it. */
  readonly executions?: ReleaseExecutions;
  /** Only Rollback needs it: an abort stops the release's own execution first. */
  readonly stopExecutions?: ReleaseExecutionStopper;
  /** @default DEFAULT_POLICY */
  readonly policy?: RegistryPolicy;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Checks a release may start and records it: the candidate exists and may take `production`,
 * differs from it, no code deployment runs, and (atomically, in the store) no other release
 * holds the model.
 * @throws ConflictError (409) when a release or a code deployment runs | VigilError NotApproved
 */
/** What starting a release needs (the API's handler has no metrics or function versions). */
export type StartDeps = Pick<
  ReleaseDeps,
  'releases' | 'registry' | 'codeDeployments' | 'settings' | 'executions' | 'policy' | 'now'
>;

async function beginRecord(
  deps: StartDeps,
  input: {
    model: string;
    version: number;
    policy?: ReleasePolicyName;
    startedBy: string;
    executionArn?: string;
  },
): Promise<{ record: ReleaseRecord; plan: ReleasePlan }> {
  assertModelName(input.model);
  assertVersionNumber(input.version);
  const candidate = await deps.registry.getVersion(input.model, input.version);
  assertCanTakeAlias(candidate, PRODUCTION_ALIAS, deps.policy ?? DEFAULT_POLICY);
  const production = await deps.registry.getAlias(input.model, PRODUCTION_ALIAS);
  if (!production || production.deleted) {
    throw new VigilError(
      'Conflict',
      `Model '${input.model}' has no production version to release against; set the alias instead`,
      { model: input.model },
    );
  }
  if (production.version === input.version) {
    throw new ConflictError(`Version ${input.version} of '${input.model}' already serves production`, {
      model: input.model,
      version: input.version,
    });
  }
  await assertNoCodeDeployment(deps, input.model);
  const policy = input.policy ?? deps.settings.defaultPolicy;
  const plan = planRelease(policy, deps.settings);
  const at = now(deps).toISOString();
  const record = await deps.releases.begin({
    model: input.model,
    releaseId: `${at.replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`,
    candidateVersion: input.version,
    baselineVersion: production.version,
    expected: expectedDifference(candidate, production.version),
    policy,
    phase: plan.shadowSeconds > 0 ? 'shadow' : 'traffic',
    weight: 0,
    step: -1,
    startedAt: at,
    updatedAt: at,
    startedBy: input.startedBy,
    ...(input.executionArn ? { executionArn: input.executionArn } : {}),
    ...(plan.shadowSeconds > 0 ? { shadow: { minutes: plan.shadowSeconds / 60 } } : {}),
    judgements: [],
  });
  return { record, plan };
}

/**
 * Refuses while CodeDeploy shifts the score function's `live` alias: a model release moving the
 * same alias's weights would fight it (and be judged against code that is half rolled out).
 * @throws ConflictError (409) naming the deployments
 */
async function assertNoCodeDeployment(deps: Pick<ReleaseDeps, 'codeDeployments'>, model: string) {
  const running = await deps.codeDeployments.running();
  if (running.length > 0) {
    throw new ConflictError(
      `A code deployment of the score function is in progress (${running.join(', ')}); start the release after it ends`,
      { model, deployments: [...running] },
    );
  }
}

/**
 * Starts a release (the API, `vigil release start`): records it first, so a second start for
 * the same model is refused with 409 synchronously, then starts the release machine with the
 * record's id. A machine that cannot be started leaves the record `failed`, never holding.
 */
export async function startRelease(
  deps: StartDeps,
  input: { model: string; version: number; policy?: ReleasePolicyName; actor: string },
): Promise<ReleaseRecord> {
  if (!deps.executions) {
    throw new VigilError(
      'ServiceUnavailable',
      'The release state machine is not configured here (no executions port)',
    );
  }
  const { record } = await beginRecord(deps, { ...input, startedBy: `api:${input.actor}` });
  try {
    const { executionArn } = await deps.executions.start({
      model: record.model,
      version: record.candidateVersion,
      policy: record.policy,
      releaseId: record.releaseId,
      startedBy: record.startedBy,
    });
    return await deps.releases.update(record.model, record.releaseId, record.revision, { executionArn });
  } catch (e) {
    await deps.releases.update(record.model, record.releaseId, record.revision, {
      phase: 'failed',
      endedAt: now(deps).toISOString(),
      outcome: { reason: `the release machine did not start: ${(e as Error).message}` },
    });
    throw e;
  }
}

/** Releases of a model, newest first, with every judgement (`GET /v1/models/{model}/releases`). */
export async function listReleases(
  deps: Pick<ReleaseDeps, 'releases'>,
  model: string,
  opts: { limit?: number } = {},
): Promise<ReleaseRecord[]> {
  assertModelName(model);
  return deps.releases.list(model, opts);
}

/**
 * Aborts a release by hand (`POST /v1/models/{model}/releases/{id}/abort`, `vigil release abort`):
 * starts an execution of the release machine that only rolls back (its `Abort` state runs the
 * Rollback task): it stops the release's own execution if that still runs, takes green out of
 * `live` and retires it, records the release `rolled-back` with who aborted it and why, and
 * publishes the event and the SNS message, as a breach would. The registry is never touched. It also
 * frees a record whose execution died (stopped by hand, timed out): nothing is left to stop then.
 * Repeating it is safe (the second finds the release ended, or rolls back what is left).
 * @throws VigilError NotFound for an unknown release | ConflictError (409) when it already ended
 */
export async function abortRelease(
  deps: Pick<StartDeps, 'releases' | 'executions'>,
  input: { model: string; releaseId: string; reason?: string; actor: string },
): Promise<{ release: ReleaseRecord; abortExecutionArn: string }> {
  assertModelName(input.model);
  if (!deps.executions) {
    throw new VigilError(
      'ServiceUnavailable',
      'The release state machine is not configured here (no executions port)',
    );
  }
  const release = await deps.releases.get(input.model, input.releaseId);
  if (!release) {
    throw new VigilError('NotFound', `Model '${input.model}' has no release '${input.releaseId}'`, {
      model: input.model,
      releaseId: input.releaseId,
    });
  }
  if (TERMINAL_RELEASE_PHASES.includes(release.phase)) {
    throw new ConflictError(
      `Release ${release.releaseId} of '${input.model}' already ended (${release.phase})`,
      {
        model: input.model,
        releaseId: release.releaseId,
        phase: release.phase,
      },
    );
  }
  const { executionArn } = await deps.executions.start({
    model: release.model,
    version: release.candidateVersion,
    policy: release.policy,
    releaseId: release.releaseId,
    startedBy: `api:${input.actor}`,
    abort: { by: `api:${input.actor}`, reason: input.reason?.trim() || 'aborted by hand' },
  });
  return { release, abortExecutionArn: executionArn };
}

// ---- the state machine's tasks ----

const ExecutionSchema = z.object({ id: z.string().min(1), name: z.string().min(1) });

/** The state document as the tasks see it (each reads only what it needs). */
const StateSchema = z.object({
  model: z.string().regex(MODEL_NAME_PATTERN),
  version: z.number().int().positive(),
  policy: z.enum(RELEASE_POLICIES).optional(),
  releaseId: z.string().min(1).optional(),
  startedBy: z.string().min(1).optional(),
  abort: z.object({ by: z.string().min(1).max(200), reason: z.string().max(1000) }).optional(),
  begin: z.custom<BeginResult>().optional(),
  judge: z.custom<JudgeResult>().optional(),
  advance: z.custom<AdvanceResult>().optional(),
  promote: z.custom<PromoteResult>().optional(),
  /** What a Catch put there: `{ Error, Cause }`. */
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).passthrough().optional(),
});
export type ReleaseState = z.infer<typeof StateSchema>;

const EventSchema = z.object({ state: z.unknown(), execution: ExecutionSchema });

/** Parses a task's event. @throws VigilError BadRequest naming the first bad field */
export function parseReleaseEvent(event: unknown): {
  state: ReleaseState;
  execution: { id: string; name: string };
} {
  const e = EventSchema.safeParse(event);
  const s = e.success ? StateSchema.safeParse(e.data.state) : undefined;
  const error = !e.success ? e.error : s && !s.success ? s.error : undefined;
  if (error || !e.success || !s?.success) {
    const i = error?.issues[0];
    throw new VigilError(
      'BadRequest',
      `Invalid release event at ${i?.path.join('.') || '(root)'}: ${i?.message}`,
    );
  }
  return { state: s.data, execution: e.data.execution };
}

export interface BeginResult {
  readonly releaseId: string;
  readonly plan: ReleasePlan;
  /** Whether the machine runs the shadow phase (its Choice reads this). */
  readonly shadow: boolean;
  /** Whether any traffic step follows (else judging the shadow decides promote/rollback). */
  readonly hasSteps: boolean;
  readonly startedAt: string;
}

export interface JudgeResult {
  readonly decision: Judgement['decision'];
  readonly step: number;
  readonly windowTo: string;
  readonly pauses: number;
  readonly breaches: readonly Breach[];
}

export interface AdvanceResult {
  readonly step: number;
  readonly weight: number;
  readonly bakeSeconds: number;
  readonly startedAt: string;
}

export interface PromoteResult {
  /** Seconds the machine waits before Finish, so no warm instance serves the old model. */
  readonly waitSeconds: number;
  readonly revision: number;
}

const now = (deps: Pick<ReleaseDeps, 'now'>) => deps.now?.() ?? new Date();

/** Builds the task functions. */
export function createReleaseSteps(deps: ReleaseDeps) {
  const get = async (model: string, releaseId: string | undefined): Promise<ReleaseRecord> => {
    const r = releaseId ? await deps.releases.get(model, releaseId) : await deps.releases.active(model);
    if (!r) throw new VigilError('NotFound', `No release ${releaseId ?? '(active)'} of model '${model}'`);
    return r;
  };
  const idOf = (state: ReleaseState) => state.begin?.releaseId ?? state.releaseId;
  /** Applies `patch` to the latest record, re-reading once if another writer moved its revision. */
  const update = async (
    r: ReleaseRecord,
    patch: (cur: ReleaseRecord) => Parameters<ReleaseStore['update']>[3],
  ): Promise<ReleaseRecord> => {
    try {
      return await deps.releases.update(r.model, r.releaseId, r.revision, patch(r));
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      const cur = await get(r.model, r.releaseId);
      return deps.releases.update(cur.model, cur.releaseId, cur.revision, patch(cur));
    }
  };
  const announce = async (r: ReleaseRecord, outcome: 'promoted' | 'rolled-back' | 'failed') => {
    const detail = {
      model: r.model,
      releaseId: r.releaseId,
      candidateVersion: r.candidateVersion,
      baselineVersion: r.baselineVersion,
      policy: r.policy,
      outcome,
      reason: r.outcome?.reason ?? outcome,
      breaches: r.outcome?.breaches ?? [],
      ...(r.executionArn ? { executionArn: r.executionArn } : {}),
    };
    await deps.events.publish([
      { source: RELEASE_EVENT.source, detailType: RELEASE_EVENT.detailType(outcome), detail },
    ]);
    await deps.notifier.notify({
      subject: `Vigil release of ${r.model} v${r.candidateVersion}: ${outcome}`,
      body: detail,
    });
  };
  /** Takes green out of `live` and deletes it; safe to repeat. */
  const retireGreen = async (r: ReleaseRecord) => {
    if (!r.green) return;
    const live = await deps.versions.live();
    if (live.weights[r.green.functionVersion] !== undefined) {
      await deps.versions.route(r.green.functionVersion, 0, live.revisionId);
    }
    await deps.versions.retire(r.green.functionVersion);
  };

  return {
    /**
     * Records the release (or adopts the API's record), then publishes green: a version of
     * blue's exact code (`CodeSha256`) pinned to the candidate. Idempotent on retry.
     */
    async begin(event: unknown): Promise<BeginResult> {
      const { state, execution } = parseReleaseEvent(event);
      let record: ReleaseRecord;
      let plan: ReleasePlan;
      const active = await deps.releases.active(state.model);
      if (state.releaseId || active?.executionArn === execution.id) {
        record = await get(state.model, state.releaseId ?? active?.releaseId);
        if (TERMINAL_RELEASE_PHASES.includes(record.phase)) {
          throw new ConflictError(
            `Release ${record.releaseId} of '${state.model}' already ended (${record.phase})`,
          );
        }
        plan = planRelease(record.policy, deps.settings);
        if (!record.executionArn) record = await update(record, () => ({ executionArn: execution.id }));
      } else {
        ({ record, plan } = await beginRecord(deps, {
          model: state.model,
          version: state.version,
          ...(state.policy ? { policy: state.policy } : {}),
          startedBy: state.startedBy ?? `execution:${execution.id}`,
          executionArn: execution.id,
        }));
      }
      if (!record.green) {
        // The API checked at start; a code deployment may have begun since.
        await assertNoCodeDeployment(deps, record.model);
        const live = await deps.versions.live();
        const held = Object.entries(live.weights).filter(([, w]) => w > 0);
        if (held.length > 0) {
          throw new ConflictError(
            `live already routes to version(s) ${held.map(([v]) => v).join(', ')}: a code deployment or another release holds it`,
          );
        }
        const green = await deps.versions.publishPinned({
          modelVersion: record.candidateVersion,
          codeSha256: live.codeSha256,
        });
        record = await update(record, () => ({
          blue: { functionVersion: live.primaryVersion, modelVersion: record.baselineVersion },
          green,
          updatedAt: now(deps).toISOString(),
        }));
      }
      return {
        releaseId: record.releaseId,
        plan,
        shadow: plan.shadowSeconds > 0,
        hasSteps: plan.steps.length > 0,
        startedAt: now(deps).toISOString(),
      };
    },

    /**
     * Judges the window since the step began (or since the last paused judgement): per-version
     * readings, captured scores split by model version, and in the shadow phase the paired
     * scores. Appends the judgement to the record and returns the decision.
     */
    async judge(event: unknown): Promise<JudgeResult> {
      const { state } = parseReleaseEvent(event);
      const begin = need(state.begin, 'begin');
      const record = await get(state.model, begin.releaseId);
      const inTraffic = state.advance !== undefined;
      const step = state.advance?.step ?? -1;
      const stepStart = state.advance?.startedAt ?? begin.startedAt;
      const paused = state.judge?.decision === 'pause' && state.judge.step === step;
      const from = new Date(paused ? (state.judge?.windowTo as string) : stepStart);
      const to = now(deps);
      const blueRef = need(record.blue, 'blue version');
      const greenRef = need(record.green, 'green version');
      const rows = await deps.captures.readWindow(record.model, from, to);
      let blue: VersionReadings | undefined;
      let green: VersionReadings | undefined;
      let scores: { blue: number[]; green: number[] } | undefined;
      let shadow: ReturnType<typeof compareShadow> | undefined;
      const lastStep = inTraffic ? step === begin.plan.steps.length - 1 : !begin.hasSteps;
      if (inTraffic) {
        ({ blue, green } = await deps.metrics.read({
          model: record.model,
          blue: blueRef,
          green: greenRef,
          from,
          to,
        }));
        scores = { blue: [], green: [] };
        for (const r of rows) {
          if (r.version === blueRef.modelVersion) scores.blue.push(r.score);
          else if (r.version === greenRef.modelVersion) scores.green.push(r.score);
        }
      } else {
        // Blue's own readings in the shadow window: a dependency outage pauses here too.
        ({ blue } = await deps.metrics.read({
          model: record.model,
          blue: blueRef,
          green: greenRef,
          from,
          to,
        }));
        const pairs: ShadowPair[] = [];
        for (const r of rows) {
          if (r.shadow && r.shadow.version === record.candidateVersion) {
            pairs.push({
              blueScore: r.score,
              blueAnomaly: r.anomaly,
              greenScore: r.shadow.score,
              greenAnomaly: r.shadow.anomaly,
            });
          }
        }
        // The captures carry no per-request latency: the shadow's added p99 is not measured here.
        shadow = compareShadow(pairs, Number.NaN);
      }
      const pausesSoFar = paused ? (state.judge?.pauses ?? 0) : 0;
      const verdict = judge(
        {
          ...(blue ? { blue } : {}),
          ...(green ? { green } : {}),
          ...(scores ? { scores } : {}),
          ...(shadow ? { shadow } : {}),
          lastStep,
          pausesSoFar,
          ...(record.expected ? { expected: record.expected } : {}),
        },
        deps.settings,
      );
      const judgement: Judgement = {
        at: to.toISOString(),
        step,
        phase: inTraffic ? 'traffic' : 'shadow',
        weight: state.advance?.weight ?? 0,
        window: { from: from.toISOString(), to: to.toISOString() },
        ...(blue ? { blue } : {}),
        ...(green ? { green } : {}),
        ...(verdict.anomalyRate ? { anomalyRate: verdict.anomalyRate } : {}),
        ...(verdict.scoreKs ? { scoreKs: verdict.scoreKs } : {}),
        ...(verdict.shadow ? { shadow: verdict.shadow } : {}),
        decision: verdict.decision,
        breaches: verdict.breaches,
      };
      await update(record, (cur) => ({
        judgements: [...cur.judgements, judgement],
        updatedAt: judgement.at,
        ...(verdict.decision === 'pause'
          ? { phase: 'paused' as const }
          : cur.phase === 'paused'
            ? { phase: inTraffic ? ('traffic' as const) : ('shadow' as const) }
            : {}),
      }));
      return {
        decision: verdict.decision,
        step,
        windowTo: judgement.at,
        pauses: verdict.decision === 'pause' ? pausesSoFar + 1 : 0,
        breaches: verdict.breaches,
      };
    },

    /** Routes the next step's weight of `live` to green (conditional on the alias revision). */
    async advance(event: unknown): Promise<AdvanceResult> {
      const { state } = parseReleaseEvent(event);
      const begin = need(state.begin, 'begin');
      const record = await get(state.model, begin.releaseId);
      if (TERMINAL_RELEASE_PHASES.includes(record.phase)) {
        // Aborted (or otherwise ended) while this execution baked: route nothing more to green.
        throw new ConflictError(
          `Release ${record.releaseId} of '${record.model}' already ended (${record.phase})`,
        );
      }
      const step = (state.advance?.step ?? -1) + 1;
      const next = begin.plan.steps[step];
      if (!next) throw new VigilError('BadRequest', `Release plan has no step ${step}`);
      const green = need(record.green, 'green version');
      const live = await deps.versions.live();
      await deps.versions.route(green.functionVersion, next.weight, live.revisionId);
      const startedAt = now(deps).toISOString();
      await update(record, () => ({ phase: 'traffic', weight: next.weight, step, updatedAt: startedAt }));
      return { step, weight: next.weight, bakeSeconds: next.bakeSeconds, startedAt };
    },

    /**
     * Moves the registry's `production` to the candidate, conditional on the alias revision still
     * pointing at the baseline (recorded as `promoted`). Idempotent: already there is success.
     */
    async promote(event: unknown): Promise<PromoteResult> {
      const { state } = parseReleaseEvent(event);
      const begin = need(state.begin, 'begin');
      const record = await get(state.model, begin.releaseId);
      const alias = await deps.registry.getAlias(record.model, PRODUCTION_ALIAS);
      if (alias && !alias.deleted && alias.version === record.candidateVersion) {
        return { waitSeconds: begin.plan.aliasCacheSeconds, revision: alias.revision };
      }
      if (!alias || alias.deleted || alias.version !== record.baselineVersion) {
        throw new ConflictError(
          `production of '${record.model}' moved during the release (now ${alias?.deleted ? 'unset' : alias?.version}, expected ${record.baselineVersion})`,
        );
      }
      const candidate = await deps.registry.getVersion(record.model, record.candidateVersion);
      assertCanTakeAlias(candidate, PRODUCTION_ALIAS, deps.policy ?? DEFAULT_POLICY);
      const move = await deps.registry.writeAlias(record.model, PRODUCTION_ALIAS, {
        type: 'promoted',
        to: record.candidateVersion,
        expectedRevision: alias.revision,
        actor: `release:${record.releaseId}`,
        reason: `release ${record.releaseId} (${record.policy}): all clear after ${record.judgements.length} judgement(s)`,
      });
      return { waitSeconds: begin.plan.aliasCacheSeconds, revision: move.state.revision };
    },

    /** After the alias-cache wait: green out of `live` and retired; record `promoted`; event and SNS. */
    async finish(event: unknown): Promise<{ outcome: 'promoted' }> {
      const { state } = parseReleaseEvent(event);
      const begin = need(state.begin, 'begin');
      const record = await get(state.model, begin.releaseId);
      await retireGreen(record);
      const at = now(deps).toISOString();
      const done = TERMINAL_RELEASE_PHASES.includes(record.phase)
        ? record
        : await update(record, () => ({
            phase: 'promoted',
            weight: 0,
            endedAt: at,
            updatedAt: at,
            outcome: { reason: 'all clear' },
          }));
      await announce(done, 'promoted');
      return { outcome: 'promoted' };
    },

    /**
     * Ends a release that must not promote: a breach (`$.judge`), or an error a Catch put at
     * `$.error`. Weight 0, green retired, the registry untouched. When an error struck after
     * Promote had already moved `production`, the release is recorded as promoted (it is).
     */
    async rollback(event: unknown): Promise<{ outcome: 'rolled-back' | 'failed' | 'promoted' }> {
      const { state, execution } = parseReleaseEvent(event);
      const id = idOf(state);
      const record = id
        ? await deps.releases.get(state.model, id)
        : await deps.releases
            .active(state.model)
            .then((r) => (r && r.candidateVersion === state.version ? r : undefined));
      // Begin failed before recording anything (e.g. the 409 of a second release): nothing to undo.
      if (!record) return { outcome: 'failed' };
      const aborted = state.abort;
      if (
        aborted &&
        record.executionArn &&
        record.executionArn !== execution.id &&
        !TERMINAL_RELEASE_PHASES.includes(record.phase)
      ) {
        // First, so the release's own execution moves no weight after green is out.
        if (!deps.stopExecutions)
          throw new VigilError('ServiceUnavailable', 'No way to stop executions here');
        await deps.stopExecutions.stop(record.executionArn, `aborted by ${aborted.by}: ${aborted.reason}`);
      }
      await retireGreen(record);
      if (TERMINAL_RELEASE_PHASES.includes(record.phase)) return { outcome: record.phase as 'failed' };
      const breaches =
        state.judge?.decision === 'rollback' && !state.error ? state.judge.breaches : undefined;
      const alias = await deps.registry.getAlias(record.model, PRODUCTION_ALIAS);
      const promoted = alias && !alias.deleted && alias.version === record.candidateVersion;
      const outcome = promoted ? 'promoted' : breaches || aborted ? 'rolled-back' : 'failed';
      const reason = promoted
        ? `promoted; finishing failed: ${state.error?.Error ?? 'unknown error'}`
        : aborted
          ? `aborted by ${aborted.by}: ${aborted.reason}`
          : breaches
            ? breaches.map((b) => `${b.signal} ${fmt(b.value)} (limit ${fmt(b.limit)})`).join('; ')
            : `${state.error?.Error ?? 'error'}: ${String(state.error?.Cause ?? '').slice(0, 500)}`;
      const at = now(deps).toISOString();
      const done = await update(record, () => ({
        phase: outcome,
        weight: 0,
        endedAt: at,
        updatedAt: at,
        outcome: { reason, ...(breaches ? { breaches } : {}) },
      }));
      await announce(done, outcome);
      return { outcome };
    },
  };
}

export type ReleaseSteps = ReturnType<typeof createReleaseSteps>;

const need = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new VigilError('BadRequest', `Release state has no '${what}' yet`);
  return value;
};

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(4));
