import {
  DeleteFunctionCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { LambdaScoreFunctionVersions, type LambdaSend } from '#adapters/lambda-versions.ts';
import { ENV } from '#contracts';
import { ConflictError, type VigilError } from '#core/errors.ts';

/**
 * A small simulation of the Lambda API's guard semantics (RevisionId preconditions, updates in
 * progress, CodeSha256 on publish), so the adapter's guard logic is tested against behaviour, not
 * against recorded calls. `on` lets a test make "a deploy" land right before a given call.
 */
class FakeLambda implements LambdaSend {
  latest = {
    env: { [ENV.REGISTRY_TABLE]: 'reg', LOG: 'info' } as Record<string, string>,
    code: 'sha-blue',
    rev: 1,
  };
  /** Polls that still report InProgress after an update. */
  pendingPolls = 0;
  inProgressAfterUpdate = 0;
  versions = new Map<string, { env: Record<string, string>; code: string }>([
    ['1', { env: { [ENV.REGISTRY_TABLE]: 'reg', LOG: 'info' }, code: 'sha-blue' }],
  ]);
  next = 2;
  alias = { primary: '1', weights: {} as Record<string, number>, rev: 100 };
  calls: string[] = [];
  on: Partial<Record<string, () => void>> = {};

  deploy(code = 'sha-deploy', env: Record<string, string> = { [ENV.REGISTRY_TABLE]: 'reg', LOG: 'debug' }) {
    this.latest = { env, code, rev: this.latest.rev + 1 };
  }

  // biome-ignore lint/suspicious/noExplicitAny: one dispatcher for every command type of the client
  send = (async (command: any) => {
    const name = command.constructor.name as string;
    this.calls.push(name);
    const hook = this.on[name];
    if (hook) {
      delete this.on[name];
      hook();
    }
    const input = command.input;
    const fail = (n: string) => Object.assign(new Error(n), { name: n });
    if (command instanceof GetFunctionConfigurationCommand) {
      if (input.Qualifier && input.Qualifier !== '$LATEST') {
        const v = this.versions.get(input.Qualifier);
        if (!v) throw fail('ResourceNotFoundException');
        return { Version: input.Qualifier, CodeSha256: v.code, Environment: { Variables: { ...v.env } } };
      }
      const status = this.pendingPolls > 0 ? 'InProgress' : 'Successful';
      if (this.pendingPolls > 0) this.pendingPolls--;
      return {
        Version: '$LATEST',
        CodeSha256: this.latest.code,
        RevisionId: `r${this.latest.rev}`,
        LastUpdateStatus: status,
        Environment: { Variables: { ...this.latest.env } },
      };
    }
    if (command instanceof UpdateFunctionConfigurationCommand) {
      if (this.pendingPolls > 0) throw fail('ResourceConflictException');
      if (input.RevisionId !== `r${this.latest.rev}`) throw fail('PreconditionFailedException');
      this.latest = { ...this.latest, env: { ...input.Environment.Variables }, rev: this.latest.rev + 1 };
      this.pendingPolls = this.inProgressAfterUpdate;
      return { RevisionId: `r${this.latest.rev}` };
    }
    if (command instanceof PublishVersionCommand) {
      if (this.pendingPolls > 0) throw fail('ResourceConflictException');
      if (input.RevisionId !== `r${this.latest.rev}`) throw fail('PreconditionFailedException');
      if (input.CodeSha256 !== this.latest.code) throw fail('InvalidParameterValueException');
      const v = String(this.next++);
      this.versions.set(v, { env: { ...this.latest.env }, code: this.latest.code });
      // Publishing changes the function's revision id, as Lambda does.
      this.latest = { ...this.latest, rev: this.latest.rev + 1 };
      return { Version: v, CodeSha256: this.latest.code };
    }
    if (command instanceof GetAliasCommand) {
      return {
        FunctionVersion: this.alias.primary,
        RoutingConfig: { AdditionalVersionWeights: { ...this.alias.weights } },
        RevisionId: `a${this.alias.rev}`,
      };
    }
    if (command instanceof UpdateAliasCommand) {
      if (input.RevisionId !== `a${this.alias.rev}`) throw fail('PreconditionFailedException');
      this.alias = {
        primary: input.FunctionVersion,
        weights: { ...(input.RoutingConfig?.AdditionalVersionWeights ?? {}) },
        rev: this.alias.rev + 1,
      };
      return {
        FunctionVersion: this.alias.primary,
        RoutingConfig: { AdditionalVersionWeights: { ...this.alias.weights } },
        RevisionId: `a${this.alias.rev}`,
      };
    }
    if (command instanceof DeleteFunctionCommand) {
      if (!this.versions.delete(input.Qualifier)) throw fail('ResourceNotFoundException');
      return {};
    }
    throw new Error(`unexpected command ${name}`);
  }) as LambdaSend['send'];
}

const setup = (fake = new FakeLambda()) => ({
  fake,
  versions: new LambdaScoreFunctionVersions({
    client: fake,
    functionName: 'score',
    sleep: async () => {},
    pollMs: 0,
  }),
});

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail');
}

