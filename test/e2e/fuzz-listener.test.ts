import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '#contracts';
import { apiGatewayListener, type Route } from '../../local/http-adapter.ts';
import { apiRoutes, startTwin, type Twin } from '../../local/twin.ts';

/**
 * Hostile requests against the twin's HTTP adapter, in-process (no sockets): the listener, the
 * authorizer guard and the very handler modules Lambda runs. Routes come from `ROUTES`, so a
 * route added later is fuzzed without touching this file. Seeded and bounded: the same
 * ≥ 10,000 requests on every run.
 */
const SEED = 1313;
const TOTAL = 10_000;
const REPO = path.resolve(import.meta.dirname, '../..');

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request through the listener with a fake socket pair; rejects if it does not finish in time. */
function call(
  listener: ReturnType<typeof apiGatewayListener>,
  req: { method: string; url: string; headers: Record<string, string>; body: string },
): Promise<Reply> {
  const incoming = Readable.from(
    req.body === '' ? [] : [Buffer.from(req.body)],
  ) as unknown as IncomingMessage;
  Object.assign(incoming, {
    method: req.method,
    url: req.url,
    headers: req.headers,
    httpVersion: '1.1',
    socket: { remoteAddress: '127.0.0.1' },
  });
  return new Promise<Reply>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hang: ${req.method} ${req.url.slice(0, 80)}`)), 10_000);
    let status = 0;
    let headers: Record<string, string> = {};
    const fake = {
      headersSent: false,
      destroyed: false,
      writeHead(s: number, h: Record<string, string>) {
        status = s;
        headers = Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
        fake.headersSent = true;
        return fake;
      },
      end(b?: string | Buffer) {
        clearTimeout(timer);
        resolve({ status, headers, body: b === undefined ? '' : String(b) });
      },
      once() {
        return fake;
      },
    };
    const res = fake as unknown as ServerResponse;
    listener(incoming, res).catch(reject);
  });
}

/** A value in a path segment: ordinary, encoded, traversal, unicode, or long. */
const segment = fc.oneof(
  fc.constantFrom(
    'default',
    'DEFAULT',
    'nope',
    '..',
    '.',
    '%2e%2e',
    '%2F',
    '%00',
    '%',
    '%zz',
    '__proto__',
    'constructor',
  ),
  fc.stringMatching(/^[a-z0-9_-]{1,70}$/),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.nat({ max: 9000 }).map((n) => 'a'.repeat(n)),
);

/** A route's path with its parameters filled, then possibly mangled the ways attackers try. */
const pathFor = (pattern: string) =>
  fc
    .tuple(
      fc.array(segment, { minLength: 4, maxLength: 4 }),
      fc.constantFrom(
        'none',
        'double-slash-prefix',
        'evil-host',
        'trailing-slash',
        'double-inner',
        'absolute-form',
      ),
    )
    .map(([values, mangle]) => {
      let i = 0;
      const p = pattern.replace(/\{\w+\}/g, () => values[i++] ?? 'x');
      // `noRoute`: a path no route may serve, however a URL parser would resolve it. A raw `#`
      // or `?` in a segment ends the path there, so the mangling after it may leave a real
      // route (`/v1/models/m/aliases/a#/rollback/` is `PUT …/aliases/{alias}`): no claim then.
      const cut = /[#?]/.test(p);
      const at = (path: string, noRoute: boolean) => ({ path, noRoute: noRoute && !cut });
      switch (mangle) {
        case 'double-slash-prefix':
          return at(`/${p}`, true);
        case 'evil-host':
          return at(`//evil${p}`, true);
        case 'trailing-slash':
          return at(`${p}/`, true);
        case 'double-inner':
          return at(p.replace('/', '//'), true);
        case 'absolute-form':
          return at(`http://evil.example${p}`, false);
        default:
          return at(p, false);
      }
    });

const query = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.constantFrom('version', 'format', 'row', 'at', 'alias', 'limit', '__proto__', 'x'),
        fc.oneof(
          fc.constantFrom(
            '1',
            '0',
            '-1',
            '1e3',
            '0x2',
            'svg',
            'json',
            'png',
            '2026-01-01T00:00:00Z',
            'production',
          ),
          fc.string({ maxLength: 30 }),
        ),
      ),
      { maxLength: 4 },
    )
    .map((kv) => `?${kv.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`),
);

