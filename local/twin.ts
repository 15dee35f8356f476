import { Console } from 'node:console';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV, type HANDLERS, ROUTES, SERVICES } from '#contracts';
import { generateApiKey } from '#core/auth.ts';
import { ensureTables, type LocalDynamo, startDynalite } from './dynalite.ts';
import { type ApiHandler, apiGatewayListener, type Route } from './http-adapter.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Table names the twin creates in dynalite (CDK names its own). */
export const LOCAL_TABLES = {
  registry: 'vigil-registry',
  captures: 'vigil-captures',
  drift: 'vigil-drift-reports',
} as const;

export interface TwinOptions {
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** State directory (DynamoDB data, artifacts, keys, logs). @default .vigil */
  readonly dataDir?: string;
  /** Keep DynamoDB in memory instead of under dataDir (tests). @default false */
  readonly inMemory?: boolean;
  /** Drift evaluation interval in ms; 0 disables the timer. @default 3600000 */
  readonly driftEveryMs?: number;
  /** Package registered as `default` version 1 on first start. @default models/default */
  readonly defaultModelDir?: string;
  /** Capture sample rate (share of scored rows kept). @default 1 */
  readonly captureSampleRate?: number;
}

export interface Twin {
  readonly url: string;
  readonly port: number;
  /** The local API key (read from dataDir; created on first start). */
  readonly apiKey: string;
  readonly dataDir: string;
  readonly dynamo: LocalDynamo;
  /** Runs one drift evaluation of every registered model now. */
  evaluateDrift(): Promise<unknown[]>;
  close(): Promise<void>;
}

/**
 * The local twin (DESIGN.md §10): dynalite on loopback, a filesystem artifact
 * store, a key file in place of Secrets Manager, a timer in place of
 * EventBridge Scheduler, and node:http in place of API Gateway — all calling
 * the very handler modules Lambda runs, configured through the same
 * environment variables.
 */
export async function startTwin(opts: TwinOptions = {}): Promise<Twin> {
  const dataDir = path.resolve(opts.dataDir ?? '.vigil');
  await mkdir(dataDir, { recursive: true });
  const dynamo = await startDynalite(opts.inMemory ? {} : { path: path.join(dataDir, 'dynamodb') });
  await ensureTables(dynamo.endpoint, Object.values(LOCAL_TABLES));
  // Lets `vigil models …` talk to this twin's DynamoDB while it runs.
  await writeFile(path.join(dataDir, 'dynamodb.endpoint'), `${dynamo.endpoint}\n`);
  const apiKey = await ensureApiKey(dataDir);
  routeEmfToFile(path.join(dataDir, 'metrics.log'));

  Object.assign(process.env, {
    [ENV.REGISTRY_TABLE]: LOCAL_TABLES.registry,
    [ENV.CAPTURES_TABLE]: LOCAL_TABLES.captures,
    [ENV.DRIFT_TABLE]: LOCAL_TABLES.drift,
    [ENV.DYNAMODB_ENDPOINT]: dynamo.endpoint,
    [ENV.ARTIFACT_DIR]: path.join(dataDir, 'artifacts'),
    [ENV.CAPTURE_SAMPLE_RATE]: String(opts.captureSampleRate ?? 1),
    [ENV.API_KEYS_FILE]: path.join(dataDir, 'api-keys.json'),
    // EventBridge's stand-in: `vigil.drift.detected` events as JSON lines.
    [ENV.EVENTS_FILE]: process.env[ENV.EVENTS_FILE] ?? path.join(dataDir, 'events.jsonl'),
    [ENV.SERVICE_NAME]: SERVICES.local,
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_METRICS_DISABLED: 'false',
    AWS_REGION: process.env.AWS_REGION ?? 'local',
  });
  const { resetRoot, registry, store } = await import('#runtime/root.ts');
  resetRoot();
  const { bootstrapDefaultModel } = await import('#app/bootstrap.ts');
  const rt = { registry: registry(), store: store() };
  await bootstrapDefaultModel(
    { registry: rt.registry, store: rt.store },
    opts.defaultModelDir ?? path.join(ROOT, 'models/default'),
  );

  const { server, port, handlers } = await startApiServer({ port: opts.port ?? 3000, host: opts.host });

  const evaluateDrift = async (): Promise<unknown[]> => {
    const evaluate = handlers.driftEvaluate as (e: unknown) => Promise<unknown>;
    const models = await rt.registry.listModels();
    const out: unknown[] = [];
    for (const m of models) out.push(await evaluate({ model: m.name }));
    return out;
  };
  const every = opts.driftEveryMs ?? 3_600_000;
  const timer =
    every > 0
      ? setInterval(() => {
          evaluateDrift().catch((e) =>
            process.stderr.write(`drift evaluation failed: ${(e as Error).message}\n`),
          );
        }, every)
      : undefined;
  timer?.unref();

  return {
    url: `http://${!opts.host || ['127.0.0.1', '0.0.0.0', 'localhost'].includes(opts.host) ? 'localhost' : opts.host}:${port}`,
    port,
    apiKey,
    dataDir,
    dynamo,
    evaluateDrift,
    async close() {
      if (timer) clearInterval(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await dynamo.close();
      resetRoot();
    },
  };
}

const unauthorized = (statusCode: number, code: string, message: string) => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ error: { code, message } }),
});

