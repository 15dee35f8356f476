import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BODY_TOO_LARGE_MESSAGE, MAX_BODY_BYTES } from '#contracts';
import { keysCommand } from '../../bin/commands/keys.ts';
import { startApiServer, startTwin, type Twin, takeLock } from '../../local/twin.ts';

/** Sends raw bytes on a fresh connection; resolves with everything received until the server closes. */
function raw(port: number, chunks: string[], gapMs = 0): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s: Socket = connect(port, '127.0.0.1');
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      text += d;
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve({ text, closedAfterMs: Date.now() - t0 }));
    s.on('connect', async () => {
      for (const c of chunks) {
        if (s.destroyed) break;
        s.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
    setTimeout(() => reject(new Error('server never closed the connection')), 15_000).unref();
  });
}

/** One HTTP/1.1 request with node:http (so HEAD and odd methods are sent as written). */
function send(
  port: number,
  opts: { method: string; path: string; headers?: Record<string, string | number>; body?: Buffer | string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: opts.method, path: opts.path, headers: opts.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

describe('the twin listener (also `vigil serve --aws`)', () => {
  let twin: Twin;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-limits-'));
    twin = await startTwin({
      port: 0,
      dataDir: dir,
      inMemory: true,
      driftEveryMs: 0,
      limits: {
        headersTimeoutMs: 600,
        requestTimeoutMs: 1200,
        keepAliveTimeoutMs: 300,
        checkIntervalMs: 100,
      },
    });
  });
  afterAll(async () => {
    await twin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('drops a client that trickles its headers (slowloris) after the headers timeout', async () => {
    const parts = [
      'GET /health HTTP/1.1\r\n',
      'Host: x\r\n',
      ...Array.from({ length: 40 }, (_, i) => `X-${i}: y\r\n`),
    ];
    const r = await raw(twin.port, parts, 100);
    expect(r.closedAfterMs).toBeLessThan(4000);
    expect(r.text).not.toMatch(/HTTP\/1.1 200/);
  });

  it('drops a slow body after the request timeout', async () => {
    const head = `POST /v1/models/default/score HTTP/1.1\r\nHost: x\r\nx-api-key: ${twin.apiKey}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n`;
    const r = await raw(twin.port, [head, ...Array.from({ length: 60 }, () => '{"rows":')], 100);
    expect(r.closedAfterMs).toBeLessThan(5000);
    expect(r.text).not.toMatch(/HTTP\/1.1 200/);
  });

  it('a client that goes away mid-body is one quiet line, not a stack trace', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const s = connect(twin.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      s.write(
        `POST /v1/models/default/score HTTP/1.1\r\nHost: x\r\nx-api-key: ${twin.apiKey}\r\ncontent-length: 1000\r\n\r\n{"rows":[`,
      );
      await new Promise((r) => setTimeout(r, 200));
      s.destroy();
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      spy.mockRestore();
    }
    const mine = lines.filter((l) => /client went away|local twin error|aborted|ECONNRESET|\n\s+at /.test(l));
    // (The slow-body test's dropped client may log its own line here too: the same quiet line.)
    expect(mine.length).toBeGreaterThanOrEqual(1);
    for (const l of mine) expect(l).toBe('client went away: POST /v1/models/default/score\n');
  });

  it('closes an idle kept-alive connection after the keep-alive timeout', async () => {
    const r = await raw(twin.port, ['GET /health HTTP/1.1\r\nHost: x\r\n\r\n']);
    expect(r.text).toMatch(/^HTTP\/1.1 200/);
    expect(r.closedAfterMs).toBeLessThan(3000);
  });

  it('refuses connections beyond the cap', async () => {
    const { server, port } = await startApiServer({ port: 0, limits: { maxConnections: 2 } });
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = connect(port, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        held.push(s);
      }
      await new Promise((r) => setTimeout(r, 50));
      const third = await raw(port, ['GET /health HTTP/1.1\r\nHost: x\r\n\r\n']);
      expect(third.text).toBe('');
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('checks the key from the headers before reading the body', async () => {
    // The body is never sent: a 401 must come back anyway, so no unauthenticated body is buffered.
    const head = `POST /v1/models/default/score HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: ${MAX_BODY_BYTES - 1}\r\n\r\n`;
    const r = await raw(twin.port, [head]);
    expect(r.text).toMatch(/^HTTP\/1.1 401/);
    expect(r.text).toMatch(/Missing x-api-key/);
  });

  it('refuses a body over the one limit with the one message, before reading it (content-length)', async () => {
    const head = `POST /v1/models/default/score HTTP/1.1\r\nHost: x\r\nx-api-key: ${twin.apiKey}\r\ncontent-length: ${MAX_BODY_BYTES + 1}\r\n\r\n`;
    const r = await raw(twin.port, [head]);
    expect(r.text).toMatch(/^HTTP\/1.1 413/);
    expect(r.text).toContain(BODY_TOO_LARGE_MESSAGE);
  });

  it('refuses a chunked body as soon as it passes the limit', async () => {
    const res = await send(twin.port, {
      method: 'POST',
      path: '/v1/models/default/score',
      headers: {
        'x-api-key': twin.apiKey,
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
      },
      body: Buffer.alloc(MAX_BODY_BYTES + 1024, 0x20),
    }).catch((e) => ({ status: -1, headers: {}, body: String(e) }));
    // Either the 413 arrived, or the server dropped the rest of the upload after answering.
    if (res.status !== -1) {
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body).error.message).toBe(BODY_TOO_LARGE_MESSAGE);
    } else expect(res.body).toMatch(/EPIPE|ECONNRESET|socket hang up/);
  });

  it('parses the path instead of resolving it: //evil/v1/models is not /v1/models, //health is a 404', async () => {
    for (const p of ['//evil/v1/models', '//health']) {
      const res = await send(twin.port, { method: 'GET', path: p, headers: { 'x-api-key': twin.apiKey } });
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body).error.message).toBe(`No route for GET ${p}`);
    }
  });

  it('echoes a bounded part of the path in a 404', async () => {
    const p = `/${'a'.repeat(8000)}`;
    const res = await send(twin.port, { method: 'GET', path: p });
    expect(res.status).toBe(404);
    expect(res.body.length).toBeLessThan(300);
  });

  it('answers HEAD /health, and a 405 names the allowed methods', async () => {
    const head = await send(twin.port, { method: 'HEAD', path: '/health' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const post = await send(twin.port, { method: 'POST', path: '/health', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('serves registry records without local absolute paths', async () => {
    for (const p of ['/v1/models/default/versions', '/v1/models/default/history']) {
      const res = await send(twin.port, { method: 'GET', path: p, headers: { 'x-api-key': twin.apiKey } });
      expect(res.status).toBe(200);
      expect(res.body).not.toContain('file:///');
      expect(res.body).not.toContain(path.resolve(import.meta.dirname, '../..'));
      expect(res.body).not.toContain(dir);
    }
  });

  it('a second twin on the same data dir says where the first one runs', async () => {
    const lock = JSON.parse(await readFile(path.join(dir, 'twin.lock'), 'utf8'));
    expect(lock).toEqual({ pid: process.pid, url: twin.url });
    // Another live process holds it: pretend by writing the parent's pid.
    const other = await mkdtemp(path.join(tmpdir(), 'vigil-lock-'));
    try {
      await (await import('node:fs/promises')).writeFile(
        path.join(other, 'twin.lock'),
        JSON.stringify({ pid: process.ppid, url: 'http://localhost:3999' }),
      );
      await expect(takeLock(other)).rejects.toThrow(/already running at http:\/\/localhost:3999/);
      // A lock left by a process that is gone is taken over.
      await (await import('node:fs/promises')).writeFile(
        path.join(other, 'twin.lock'),
        JSON.stringify({ pid: 2 ** 22 + 12345, url: 'http://localhost:3999' }),
      );
      const taken = await takeLock(other);
      await taken.release();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('key rotation under traffic: a valid key never gets 403 while `vigil keys create --local` runs', async () => {
    let rotating = true;
    const statuses: number[] = [];
    const traffic = Array.from({ length: 4 }, async () => {
      while (rotating) {
        const r = await send(twin.port, {
          method: 'GET',
          path: '/v1/models',
          headers: { 'x-api-key': twin.apiKey },
        });
        statuses.push(r.status);
      }
    });
    const quiet = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (let i = 0; i < 15; i++) {
        expect(await keysCommand(['create', '--local', '--data-dir', dir], () => undefined)).toBe(0);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      rotating = false;
      await Promise.all(traffic);
      quiet.mockRestore();
    }
    expect(statuses.length).toBeGreaterThan(15);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  it('a taken port is a sentence and an error, not a hang', async () => {
    await expect(startApiServer({ port: twin.port })).rejects.toThrow(
      new RegExp(`port ${twin.port} on 127.0.0.1 is already in use`),
    );
  });
});
