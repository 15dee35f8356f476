import { describe, expect, it } from 'vitest';
import {
  abortRelease,
  assertNoRelease,
  createReleaseSteps,
  type ReleaseDeps,
  startRelease,
} from '#app/release.ts';
import { ConflictError } from '#core/errors.ts';
import type { CapturedRow, DomainEvent } from '#core/ports.ts';
import { parseReleaseSettings } from '#core/release/policy.ts';
import type { VersionReadings, VersionRef } from '#core/release/types.ts';
import {
  capture,
  FakeMetrics,
  FakeRegistry,
  FakeVersions,
  MemoryReleaseStore,
} from '../../helpers/release-fakes.ts';

const MODEL = 'cpu';

/** A world with production at v1 and an approved candidate v2. */
function world(
  opts: {
    blue?: Partial<VersionReadings>;
    green?: Partial<VersionReadings>;
    rows?: CapturedRow[];
    shadow?: boolean;
    codeDeploy?: readonly string[];
  } = {},
) {
  const releases = new MemoryReleaseStore();
  const versions = new FakeVersions();
  const registry = new FakeRegistry({ 1: 'Approved', 2: 'Approved', 3: 'PendingManualApproval' });
  registry.aliases.set(`${MODEL}/production`, {
    name: MODEL,
    alias: 'production',
    version: 1,
    revision: 4,
    updatedAt: '',
  });
  const healthy = (which: 'blue' | 'green'): Partial<VersionReadings> => ({
    invocations: which === 'blue' ? 9000 : 1000,
    rowsScored: which === 'blue' ? 9000 : 1000,
    anomalies: which === 'blue' ? 90 : 10,
    p99DurationMs: 30,
  });
  const metrics = new FakeMetrics((_v: VersionRef, which) => ({
    ...healthy(which),
    ...(which === 'green' ? opts.green : opts.blue),
  }));
  const events: DomainEvent[] = [];
  const notes: Array<{ subject: string }> = [];
  let clock = Date.parse('2026-03-01T10:00:00Z');
  const started: unknown[] = [];
  const stopped: Array<{ executionArn: string; cause: string }> = [];
  const deps: ReleaseDeps = {
    releases,
    versions,
    metrics,
    codeDeployments: { running: async () => opts.codeDeploy ?? [] },
    registry,
    captures: { readWindow: async () => opts.rows ?? [] },
    notifier: { notify: async (m) => void notes.push(m) },
    events: { publish: async (e) => void events.push(...e) },
    settings: parseReleaseSettings({
      shadow: { enabled: opts.shadow ?? false, minRows: 3 },
      timeScale: 0.01,
    }),
    executions: {
      start: async (i) => {
        started.push(i);
        return { executionArn: 'arn:exec:api' };
      },
    },
    stopExecutions: { stop: async (executionArn, cause) => void stopped.push({ executionArn, cause }) },
    now: () => {
      clock += 60_000;
      return new Date(clock);
    },
  };
  return {
    deps,
    releases,
    versions,
    registry,
    metrics,
    events,
    notes,
    started,
    stopped,
    steps: createReleaseSteps(deps),
  };
}

type Steps = ReturnType<typeof createReleaseSteps>;

/**
 * Drives the tasks in the order the release machine's definition does (Begin → [shadow Judge]
 * → (Advance → Judge)* → Promote → Finish, any breach or error → Rollback). The definition
 * itself is asserted in test/infra/release-state-machine.test.ts.
 */
async function drive(steps: Steps, input: Record<string, unknown>) {
  const state: Record<string, unknown> = { ...input };
  const execution = { id: 'arn:exec:1', name: '1' };
  const ev = () => ({ state: structuredClone(state), execution });
  const trail: string[] = [];
  try {
    const begin = await steps.begin(ev());
    state.begin = begin;
    trail.push('begin');
    let decision = 'continue';
    if (begin.shadow) {
      state.judge = await steps.judge(ev());
      decision = (state.judge as { decision: string }).decision;
      trail.push(`shadow:${decision}`);
    }
    while (decision === 'continue' || decision === 'pause') {
      if (decision === 'continue') {
        state.advance = await steps.advance(ev());
        trail.push(`weight:${(state.advance as { weight: number }).weight}`);
      }
      state.judge = await steps.judge(ev());
      decision = (state.judge as { decision: string }).decision;
      trail.push(decision);
    }
    if (decision === 'promote') {
      state.promote = await steps.promote(ev());
      await steps.finish(ev());
      trail.push('promoted');
    } else {
      await steps.rollback(ev());
      trail.push('rolled-back');
    }
  } catch (e) {
    state.error = { Error: (e as Error).name, Cause: (e as Error).message };
    trail.push(`error:${(e as Error).name}`);
    await steps.rollback(ev());
  }
  return trail;
}