/**
 * Serves `ROUTES` over node:http with the handler modules Lambda runs, the
 * authorizer guarding every non-public route (401 without a key, 403 with a
 * wrong one, as API Gateway answers). Used by the twin and by `vigil serve
 * --aws` (the EKS streaming scorer). Handlers are imported only now, after
 * the caller has set the environment they read at module load (Powertools).
 */
export async function startApiServer(opts: {
  port: number;
  host?: string;
}): Promise<{ server: Server; port: number; handlers: Record<keyof typeof HANDLERS, unknown> }> {
  const { HANDLER_MODULES: handlers } = await import('./handler-modules.ts');
  const authorize = handlers.authorizer as (e: unknown) => Promise<{ isAuthorized: boolean }>;
  const routes: Route[] = ROUTES.map((r) => ({
    method: r.method,
    path: r.path,
    handler: handlers[r.handler] as ApiHandler,
    guard:
      r.auth === 'public'
        ? undefined
        : async (event) => {
            if (!event.headers?.['x-api-key'])
              return unauthorized(401, 'Unauthorized', 'Missing x-api-key header');
            const res = await authorize(event);
            return res.isAuthorized ? undefined : unauthorized(403, 'Forbidden', 'Invalid API key');
          },
  }));
  const server: Server = createServer(apiGatewayListener(routes));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, handlers };
}

/**
 * `vigil serve --aws`: the same API on the real adapters, configured by the
 * environment exactly like the Lambdas (tables, bucket, API-key secret). No
 * dynalite, no bootstrap, no drift timer (the scheduler runs the evaluator).
 */
export async function startAwsServer(opts: {
  port: number;
  host?: string;
}): Promise<{ url: string; close(): Promise<void> }> {
  process.env[ENV.SERVICE_NAME] ??= SERVICES.streamingScorer;
  const { registry, store } = await import('#runtime/root.ts');
  // Build what every request needs now, so missing or invalid configuration fails the start.
  registry();
  store();
  if (!process.env[ENV.API_KEYS_SECRET]) throw new Error(`${ENV.API_KEYS_SECRET} is required with --aws`);
  const { server, port } = await startApiServer(opts);
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The local stand-in for Secrets Manager: hashed keys in `api-keys.json`, and
 * the one local key in `local-api-key` (mode 0600) so `npm start` can print
 * a ready-to-paste curl. Production keys never exist in plain text at rest.
 */
async function ensureApiKey(dataDir: string): Promise<string> {
  const keysFile = path.join(dataDir, 'api-keys.json');
  const plainFile = path.join(dataDir, 'local-api-key');
  if (existsSync(keysFile) && existsSync(plainFile)) return (await readFile(plainFile, 'utf8')).trim();
  const { key, record } = generateApiKey('admin');
  await writeFile(keysFile, `${JSON.stringify({ keys: [record] }, null, 2)}\n`, { mode: 0o600 });
  await writeFile(plainFile, `${key}\n`, { mode: 0o600 });
  await chmod(plainFile, 0o600);
  return key;
}

let emfRouted = false;
/**
 * With POWERTOOLS_DEV the metrics utility writes EMF through the global
 * console; the twin sends those lines to a log file (CloudWatch's local
 * stand-in) and leaves everything else on the terminal.
 */
function routeEmfToFile(file: string): void {
  if (emfRouted) return;
  emfRouted = true;
  const sink = new Console(createWriteStream(file, { flags: 'a' }));
  const original = console.log.bind(console);
  console.log = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('{"_aws"')) sink.log(args[0]);
    else original(...args);
  };
}