describe('LambdaScoreFunctionVersions.publishPinned', () => {
  it('publishes blue’s code with MODEL_VERSION pinned and leaves $LATEST’s environment as it was', async () => {
    const { fake, versions } = setup();
    const before = { ...fake.latest.env };
    const green = await versions.publishPinned({ modelVersion: 7, codeSha256: 'sha-blue' });
    expect(green).toEqual({ functionVersion: '2', modelVersion: 7 });
    expect(fake.versions.get('2')).toEqual({
      env: { ...before, [ENV.MODEL_VERSION]: '7' },
      code: 'sha-blue',
    });
    expect(fake.latest.env).toEqual(before);
    expect(fake.latest.env[ENV.MODEL_VERSION]).toBeUndefined();
  });

  it('waits out an update in progress before publishing (Lambda refuses a publish during one)', async () => {
    const fake = new FakeLambda();
    fake.inProgressAfterUpdate = 3;
    const { versions } = setup(fake);
    await versions.publishPinned({ modelVersion: 2, codeSha256: 'sha-blue' });
    expect(fake.versions.get('2')?.env[ENV.MODEL_VERSION]).toBe('2');
    expect(fake.latest.env[ENV.MODEL_VERSION]).toBeUndefined();
  });

  it('refuses when $LATEST already runs other code than blue, changing nothing', async () => {
    const { fake, versions } = setup();
    fake.deploy('sha-new');
    const snapshot = structuredClone(fake.latest);
    const e = await errorOf(versions.publishPinned({ modelVersion: 2, codeSha256: 'sha-blue' }));
    expect(e).toBeInstanceOf(ConflictError);
    expect(fake.latest).toEqual(snapshot);
    expect(fake.versions.size).toBe(1);
  });

  it('refuses, publishes nothing and keeps a deploy that lands right before its pin', async () => {
    const { fake, versions } = setup();
    fake.on.UpdateFunctionConfigurationCommand = () => fake.deploy();
    const e = await errorOf(versions.publishPinned({ modelVersion: 2, codeSha256: 'sha-blue' }));
    expect(e).toBeInstanceOf(ConflictError);
    expect(fake.versions.size).toBe(1);
    expect(fake.latest.code).toBe('sha-deploy');
    expect(fake.latest.env.LOG).toBe('debug');
  });

  it('does not publish a deploy’s code as green when the deploy lands between the pin and the publish', async () => {
    const { fake, versions } = setup();
    let pinned = false;
    fake.on.UpdateFunctionConfigurationCommand = () => {
      pinned = true;
    };
    // The deploy lands on the first read after the pin.
    const original = fake.send;
    fake.send = (async (c: unknown) => {
      if (pinned && c instanceof GetFunctionConfigurationCommand) {
        pinned = false;
        const r = await original(c as never);
        fake.deploy('sha-deploy', { ...fake.latest.env, [ENV.MODEL_VERSION]: '2' });
        return r;
      }
      return original(c as never);
    }) as LambdaSend['send'];
    const e = await errorOf(versions.publishPinned({ modelVersion: 2, codeSha256: 'sha-blue' }));
    expect(e).toBeInstanceOf(ConflictError);
    expect([...fake.versions.values()].some((v) => v.code === 'sha-deploy')).toBe(false);
  });

  it('does not publish a configuration-only deploy that lands right after its pin', async () => {
    const { fake, versions } = setup();
    const deployed = { [ENV.REGISTRY_TABLE]: 'reg', LOG: 'debug' };
    const original = fake.send;
    let pinned = false;
    fake.send = (async (c: unknown) => {
      const r = await original(c as never);
      if (c instanceof UpdateFunctionConfigurationCommand && !pinned) {
        pinned = true;
        fake.deploy('sha-blue', deployed);
      }
      return r;
    }) as LambdaSend['send'];
    const e = await errorOf(versions.publishPinned({ modelVersion: 2, codeSha256: 'sha-blue' }));
    expect(e).toBeInstanceOf(ConflictError);
    expect(fake.versions.size).toBe(1);
    expect(fake.latest.env).toEqual(deployed);
  });

  it('never overwrites a deploy that lands between the publish and the restore', async () => {
    const { fake, versions } = setup();
    const deployed = { [ENV.REGISTRY_TABLE]: 'reg', LOG: 'warn' };
    const original = fake.send;
    let published = false;
    fake.send = (async (c: unknown) => {
      const r = await original(c as never);
      if (c instanceof PublishVersionCommand && !published) {
        published = true;
        fake.deploy('sha-deploy', deployed);
      }
      return r;
    }) as LambdaSend['send'];
    const green = await versions.publishPinned({ modelVersion: 3, codeSha256: 'sha-blue' });
    expect(fake.versions.get(green.functionVersion)?.code).toBe('sha-blue');
    expect(fake.latest).toMatchObject({ code: 'sha-deploy', env: deployed });
  });

  it('restores $LATEST even when the publish itself fails', async () => {
    const { fake, versions } = setup();
    const before = { ...fake.latest.env };
    const original = fake.send;
    fake.send = (async (c: unknown) => {
      if (c instanceof PublishVersionCommand)
        throw Object.assign(new Error('boom'), { name: 'ServiceException' });
      return original(c as never);
    }) as LambdaSend['send'];
    const e = await errorOf(versions.publishPinned({ modelVersion: 3, codeSha256: 'sha-blue' }));
    expect(e.message).toBe('boom');
    expect(fake.latest.env).toEqual(before);
  });

  it('rejects a model version that is not a positive integer', async () => {
    const { versions } = setup();
    const e = await errorOf(versions.publishPinned({ modelVersion: 0, codeSha256: 'sha-blue' }));
    expect((e as VigilError).status).toBe(400);
  });
});

