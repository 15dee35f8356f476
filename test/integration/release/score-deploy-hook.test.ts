import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { DynamoReleaseStore } from '#adapters/dynamodb-releases.ts';
import type { ScoreDeployHookDeps } from '#app/score-deploy-hook.ts';
import { summarizeManifest } from '#core/registry/rules.ts';
import type { LifecycleHook } from '#core/release/ports.ts';
import type { ReleaseRecord } from '#core/release/types.ts';
import { createScoreDeployHookHandler } from '#handlers/score-deploy-hook.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';
import { fixturePackage, steppingClock } from '../../unit/registry/fixture-package.ts';

/**
 * The score deployment's BeforeAllowTraffic hook against the real registry and release store on
 * dynalite; only CodeDeploy's status call is recorded instead of made.
 */
describe('the score deployment pre-traffic hook on dynalite', () => {
  let db: LocalDynamo;
  let registry: DynamoRegistry;
  let releases: DynamoReleaseStore;
  let tableName: string;
  const reports: Array<{ hook: LifecycleHook; status: string }> = [];
  const logs: Array<{ level: string; message: string; attrs?: Record<string, unknown> }> = [];
  const depsWith = (over: Partial<ScoreDeployHookDeps> = {}): ScoreDeployHookDeps => ({
    registry,
    releases,
    hooks: { report: async (hook, status) => void reports.push({ hook, status }) },
    logger: {
      info: (message, attrs) => void logs.push({ level: 'info', message, attrs }),
      warn: (message, attrs) => void logs.push({ level: 'warn', message, attrs }),
    },
    ...over,
  });
  const event = (n: number) => ({
    DeploymentId: `d-${n}`,
    LifecycleEventHookExecutionId: `hook-exec-${n}`,
  });

  beforeAll(async () => {
    db = await startDynalite();
    tableName = `deploy-hook-${process.pid}`;
    await ensureTables(db.endpoint, [tableName]);
    const client = documentClient(db.endpoint);
    const clock = steppingClock();
    registry = new DynamoRegistry({ client, tableName, clock });
    releases = new DynamoReleaseStore({ client, tableName, clock });
    const summary = summarizeManifest(fixturePackage().manifest);
    for (const name of ['cpu-model', 'disk-model']) {
      await registry.register({
        name,
        sha256: 'c'.repeat(64),
        summary,
        actor: 'ci',
        store: async (n) => `file:///store/${name}/${n}`,
      });
    }
  });
  afterAll(async () => db.close());

  const begin = (model: string, releaseId: string): Promise<ReleaseRecord> =>
    releases.begin({
      model,
      releaseId,
      candidateVersion: 2,
      baselineVersion: 1,
      policy: 'canary10-15m',
      phase: 'traffic',
      weight: 0.1,
      step: 0,
      startedAt: '2026-12-02T10:00:00.000Z',
      updatedAt: '2026-12-02T10:00:00.000Z',
      startedBy: 'api:k-admin',
      judgements: [],
    });

  it('lets a code deployment through when no model release holds live', async () => {
    const out = await createScoreDeployHookHandler(() => depsWith())(event(1));
    expect(out.status).toBe('Succeeded');
    expect(reports.at(-1)).toEqual({
      hook: { deploymentId: 'd-1', lifecycleEventHookExecutionId: 'hook-exec-1' },
      status: 'Succeeded',
    });
  });

  it('fails the deployment while a release of any model holds live, naming it; succeeds once it ended', async () => {
    const r = await begin('disk-model', '20261202T100000000Z-abcd1234');
    const out = await createScoreDeployHookHandler(() => depsWith())(event(2));
    expect(out.status).toBe('Failed');
    expect(out.heldBy).toEqual([{ model: 'disk-model', releaseId: r.releaseId, phase: 'traffic' }]);
    expect(reports.at(-1)).toEqual({
      hook: { deploymentId: 'd-2', lifecycleEventHookExecutionId: 'hook-exec-2' },
      status: 'Failed',
    });
    // CodeDeploy's status call has no reason field: the log carries it.
    expect(logs.at(-1)).toMatchObject({
      level: 'warn',
      attrs: { deploymentId: 'd-2', reason: expect.stringContaining(`disk-model ${r.releaseId}`) },
    });

    await releases.update('disk-model', r.releaseId, r.revision, { phase: 'rolled-back', weight: 0 });
    expect((await createScoreDeployHookHandler(() => depsWith())(event(3))).status).toBe('Succeeded');
    expect(reports.at(-1)?.status).toBe('Succeeded');
  });

  it('fails closed when the release records cannot be read', async () => {
    const missing = new DynamoReleaseStore({
      client: documentClient(db.endpoint),
      tableName: `no-such-table-${process.pid}`,
    });
    const out = await createScoreDeployHookHandler(() => depsWith({ releases: missing }))(event(4));
    expect(out.status).toBe('Failed');
    expect(out.reason).toMatch(/could not be read/);
    expect(reports.at(-1)?.status).toBe('Failed');
  });

  it('throws on an event that is not a lifecycle hook (nothing to answer), and reports nothing', async () => {
    const before = reports.length;
    await expect(createScoreDeployHookHandler(() => depsWith())({ DeploymentId: 'd-5' })).rejects.toThrow(
      /lifecycle hook/,
    );
    expect(reports).toHaveLength(before);
  });

  it('propagates a failed status call, so Lambda retries the invocation', async () => {
    const failing = depsWith({
      hooks: {
        report: async () => {
          throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
        },
      },
    });
    await expect(createScoreDeployHookHandler(() => failing)(event(6))).rejects.toThrow(/throttled/);
  });
});
