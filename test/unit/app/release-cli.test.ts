import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parseReleaseSettings } from '#core/release/policy.ts';
import type { ReleaseExecutionInput } from '#core/release/starter.ts';
import { createReleasesHandler } from '#handlers/releases.ts';
import { releaseCli } from '../../../bin/commands/release-cli.ts';
import { FakeRegistry, MemoryReleaseStore } from '../../helpers/release-fakes.ts';

const context = { awsRequestId: 'req-1' } as Context;

/** `fetch` answered by the releases handler itself, as API Gateway would pass the request on (admin caller). */
function apiFetch() {
  const started: ReleaseExecutionInput[] = [];
  const releases = new MemoryReleaseStore();
  const registry = new FakeRegistry({ 1: 'Approved', 2: 'Approved' });
  registry.aliases.set('cpu/production', {
    name: 'cpu',
    alias: 'production',
    version: 1,
    revision: 1,
    updatedAt: '',
  });
  const call = createReleasesHandler({
    releases,
    registry,
    codeDeployments: { running: async () => [] },
    settings: parseReleaseSettings({}),
    executions: {
      start: async (input) => {
        started.push(input);
        return { executionArn: `arn:exec:${started.length}` };
      },
    },
  });
  const doFetch: typeof fetch = async (url, init) => {
    const u = new URL(String(url));
    const event = {
      version: '2.0',
      routeKey: '$default',
      rawPath: u.pathname,
      rawQueryString: u.search.slice(1),
      queryStringParameters: Object.fromEntries(u.searchParams),
      headers: { 'content-type': 'application/json' },
      isBase64Encoded: false,
      ...(init?.body ? { body: String(init.body) } : {}),
      requestContext: {
        http: { method: init?.method ?? 'GET', path: u.pathname },
        requestId: 'r',
        authorizer: { lambda: { keyId: 'k-admin', scope: 'admin' } },
      },
    } as unknown as APIGatewayProxyEventV2;
    const res = await call(event, context);
    return new Response(res.body ?? '', { status: res.statusCode ?? 200 });
  };
  return { doFetch, releases, started };
}

describe('vigil release', () => {
  it('starts a release and watches it until it ends', async () => {
    const { doFetch, releases } = apiFetch();
    const out: string[] = [];
    const io = { fetch: doFetch, out: (t: string) => void out.push(t), err: (t: string) => void out.push(t) };
    expect(
      await releaseCli(['start', 'cpu', '2', '--policy', 'linear10-every-2m', '--api-key', 'k'], io),
    ).toBe(0);
    expect(out.join('')).toMatch(/v2 against production v1 \(linear10-every-2m\)/);
    expect(await releaseCli(['start', 'cpu', '2', '--api-key', 'k'], io)).toBe(1);
    expect(out.join('')).toMatch(/HTTP 409 Conflict/);

    // The release rolls back while `watch` polls: its judgement and the outcome are printed.
    const [r] = await releases.list('cpu');
    let polls = 0;
    const sleep = async () => {
      polls++;
      const cur = (await releases.get('cpu', r?.releaseId as string)) as NonNullable<typeof r>;
      await releases.update('cpu', cur.releaseId, cur.revision, {
        phase: 'rolled-back',
        weight: 0,
        outcome: { reason: 'anomaly-rate 9.5 (limit 1.5)' },
        judgements: [
          {
            at: '2026-01-01T00:05:00Z',
            step: 0,
            phase: 'traffic',
            weight: 0.1,
            window: { from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:05:00Z' },
            decision: 'rollback',
            breaches: [{ signal: 'anomaly-rate', value: 9.5, limit: 1.5 }],
          },
        ],
      });
    };
    out.length = 0;
    expect(await releaseCli(['watch', 'cpu', '--api-key', 'k', '--interval', '1'], { ...io, sleep })).toBe(1);
    expect(polls).toBe(1);
    const text = out.join('');
    expect(text).toMatch(/traffic step 0 @ 10 %: ROLLBACK/);
    expect(text).toMatch(/BREACH anomaly-rate: 9.5 \(limit 1.5\)/);
    expect(text).toMatch(/rolled-back: anomaly-rate 9.5/);
  });

  it('refuses bad arguments with exit 2', async () => {
    const { doFetch } = apiFetch();
    const io = { fetch: doFetch, out: () => {}, err: () => {} };
    expect(await releaseCli(['start', 'cpu', 'two', '--api-key', 'k'], io)).toBe(2);
    expect(await releaseCli(['start', 'cpu', '2', '--policy', 'yolo', '--api-key', 'k'], io)).toBe(2);
    expect(await releaseCli(['frobnicate', 'cpu', '--api-key', 'k'], io)).toBe(2);
    expect(await releaseCli([], io)).toBe(2);
  });

  it('aborts the running release with a reason and waits until it is recorded rolled back', async () => {
    const { doFetch, releases, started } = apiFetch();
    const out: string[] = [];
    const io = { fetch: doFetch, out: (t: string) => void out.push(t), err: (t: string) => void out.push(t) };
    expect(await releaseCli(['start', 'cpu', '2', '--api-key', 'k'], io)).toBe(0);
    const [r] = await releases.list('cpu');
    // The abort's execution (the machine's Rollback) records the outcome while the CLI waits.
    const sleep = async () => {
      const cur = (await releases.get('cpu', r?.releaseId as string)) as NonNullable<typeof r>;
      if (cur.phase !== 'rolled-back') {
        await releases.update('cpu', cur.releaseId, cur.revision, {
          phase: 'rolled-back',
          outcome: { reason: `aborted by ${started.at(-1)?.abort?.by}: ${started.at(-1)?.abort?.reason}` },
        });
      }
    };
    out.length = 0;
    expect(
      await releaseCli(['abort', 'cpu', '--reason', 'wrong data', '--api-key', 'k'], { ...io, sleep }),
    ).toBe(0);
    expect(started.at(-1)).toMatchObject({
      model: 'cpu',
      releaseId: r?.releaseId,
      abort: { by: 'api:k-admin', reason: 'wrong data' },
    });
    expect(out.join('')).toMatch(/rolled-back: aborted by api:k-admin: wrong data/);
    // Nothing left to abort.
    out.length = 0;
    expect(await releaseCli(['abort', 'cpu', '--api-key', 'k'], { ...io, sleep })).toBe(1);
    expect(out.join('')).toMatch(/No release of cpu is running/);
  });
});