describe('LambdaScoreFunctionVersions.route / live / retire', () => {
  it('routes a weight to green beside blue, then removes it at weight 0', async () => {
    const { fake, versions } = setup();
    const green = await versions.publishPinned({ modelVersion: 2, codeSha256: 'sha-blue' });
    const r1 = await versions.route(green.functionVersion, 0.1);
    expect(r1).toMatchObject({ primaryVersion: '1', codeSha256: 'sha-blue', weights: { '2': 0.1 } });
    expect(fake.alias.weights).toEqual({ '2': 0.1 });
    const live = await versions.live();
    expect(live).toEqual(r1);
    await versions.route('2', 0, r1.revisionId);
    expect(fake.alias).toMatchObject({ primary: '1', weights: {} });
  });

  it('refuses a stale expected revision and an alias that moves between its read and its update', async () => {
    const { fake, versions } = setup();
    await versions.publishPinned({ modelVersion: 2, codeSha256: 'sha-blue' });
    const stale = (await versions.live()).revisionId;
    await versions.route('2', 0.1);
    expect(await errorOf(versions.route('2', 0.5, stale))).toBeInstanceOf(ConflictError);
    fake.on.UpdateAliasCommand = () => {
      fake.alias = { ...fake.alias, rev: fake.alias.rev + 1 };
    };
    expect(await errorOf(versions.route('2', 0.5))).toBeInstanceOf(ConflictError);
    expect(fake.alias.weights).toEqual({ '2': 0.1 });
  });

  it('refuses weights outside [0, 1) and the primary version', async () => {
    const { versions } = setup();
    expect(((await errorOf(versions.route('2', 1))) as VigilError).status).toBe(400);
    expect(((await errorOf(versions.route('2', -0.1))) as VigilError).status).toBe(400);
    expect(((await errorOf(versions.route('$LATEST', 0.1))) as VigilError).status).toBe(400);
    expect(await errorOf(versions.route('1', 0.1))).toBeInstanceOf(ConflictError);
  });

  it('retires a pinned version only once no weight routes to it, and never an unpinned one', async () => {
    const { fake, versions } = setup();
    await versions.publishPinned({ modelVersion: 2, codeSha256: 'sha-blue' });
    await versions.route('2', 0.1);
    expect(await errorOf(versions.retire('2'))).toBeInstanceOf(ConflictError);
    expect(fake.versions.has('2')).toBe(true);
    await versions.route('2', 0);
    await versions.retire('2');
    expect(fake.versions.has('2')).toBe(false);
    await versions.retire('2'); // idempotent
    fake.versions.set('5', { env: { LOG: 'info' }, code: 'sha-blue' });
    expect(await errorOf(versions.retire('5'))).toBeInstanceOf(ConflictError);
    expect(await errorOf(versions.retire('1'))).toBeInstanceOf(ConflictError);
    expect(fake.versions.has('5') && fake.versions.has('1')).toBe(true);
  });
});