describe('release use cases', () => {
  it('a retrained candidate is judged against the difference its evaluation recorded, a hand-made one is not', async () => {
    // Shifted traffic: blue flags 40 %, green 5 %. The candidate's evaluation against v1 saw
    // 15 vs 120 anomalies on 300 holdout rows (r = 0.125) and KS D 0.5.
    const shifted = { blue: { anomalies: 3600 }, green: { anomalies: 50 } };
    const evaluated = world(shifted);
    evaluated.registry.details.set(2, {
      metrics: {
        'eval.holdoutRows': 300,
        'eval.anomalyRate': 0.05,
        'eval.production.anomalyRate': 0.4,
        'eval.scoreKs': 0.5,
      },
      lineage: { parentVersion: 1 },
    });
    expect(await drive(evaluated.steps, { model: MODEL, version: 2, policy: 'canary10-15m' })).toEqual([
      'begin',
      'weight:0.1',
      'promote',
      'promoted',
    ]);
    const [record] = await evaluated.releases.list(MODEL);
    expect(record?.expected).toMatchObject({ source: 'evaluation', anomalyRateRatio: 0.125, scoreKsD: 0.5 });
    expect(record?.judgements[0]?.anomalyRate).toMatchObject({ ratio: 0.125, expectedRatio: 0.125 });

    const byHand = world(shifted);
    expect(await drive(byHand.steps, { model: MODEL, version: 2, policy: 'canary10-15m' })).toEqual([
      'begin',
      'weight:0.1',
      'rollback',
      'rolled-back',
    ]);
    const [plain] = await byHand.releases.list(MODEL);
    expect(plain?.expected).toMatchObject({ source: 'none', anomalyRateRatio: 1 });
    expect(plain?.outcome?.breaches?.map((b) => b.signal)).toEqual(['anomaly-rate']);
  });

  it('a good candidate goes shadow → 10 % → promoted; production then serves it and the history shows each step', async () => {
    const rows = [0.2, 0.4, 0.7, 0.3].map((s, i) =>
      capture(1, s, { index: i, shadow: { version: 2, score: s + 0.01, anomaly: s + 0.01 > 0.6 } }),
    );
    const w = world({ shadow: true, rows });
    const trail = await drive(w.steps, { model: MODEL, version: 2, policy: 'canary10-15m' });
    expect(trail).toEqual(['begin', 'shadow:continue', 'weight:0.1', 'promote', 'promoted']);
    expect(w.registry.aliases.get(`${MODEL}/production`)?.version).toBe(2);
    expect(w.registry.writes).toEqual([
      expect.objectContaining({ type: 'promoted', to: 2, expectedRevision: 4 }),
    ]);
    const [record] = await w.releases.list(MODEL);
    expect(record).toMatchObject({ phase: 'promoted', weight: 0, outcome: { reason: 'all clear' } });
    expect(record?.judgements.map((j) => [j.phase, j.weight, j.decision])).toEqual([
      ['shadow', 0, 'continue'],
      ['traffic', 0.1, 'promote'],
    ]);
    expect(record?.judgements[0]?.shadow).toMatchObject({ rows: 4, disagreement: 0 });
    // Green pinned to the candidate with blue's code, then out of live and deleted.
    expect(record?.green).toEqual({ functionVersion: '8', modelVersion: 2 });
    expect(w.versions.weights).toEqual({});
    expect(w.versions.retired).toEqual(['8']);
    expect(w.events.map((e) => e.detailType)).toEqual(['vigil.release.promoted']);
    expect(w.notes[0]?.subject).toMatch(/promoted/);
  });

  it.each<[string, Partial<VersionReadings>, string]>([
    ['flags nearly everything', { anomalies: 900 }, 'anomaly-rate'],
    ['throws', { errors: 1000 }, 'errors'],
    ['is slow', { p99DurationMs: 4000 }, 'p99'],
  ])(
    'a candidate that %s is rolled back at the first step; production unchanged',
    async (_, green, signal) => {
      const w = world({ green });
      const trail = await drive(w.steps, { model: MODEL, version: 2, policy: 'linear10-every-2m' });
      expect(trail).toEqual(['begin', 'weight:0.1', 'rollback', 'rolled-back']);
      expect(w.registry.aliases.get(`${MODEL}/production`)?.version).toBe(1);
      expect(w.registry.writes).toEqual([]);
      expect(w.versions.weights).toEqual({});
      const [record] = await w.releases.list(MODEL);
      expect(record?.phase).toBe('rolled-back');
      expect(record?.outcome?.breaches?.map((b) => b.signal)).toContain(signal);
      expect(record?.outcome?.reason).toContain(signal);
      expect(w.events.map((e) => e.detailType)).toEqual(['vigil.release.rolled-back']);
      expect(w.events[0]?.detail.breaches).toEqual(record?.outcome?.breaches);
    },
  );

  it('pauses on a dependency outage, then resumes and promotes once it clears', async () => {
    const w = world();
    let outage = 2;
    const normal = w.metrics.readings;
    w.metrics.readings = (v, which) => ({
      ...normal(v, which),
      ...(outage-- > 0 ? { dependencyErrors: 5 } : {}),
    });
    const trail = await drive(w.steps, { model: MODEL, version: 2, policy: 'canary10-15m' });
    expect(trail).toEqual(['begin', 'weight:0.1', 'pause', 'promote', 'promoted']);
    const [record] = await w.releases.list(MODEL);
    // The judgement after a pause reads only the window after it.
    const [paused, after] = record?.judgements ?? [];
    expect(after?.window.from).toBe(paused?.window.to);
  });

  it('refuses a second release of the same model with 409 while one runs', async () => {
    const w = world();
    await startRelease(w.deps, { model: MODEL, version: 2, actor: 'admin-1' });
    await expect(startRelease(w.deps, { model: MODEL, version: 2, actor: 'admin-1' })).rejects.toMatchObject({
      status: 409,
    });
    expect(w.started).toHaveLength(1);
    expect(w.started[0]).toMatchObject({
      model: MODEL,
      version: 2,
      policy: 'canary10-15m',
      startedBy: 'api:admin-1',
    });
  });

  it('refuses to start during a code deployment, for an unapproved or the production version', async () => {
    await expect(
      startRelease(world({ codeDeploy: ['d-ABC123'] }).deps, { model: MODEL, version: 2, actor: 'a' }),
    ).rejects.toMatchObject({
      code: 'Conflict',
      message: expect.stringMatching(/code deployment.*d-ABC123/),
    });
    await expect(startRelease(world().deps, { model: MODEL, version: 3, actor: 'a' })).rejects.toMatchObject({
      code: 'NotApproved',
    });
    await expect(startRelease(world().deps, { model: MODEL, version: 1, actor: 'a' })).rejects.toThrow(
      /already serves production/,
    );
  });

  it('a release started by the API is adopted by the machine, not recorded twice', async () => {
    const w = world();
    const r = await startRelease(w.deps, { model: MODEL, version: 2, actor: 'a' });
    const trail = await drive(w.steps, { model: MODEL, version: 2, releaseId: r.releaseId });
    expect(trail.at(-1)).toBe('promoted');
    expect(w.releases.records.size).toBe(1);
  });

  it('a machine that cannot start leaves no release holding the model', async () => {
    const w = world();
    const deps = { ...w.deps, executions: { start: async () => Promise.reject(new Error('throttled')) } };
    await expect(startRelease(deps, { model: MODEL, version: 2, actor: 'a' })).rejects.toThrow('throttled');
    expect(await w.releases.active(MODEL)).toBeUndefined();
    expect((await w.releases.list(MODEL))[0]?.phase).toBe('failed');
  });

  it('refuses a hand promotion of production while a release holds the model, allows it after', async () => {
    const w = world();
    await startRelease(w.deps, { model: MODEL, version: 2, actor: 'a' });
    await expect(assertNoRelease(w.releases, MODEL, 'production')).rejects.toBeInstanceOf(ConflictError);
    await expect(assertNoRelease(w.releases, MODEL, 'staging')).resolves.toBeUndefined();
  });

  it('an error after Begin ends the release failed with green retired; one after Promote records it promoted', async () => {
    const w = world();
    w.versions.route = async () => Promise.reject(new Error('Lambda.ServiceException'));
    const trail = await drive(w.steps, { model: MODEL, version: 2 });
    expect(trail).toEqual(['begin', 'error:Error']);
    expect((await w.releases.list(MODEL))[0]).toMatchObject({ phase: 'failed' });
    expect(w.versions.retired).toEqual(['8']);

    const v = world();
    v.steps.finish = async () => {
      throw new Error('Lambda.ServiceException');
    };
    await drive(v.steps, { model: MODEL, version: 2 });
    expect((await v.releases.list(MODEL))[0]).toMatchObject({ phase: 'promoted' });
    expect(v.registry.aliases.get(`${MODEL}/production`)?.version).toBe(2);
  });

  it('refuses to publish green while live already routes weight elsewhere (a code deployment)', async () => {
    const w = world();
    w.versions.weights = { '6': 0.1 };
    const trail = await drive(w.steps, { model: MODEL, version: 2 });
    expect(trail).toEqual(['error:ConflictError']);
    expect(w.versions.pinned.size).toBe(0);
    expect(await w.releases.active(MODEL)).toBeUndefined();
  });

  it('an abort stops the release execution, takes green out, records it rolled back and announces it', async () => {
    const w = world();
    const execution = { id: 'arn:exec:1', name: '1' };
    const state: Record<string, unknown> = { model: MODEL, version: 2, policy: 'canary10-15m' };
    state.begin = await w.steps.begin({ state, execution });
    state.advance = await w.steps.advance({ state, execution });
    expect(w.versions.weights).toEqual({ '8': 0.1 });
    const held = await w.releases.active(MODEL);
    if (!held) throw new Error('no active release');

    const { release, abortExecutionArn } = await abortRelease(w.deps, {
      model: MODEL,
      releaseId: held.releaseId,
      reason: 'customer escalation',
      actor: 'k-admin',
    });
    expect(release.releaseId).toBe(held.releaseId);
    expect(w.started.at(-1)).toEqual({
      model: MODEL,
      version: 2,
      policy: 'canary10-15m',
      releaseId: held.releaseId,
      startedBy: 'api:k-admin',
      abort: { by: 'api:k-admin', reason: 'customer escalation' },
    });
    // The abort's own execution runs the Rollback task with that input.
    const out = await w.steps.rollback({
      state: w.started.at(-1),
      execution: { id: abortExecutionArn, name: 'abort' },
    });
    expect(out).toEqual({ outcome: 'rolled-back' });
    expect(w.stopped).toEqual([
      { executionArn: 'arn:exec:1', cause: 'aborted by api:k-admin: customer escalation' },
    ]);
    expect(w.versions.weights).toEqual({});
    expect(w.versions.retired).toEqual(['8']);
    expect(await w.releases.active(MODEL)).toBeUndefined();
    const [record] = await w.releases.list(MODEL);
    expect(record).toMatchObject({
      phase: 'rolled-back',
      weight: 0,
      outcome: { reason: 'aborted by api:k-admin: customer escalation' },
    });
    expect(w.registry.aliases.get(`${MODEL}/production`)?.version).toBe(1);
    expect(w.events.map((e) => e.detailType)).toEqual(['vigil.release.rolled-back']);
    expect(w.notes.at(-1)?.subject).toMatch(/rolled-back/);
    // The stopped execution's next Advance, had it run, routes nothing more to green.
    await expect(w.steps.advance({ state, execution })).rejects.toThrow(/already ended/);
    expect(w.versions.weights).toEqual({});
  });

  it('an abort frees a record whose execution died, with nothing to stop or retire', async () => {
    const w = world();
    const r = await startRelease(w.deps, { model: MODEL, version: 2, actor: 'a' });
    // The execution never ran Begin (stopped by hand, say): the record holds the model without green.
    expect(await w.releases.active(MODEL)).toBeDefined();
    const { abortExecutionArn } = await abortRelease(w.deps, {
      model: MODEL,
      releaseId: r.releaseId,
      actor: 'ops',
    });
    await w.steps.rollback({ state: w.started.at(-1), execution: { id: abortExecutionArn, name: 'abort' } });
    expect(await w.releases.active(MODEL)).toBeUndefined();
    expect((await w.releases.get(MODEL, r.releaseId))?.outcome?.reason).toBe(
      'aborted by api:ops: aborted by hand',
    );
    expect(w.versions.retired).toEqual([]);
  });

  it('refuses to abort an unknown release (404) or one that ended (409)', async () => {
    const w = world();
    await expect(
      abortRelease(w.deps, { model: MODEL, releaseId: 'nope-1', actor: 'a' }),
    ).rejects.toMatchObject({
      code: 'NotFound',
    });
    const r = await startRelease(w.deps, { model: MODEL, version: 2, actor: 'a' });
    await w.releases.update(MODEL, r.releaseId, 2, { phase: 'failed' });
    await expect(
      abortRelease(w.deps, { model: MODEL, releaseId: r.releaseId, actor: 'a' }),
    ).rejects.toMatchObject({
      code: 'Conflict',
    });
  });
});