/** Bodies: valid-ish rows, hostile values, arbitrary JSON, broken JSON, non-JSON. */
const hostileNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(1e16, 3e38, 3.5e38, 1e300, -1e-140, 5e-324, 2 ** 53 + 1, -0),
);
const row = fc.oneof(
  fc.record({
    cpu: hostileNumber,
    memory: hostileNumber,
    network: hostileNumber,
    disk_io: hostileNumber,
    latency: hostileNumber,
  }),
  fc.dictionary(
    fc.constantFrom('cpu', 'memory', '__proto__', 'constructor', 'x'),
    fc.jsonValue({ maxDepth: 2 }),
    {
      maxKeys: 6,
    },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const body = fc.oneof(
  fc.array(row, { maxLength: 4 }).map((rows) => JSON.stringify({ rows })),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', '{', '{"rows":', '{"rows":[{"cpu":1e999}]}', '{"__proto__":{"rows":[]}}', '[]', 'null'),
  fc.array(row, { maxLength: 2 }).map((rows) => `${JSON.stringify({ rows })}garbage`),
);

describe('fuzz: hostile requests against the twin HTTP adapter (in-process)', () => {
  let twin: Twin;
  let dir: string;
  let listener: ReturnType<typeof apiGatewayListener>;
  let routes: Route[];
  const forbidden: RegExp[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-fuzz-'));
    twin = await startTwin({ port: 0, dataDir: dir, inMemory: true, driftEveryMs: 0, captureSampleRate: 0 });
    ({ routes } = await apiRoutes());
    const lines: string[] = [];
    listener = apiGatewayListener(routes, { log: (l) => void lines.push(l) });
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    forbidden.push(
      new RegExp(esc(REPO)),
      new RegExp(esc(dir)),
      new RegExp(esc(tmpdir())),
      /file:\/\/\//,
      /\bat [^\s]+ \(?[^\s]*:\d+:\d+\)?/, // a stack frame
      /node_modules/,
    );
  });
  afterAll(async () => {
    await twin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The documented response contract, checked on every reply. */
  const check = (r: Reply, sentLength: number) => {
    expect(r.status, r.body.slice(0, 300)).toBeGreaterThanOrEqual(200);
    expect(r.status, r.body.slice(0, 300)).toBeLessThan(500);
    for (const re of forbidden) expect(r.body).not.toMatch(re);
    if (r.status >= 400) {
      expect(r.headers['content-type']).toBe('application/json');
      const json = JSON.parse(r.body);
      expect(Object.keys(json)).toEqual(['error']);
      expect(typeof json.error.code).toBe('string');
      expect(typeof json.error.message).toBe('string');
      for (const k of Object.keys(json.error))
        expect(['code', 'message', 'details', 'requestId']).toContain(k);
      // A bounded echo: an error never grows with the request.
      expect(r.body.length).toBeLessThan(4096);
      expect(json.error.message.length).toBeLessThan(400);
      if (r.status === 405) expect(r.headers.allow).toMatch(/^[A-Z]+(, [A-Z]+)*$/);
    } else if (sentLength > 0) {
      expect(r.body.length).toBeLessThan(2_000_000);
    }
  };

  const perRoute = Math.ceil(TOTAL / (ROUTES.length + 1));

  for (const [i, route] of ROUTES.entries()) {
    it(`${route.method} ${route.path}: ${perRoute} hostile requests, no 5xx, no hang, documented errors`, async () => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(
          pathFor(route.path),
          query,
          fc.constantFrom(
            route.method,
            route.method,
            'GET',
            'POST',
            'HEAD',
            'PUT',
            'DELETE',
            'OPTIONS',
            'PATCH',
            'BREW',
          ),
          fc.constantFrom('valid', 'valid', 'missing', 'wrong', 'long'),
          body,
          fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
          async (p, q, method, key, b, contentType) => {
            runs++;
            const headers: Record<string, string> = { host: 'localhost' };
            if (contentType) headers['content-type'] = contentType;
            if (key === 'valid') headers['x-api-key'] = twin.apiKey;
            if (key === 'wrong') headers['x-api-key'] = 'vgl_wrong';
            if (key === 'long') headers['x-api-key'] = 'k'.repeat(5000);
            const sent = method === 'GET' || method === 'HEAD' ? '' : b;
            const r = await call(listener, { method, url: `${p.path}${q}`, headers, body: sent });
            check(r, sent.length);
            if (p.noRoute) expect(r.status, p.path.slice(0, 100)).toBe(404);
          },
        ),
        { seed: SEED + i, numRuns: perRoute, endOnFailure: true },
      );
      expect(runs).toBe(perRoute);
    });
  }

  it(`arbitrary targets: ${perRoute} requests for paths that are no route at all`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 9000 }),
          fc.webPath(),
          fc.constantFrom(
            '//health',
            '//evil/v1/models',
            '/v1//models',
            '/%2e%2e/%2e%2e/etc/passwd',
            '*',
            '',
          ),
        ),
        fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS'),
        async (target, method) => {
          const r = await call(listener, { method, url: target, headers: { host: 'localhost' }, body: '' });
          check(r, 0);
        },
      ),
      { seed: SEED - 1, numRuns: perRoute, endOnFailure: true },
    );
  });

  it('the suite covers at least 10,000 requests and every route in ROUTES', () => {
    expect(perRoute * (ROUTES.length + 1)).toBeGreaterThanOrEqual(TOTAL);
    expect(new Set(routes.map((r) => `${r.method} ${r.path}`)).size).toBe(ROUTES.length);
  });
});
