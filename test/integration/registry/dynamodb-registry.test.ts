import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import * as uc from '#app/models.ts';
import { ConflictError, VigilError } from '#core/errors.ts';
import { summarizeManifest } from '#core/registry/rules.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import type { LocalDynamo } from '../../../local/dynalite.ts';
import { fixturePackage, steppingClock } from '../../unit/registry/fixture-package.ts';
import { freshRegistry, startDynalite } from './harness.ts';

const actor = 'alice';
const summary = summarizeManifest(fixturePackage().manifest);

async function register(registry: ModelRegistry, name = 'cpu-model', reason?: string) {
  return registry.register({
    name,
    sha256: 'a'.repeat(64),
    summary,
    actor,
    reason,
    store: async (version) => `file:///store/${name}/${version}`,
  });
}

/** Registers `n` versions and approves them all. */
async function approvedVersions(registry: ModelRegistry, n: number, name = 'cpu-model') {
  for (let i = 0; i < n; i++) {
    const v = await register(registry, name);
    await registry.approve(name, v.version, { actor: 'bob', reason: 'looks good' });
  }
}

async function errorOf(p: Promise<unknown>): Promise<VigilError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VigilError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('Registry use cases on the DynamoDB registry (dynalite)', () => {
  let db: LocalDynamo;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => db.close());

  describe('register', () => {
    it('numbers versions 1, 2, 3 per model, pending approval, with the URI returned by the store', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      const a = await register(registry, 'cpu-model');
      const b = await register(registry, 'cpu-model');
      const other = await register(registry, 'mem-model');
      const c = await register(registry, 'cpu-model');
      expect([a.version, b.version, c.version]).toEqual([1, 2, 3]);
      expect(other.version).toBe(1);
      expect(c.approval).toBe('PendingManualApproval');
      expect(c.artifactUri).toBe('file:///store/cpu-model/3');
      expect((await registry.listVersions('cpu-model')).map((v) => v.version)).toEqual([1, 2, 3]);
      expect(await registry.getVersion('cpu-model', 2)).toEqual(b);
    });

    it('gives concurrent registrations distinct consecutive numbers', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      const out = await Promise.all(Array.from({ length: 12 }, () => register(registry)));
      expect(out.map((v) => v.version).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
    });

    it('writes no version when the package upload fails; the number is burnt, never reused', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      const failing = registry.register({
        name: 'cpu-model',
        sha256: 'a'.repeat(64),
        summary,
        actor,
        store: async () => {
          throw new Error('disk full');
        },
      });
      await expect(failing).rejects.toThrow('disk full');
      expect(await registry.listVersions('cpu-model')).toEqual([]);
      expect((await register(registry)).version).toBe(2);
      expect((await registry.history('cpu-model')).map((e) => [e.type, e.version])).toEqual([
        ['registered', 2],
      ]);
    });

    it('refuses an invalid model name before allocating a version', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      const err = await errorOf(register(registry, 'Bad Name'));
      expect(err.code).toBe('BadRequest');
      expect(await registry.listModels()).toEqual([]);
    });
  });

  describe('approval', () => {
    it('approves a pending version and records who and why', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await register(registry);
      const v = await registry.approve('cpu-model', 1, { actor: 'bob', reason: 'auc ok' });
      expect(v.approval).toBe('Approved');
      expect(v.decidedBy).toBe('bob');
      expect((await registry.getVersion('cpu-model', 1)).approval).toBe('Approved');
    });

    it('refuses to change a decision: approve twice, or reject after approve', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await register(registry);
      await registry.approve('cpu-model', 1, { actor: 'bob' });
      const again = await errorOf(registry.approve('cpu-model', 1, { actor: 'bob' }));
      expect(again).toBeInstanceOf(ConflictError);
      expect(again.message).toMatch(/already Approved/);
      const rej = await errorOf(registry.reject('cpu-model', 1, { actor: 'carol' }));
      expect(rej.code).toBe('Conflict');
      expect((await registry.getVersion('cpu-model', 1)).approval).toBe('Approved');
    });

    it('rejects a pending version; approving it afterwards fails', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await register(registry);
      expect((await registry.reject('cpu-model', 1, { actor: 'bob', reason: 'bad auc' })).approval).toBe(
        'Rejected',
      );
      expect((await errorOf(registry.approve('cpu-model', 1, { actor: 'bob' }))).code).toBe('Conflict');
    });

    it('lets exactly one of a concurrent approve and reject win', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await register(registry);
      const [a, r] = await Promise.allSettled([
        registry.approve('cpu-model', 1, { actor: 'bob' }),
        registry.reject('cpu-model', 1, { actor: 'carol' }),
      ]);
      const winners = [a, r].filter((o) => o.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      const loser = [a, r].find((o) => o.status === 'rejected');
      expect(loser?.status === 'rejected' && loser.reason).toBeInstanceOf(ConflictError);
      const decided = (await registry.history('cpu-model')).filter((e) => e.type !== 'registered');
      expect(decided).toHaveLength(1);
      expect(decided[0].type).toBe((await registry.getVersion('cpu-model', 1)).approval.toLowerCase());
    });

    it('answers unknown models and versions with 404 errors', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await register(registry);
      expect((await errorOf(registry.approve('nope', 1, { actor }))).code).toBe('ModelNotFound');
      const missing = await errorOf(registry.approve('cpu-model', 7, { actor }));
      expect(missing.code).toBe('VersionNotFound');
      expect(missing.status).toBe(404);
    });
  });

  describe('aliases', () => {
    it('promotes an approved version to production and records the move', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 2);
      const first = await uc.setAlias({ registry }, 'cpu-model', 'production', 1, {
        actor,
        reason: 'launch',
      });
      expect(first).toMatchObject({ changed: true, state: { version: 1, revision: 1 } });
      expect(first.event).toMatchObject({
        type: 'alias-set',
        alias: 'production',
        to: 1,
        actor,
        reason: 'launch',
      });
      expect(first.event?.from).toBeUndefined();
      const second = await uc.setAlias({ registry }, 'cpu-model', 'production', 2, { actor });
      expect(second.state).toMatchObject({ version: 2, revision: 2 });
      expect(second.event).toMatchObject({ from: 1, to: 2 });
    });

    it('refuses to promote a pending version to production with a NotApproved error', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await register(registry);
      const err = await errorOf(uc.setAlias({ registry }, 'cpu-model', 'production', 1, { actor }));
      expect(err.code).toBe('NotApproved');
      expect(err.message).toMatch(
        /PendingManualApproval; only Approved versions can take alias 'production'/,
      );
      expect(await registry.listAliases('cpu-model')).toEqual([]);
    });

    it('lets a pending version take a non-protected alias such as staging', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await register(registry);
      const move = await uc.setAlias({ registry }, 'cpu-model', 'staging', 1, { actor });
      expect(move.state).toMatchObject({ alias: 'staging', version: 1 });
    });

    it('refuses a rejected version on any alias', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await register(registry);
      await registry.reject('cpu-model', 1, { actor });
      expect((await errorOf(uc.setAlias({ registry }, 'cpu-model', 'staging', 1, { actor }))).code).toBe(
        'NotApproved',
      );
    });

    it('refuses unknown versions and models, and invalid alias names', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 1);
      expect((await errorOf(uc.setAlias({ registry }, 'cpu-model', 'production', 9, { actor }))).code).toBe(
        'VersionNotFound',
      );
      expect((await errorOf(uc.setAlias({ registry }, 'ghost', 'production', 1, { actor }))).code).toBe(
        'ModelNotFound',
      );
      expect((await errorOf(uc.setAlias({ registry }, 'cpu-model', 'Prod#1', 1, { actor }))).code).toBe(
        'BadRequest',
      );
    });

    it('treats pointing an alias at the version it already has as a no-op without an event', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 1);
      await uc.setAlias({ registry }, 'cpu-model', 'production', 1, { actor });
      const again = await uc.setAlias({ registry }, 'cpu-model', 'production', 1, { actor });
      expect(again).toMatchObject({ changed: false, state: { revision: 1 } });
      expect((await registry.history('cpu-model')).filter((e) => e.type === 'alias-set')).toHaveLength(1);
    });

    it('honours expectedRevision as compare-and-set', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 2);
      await uc.setAlias({ registry }, 'cpu-model', 'production', 1, { actor, expectedRevision: 0 });
      const stale = await errorOf(
        uc.setAlias({ registry }, 'cpu-model', 'production', 2, { actor, expectedRevision: 0 }),
      );
      expect(stale).toBeInstanceOf(ConflictError);
      const ok = await uc.setAlias({ registry }, 'cpu-model', 'production', 2, {
        actor,
        expectedRevision: 1,
      });
      expect(ok.state.revision).toBe(2);
    });
  });

  describe('rollback', () => {
    it('undoes the last move, and a second rollback undoes the first (a rollback is a move)', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 3);
      for (const v of [1, 2, 3]) await uc.setAlias({ registry }, 'cpu-model', 'production', v, { actor });
      const r1 = await uc.rollback({ registry }, 'cpu-model', 'production', { actor, reason: 'alarm' });
      expect(r1.state).toMatchObject({ version: 2, revision: 4 });
      expect(r1.event).toMatchObject({ type: 'rolled-back', from: 3, to: 2, reason: 'alarm', revision: 4 });
      const r2 = await uc.rollback({ registry }, 'cpu-model', 'production', { actor, reason: 'false alarm' });
      expect(r2.state).toMatchObject({ version: 3, revision: 5 });
      expect(r2.event).toMatchObject({ type: 'rolled-back', from: 2, to: 3 });
    });

    it('refuses to undo the move that created the alias (that would unset it)', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 1);
      await uc.setAlias({ registry }, 'cpu-model', 'production', 1, { actor });
      const none = await errorOf(
        uc.rollback({ registry }, 'cpu-model', 'production', { actor, reason: 'x' }),
      );
      expect(none.code).toBe('BadRequest');
      expect(none.message).toMatch(/created it; undoing it would unset the alias/);
    });

    it('rolls back to an explicit Approved version the alias served and refuses others', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 4);
      for (const v of [1, 3, 4]) await uc.setAlias({ registry }, 'cpu-model', 'production', v, { actor });
      const never = await errorOf(
        uc.rollback({ registry }, 'cpu-model', 'production', { actor, reason: 'r', to: 2 }),
      );
      expect(never.message).toMatch(/this alias never served it \(eligible: 1, 3\)/);
      const current = await errorOf(
        uc.rollback({ registry }, 'cpu-model', 'production', { actor, reason: 'r', to: 4 }),
      );
      expect(current.message).toMatch(/it is the current version/);
      const ok = await uc.rollback({ registry }, 'cpu-model', 'production', { actor, reason: 'r', to: 1 });
      expect(ok.state).toMatchObject({ version: 1, revision: 4 });
    });

    it('refuses --to a version that is not Approved, even on an unprotected alias', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await register(registry);
      await register(registry);
      await uc.setAlias({ registry }, 'cpu-model', 'staging', 1, { actor });
      await uc.setAlias({ registry }, 'cpu-model', 'staging', 2, { actor });
      const err = await errorOf(
        uc.rollback({ registry }, 'cpu-model', 'staging', { actor, reason: 'r', to: 1 }),
      );
      expect(err.code).toBe('NotApproved');
      expect(err.message).toMatch(/rollback --to needs an Approved version/);
    });

    it('needs a reason, and fails clearly when the alias was never set', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 1);
      const noReason = await errorOf(uc.rollback({ registry }, 'cpu-model', 'production', { actor }));
      expect(noReason.message).toMatch(/A reason is required/);
      const err = await errorOf(uc.rollback({ registry }, 'cpu-model', 'production', { actor, reason: 'r' }));
      expect(err.code).toBe('NotFound');
      expect(err.message).toMatch(/no 'production' alias set/);
    });

    it('honours expectedRevision and answers a stale one with a 409 naming the current revision', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 2);
      await uc.setAlias({ registry }, 'cpu-model', 'production', 1, { actor });
      await uc.setAlias({ registry }, 'cpu-model', 'production', 2, { actor });
      const stale = await errorOf(
        uc.rollback({ registry }, 'cpu-model', 'production', { actor, reason: 'r', expectedRevision: 1 }),
      );
      expect(stale.status).toBe(409);
      expect(stale.details).toMatchObject({ expectedRevision: 1, currentRevision: 2 });
    });
  });

  describe('delete alias', () => {
    it('deletes an alias, keeps its revision counting, and a rollback restores it', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 2);
      await uc.setAlias({ registry }, 'cpu-model', 'production', 1, { actor });
      await uc.setAlias({ registry }, 'cpu-model', 'production', 2, { actor });
      const del = await uc.deleteAlias({ registry }, 'cpu-model', 'production', {
        actor,
        reason: 'retire',
        expectedRevision: 2,
      });
      expect(del.event).toMatchObject({ type: 'alias-deleted', from: 2, revision: 3, reason: 'retire' });
      expect(del.event?.to).toBeUndefined();
      expect(await registry.listAliases('cpu-model')).toEqual([]);
      expect((await errorOf(registry.resolve('cpu-model', {}))).code).toBe('NotFound');
      expect((await errorOf(uc.deleteAlias({ registry }, 'cpu-model', 'production', { actor }))).code).toBe(
        'NotFound',
      );
      const back = await uc.rollback({ registry }, 'cpu-model', 'production', { actor, reason: 'oops' });
      expect(back.state).toMatchObject({ version: 2, revision: 4 });
      expect(back.event).toMatchObject({ type: 'rolled-back', to: 2 });
      expect(back.event?.from).toBeUndefined();
      expect((await registry.resolve('cpu-model', {})).version).toBe(2);
      const ids = (await registry.history('cpu-model')).map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
    });
  });

  describe('history', () => {
    it('records every change, in order, with who, why and from → to', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await register(registry, 'cpu-model', 'initial');
      await register(registry);
      await registry.approve('cpu-model', 1, { actor: 'bob', reason: 'ok' });
      await registry.reject('cpu-model', 2, { actor: 'bob', reason: 'worse' });
      await uc.setAlias({ registry }, 'cpu-model', 'production', 1, { actor: 'carol', reason: 'go live' });
      await register(registry);
      await registry.approve('cpu-model', 3, { actor: 'bob' });
      await uc.setAlias({ registry }, 'cpu-model', 'production', 3, { actor: 'carol' });
      await uc.rollback({ registry }, 'cpu-model', 'production', { actor: 'dave', reason: 'p99 alarm' });
      const h = await registry.history('cpu-model');
      expect(h.map((e) => [e.type, e.version ?? null, e.from ?? null, e.to ?? null, e.actor])).toEqual([
        ['registered', 1, null, null, actor],
        ['registered', 2, null, null, actor],
        ['approved', 1, null, null, 'bob'],
        ['rejected', 2, null, null, 'bob'],
        ['alias-set', null, null, 1, 'carol'],
        ['registered', 3, null, null, actor],
        ['approved', 3, null, null, 'bob'],
        ['alias-set', null, 1, 3, 'carol'],
        ['rolled-back', null, 3, 1, 'dave'],
      ]);
      expect(h[0].reason).toBe('initial');
      expect(h.at(-1)?.reason).toBe('p99 alarm');
      expect(new Set(h.map((e) => e.id)).size).toBe(h.length);
    });

    it('answers which version served production at a given time', async () => {
      const clock = steppingClock();
      const { registry } = await freshRegistry(db, clock);
      await approvedVersions(registry, 3);
      const before = clock.now();
      await uc.setAlias({ registry }, 'cpu-model', 'production', 1, { actor });
      const t1 = clock.last();
      await uc.setAlias({ registry }, 'cpu-model', 'production', 3, { actor });
      const t3 = clock.last();
      const between = clock.now();
      await uc.rollback({ registry }, 'cpu-model', 'production', { actor, reason: 'undo' });
      const after = clock.now();
      expect(await uc.versionAt({ registry }, 'cpu-model', 'production', before)).toBeUndefined();
      expect(await uc.versionAt({ registry }, 'cpu-model', 'production', t1)).toBe(1);
      expect(await uc.versionAt({ registry }, 'cpu-model', 'production', t3)).toBe(3);
      expect(await uc.versionAt({ registry }, 'cpu-model', 'production', between)).toBe(3);
      expect(await uc.versionAt({ registry }, 'cpu-model', 'production', after)).toBe(1);
      expect(await uc.versionAt({ registry }, 'cpu-model', 'staging', after)).toBeUndefined();
    });

    it('keeps exactly one event per alias move when an event write fails after the move', async () => {
      const clock = steppingClock();
      const { client, tableName } = await freshRegistry(db, clock);
      let dropped = 0;
      // Fault injection on the wire, not a fake DynamoDB: the first alias event put is lost.
      const lossy = Object.create(client) as DynamoDBDocumentClient;
      lossy.send = (async (cmd: unknown) => {
        const item = cmd instanceof PutCommand ? cmd.input.Item : undefined;
        if (dropped === 0 && typeof item?.SK === 'string' && item.SK.includes('#alias#')) {
          dropped++;
          throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
        }
        return client.send(cmd as PutCommand);
      }) as DynamoDBDocumentClient['send'];
      const warnings: string[] = [];
      const registry = new DynamoRegistry({
        client: lossy,
        tableName,
        clock,
        onWarning: (m) => warnings.push(m),
      });
      await approvedVersions(registry, 2);
      const move = await uc.setAlias({ registry }, 'cpu-model', 'production', 1, { actor });
      expect(move.changed).toBe(true);
      expect(dropped).toBe(1);
      expect(warnings).toHaveLength(1);
      const storedEvents = async () =>
        (
          await client.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: 'PK = :pk AND begins_with(SK, :e)',
              ExpressionAttributeValues: { ':pk': 'MODEL#cpu-model', ':e': 'EVENT#' },
            }),
          )
        ).Items ?? [];
      expect((await storedEvents()).filter((i) => i.alias === 'production')).toHaveLength(0);
      // Derived from the alias item meanwhile...
      expect((await registry.history('cpu-model')).filter((e) => e.alias === 'production')).toHaveLength(1);
      // ...and materialised by the next move.
      await uc.setAlias({ registry }, 'cpu-model', 'production', 2, { actor });
      const stored = (await storedEvents()).filter((i) => i.alias === 'production');
      expect(stored.map((i) => i.revision).sort()).toEqual([1, 2]);
      expect((await registry.history('cpu-model')).filter((e) => e.alias === 'production')).toHaveLength(2);
    });
  });

  describe('resolve', () => {
    it('serves the production alias by default, another alias on request, and an explicit version over both', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 3);
      await uc.setAlias({ registry }, 'cpu-model', 'production', 2, { actor });
      await uc.setAlias({ registry }, 'cpu-model', 'staging', 3, { actor });
      expect(await registry.resolve('cpu-model', {})).toEqual({
        name: 'cpu-model',
        version: 2,
        artifactUri: 'file:///store/cpu-model/2',
        sha256: 'a'.repeat(64),
        approval: 'Approved',
        // What the model cache checks a fetched package against.
        summary: { algorithm: summary.algorithm, features: summary.features, threshold: summary.threshold },
      });
      expect((await registry.resolve('cpu-model', { alias: 'staging' })).version).toBe(3);
      expect((await registry.resolve('cpu-model', { version: 1, alias: 'staging' })).version).toBe(1);
    });

    it('fails with 404s for an unknown model, an unknown version and an unset alias', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 1);
      expect((await errorOf(registry.resolve('ghost', {}))).code).toBe('ModelNotFound');
      expect((await errorOf(registry.resolve('cpu-model', { version: 5 }))).code).toBe('VersionNotFound');
      const unset = await errorOf(registry.resolve('cpu-model', {}));
      expect(unset.code).toBe('NotFound');
      expect(unset.status).toBe(404);
      expect(unset.message).toBe("Model 'cpu-model' has no 'production' alias set");
    });
  });

  describe('listModels', () => {
    it('lists models with their latest version and aliases', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 2, 'b-model');
      await register(registry, 'a-model');
      await uc.setAlias({ registry }, 'b-model', 'production', 2, { actor });
      const models = await registry.listModels();
      expect(models.map((m) => [m.name, m.latestVersion, m.aliases])).toEqual([
        ['a-model', 1, {}],
        ['b-model', 2, { production: 2 }],
      ]);
    });
  });

  describe('concurrency', () => {
    it('20 concurrent promotions: each succeeds or conflicts, last success wins, one event per success, nothing else changes', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 21);
      await uc.setAlias({ registry }, 'cpu-model', 'production', 1, { actor });
      await uc.setAlias({ registry }, 'cpu-model', 'staging', 1, { actor });
      const versionsBefore = await registry.listVersions('cpu-model');
      const historyBefore = await registry.history('cpu-model');

      const targets = Array.from({ length: 20 }, (_, i) => i + 2);
      const outcomes = await Promise.allSettled(
        targets.map((v) => uc.setAlias({ registry }, 'cpu-model', 'production', v, { actor: `w${v}` })),
      );
      const wins: { version: number; revision: number }[] = [];
      for (const o of outcomes) {
        if (o.status === 'fulfilled') {
          expect(o.value.changed).toBe(true);
          wins.push({ version: o.value.state.version, revision: o.value.state.revision });
        } else {
          expect(o.reason).toBeInstanceOf(ConflictError);
        }
      }
      expect(wins.length).toBeGreaterThanOrEqual(1);
      // Successful writes form one unbroken chain of revisions: no lost update.
      wins.sort((a, b) => a.revision - b.revision);
      expect(wins.map((w) => w.revision)).toEqual(wins.map((_, i) => i + 2));
      const final = (await registry.listAliases('cpu-model')).find((a) => a.alias === 'production');
      expect(final).toMatchObject({ version: wins.at(-1)?.version, revision: wins.length + 1 });

      const history = await registry.history('cpu-model');
      const newEvents = history.filter((e) => !historyBefore.some((b) => b.id === e.id));
      expect(newEvents.map((e) => [e.type, e.alias, e.revision, e.to])).toEqual(
        wins.map((w) => ['alias-set', 'production', w.revision, w.version]),
      );
      let prev = 1;
      for (const e of newEvents) {
        expect(e.from).toBe(prev);
        prev = e.to ?? -1;
      }
      expect(await registry.listVersions('cpu-model')).toEqual(versionsBefore);
      expect((await registry.listAliases('cpu-model')).find((a) => a.alias === 'staging')).toMatchObject({
        version: 1,
        revision: 1,
      });
    });

    it('20 concurrent promotions that retry on conflict all land, one revision each', async () => {
      const { registry } = await freshRegistry(db, steppingClock());
      await approvedVersions(registry, 20);
      const promote = async (v: number): Promise<number> => {
        for (;;) {
          try {
            return (await uc.setAlias({ registry }, 'cpu-model', 'production', v, { actor })).state.revision;
          } catch (e) {
            if (!(e instanceof ConflictError)) throw e;
          }
        }
      };
      const revisions = await Promise.all(Array.from({ length: 20 }, (_, i) => promote(i + 1)));
      expect([...revisions].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const moves = (await registry.history('cpu-model')).filter((e) => e.type === 'alias-set');
      expect(moves).toHaveLength(20);
      const last = moves.reduce((a, b) => ((a.revision ?? 0) > (b.revision ?? 0) ? a : b));
      expect((await registry.resolve('cpu-model', {})).version).toBe(last.to);
    });
  });
});
