import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { CONSOLE_CSP } from '#contracts';

/**
 * The console's static files on the twin, as CloudFront serves them in AWS: public (the
 * API behind them keeps its own auth), GET/HEAD only, the same security headers, and
 * nothing outside `dir` (names are matched against the files the build wrote, never
 * resolved from the request path).
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** A listener wrapper: console files at `/`, `/index.html`, `/app.js`, `/app.css`, `/robots.txt`; all else to `api`. */
export function withStaticFiles(
  dir: string,
  api: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const files = new Map([
    ['/', 'index.html'],
    ['/index.html', 'index.html'],
    ['/app.js', 'app.js'],
    ['/app.css', 'app.css'],
    ['/robots.txt', 'robots.txt'],
  ]);
  return async (req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    const file = files.get(p);
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) return api(req, res);
    let body: Buffer;
    try {
      body = await readFile(path.join(dir, file));
    } catch {
      return api(req, res);
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      ...SECURITY_HEADERS,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
