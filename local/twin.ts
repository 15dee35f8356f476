import { Console } from 'node:console';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsCaptureObjects } from '#adapters/capture-objects.ts';
import { EmfMetricsStore } from '#adapters/emf-metrics-store.ts';
import { FsPackageStaging, LOCAL_UPLOAD_ROUTE } from '#adapters/staging-fs.ts';
import { ENV, type HANDLERS, METRIC_DIMENSIONS, ROUTES, SERVICES } from '#contracts';
import { type ApiKeyRecord, ApiKeySetSchema, generateApiKey } from '#core/auth.ts';
import { isVigilError } from '#core/errors.ts';
import { type LocalDriftSummaryResult, runDriftSummaryLocally } from './drift-summary-twin.ts';
import { ensureTables, type LocalDynamo, startDynalite } from './dynalite.ts';
import { writeFileAtomic } from './files.ts';
import { type ApiHandler, apiGatewayListener, type Route } from './http-adapter.ts';
import { LocalRetraining } from './retraining-twin.ts';
import { LocalScoreFunction, TwinCodeDeployments } from './score-function-twin.ts';
import { withStaticFiles } from './static-files.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Table names the twin creates in dynalite (CDK names its own). */
export const LOCAL_TABLES = {
  registry: 'vigil-registry',
  captures: 'vigil-captures',
  drift: 'vigil-drift-reports',
  feedback: 'vigil-feedback',
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
  /** Capture sample rate (share of scored rows kept). @default VIGIL_CAPTURE_SAMPLE_RATE, else 1 */
  readonly captureSampleRate?: number;
  /**
   * Capture path: the DynamoDB table, or the Firehose stand-in writing Parquet under the artifact
   * directory (`captures/model=…/date=…/hour=…/`). @default VIGIL_CAPTURE_PATH, else dynamodb
   */
  readonly capturePath?: 'dynamodb' | 'firehose';
  /**
   * Seconds the score path caches a model's release record (how soon blue sees a shadow phase
   * start, or a promotion). @default VIGIL_RELEASE_CACHE_SECONDS, else 2 (short: local releases bake in seconds)
   */
  readonly releaseCacheSeconds?: number;
  /**
   * Release settings (`ReleaseSettingsSchema`) instead of the twin's (timeScale 0.02, shadow off):
   * e.g. the shadow phase on, or shorter bakes. @default VIGIL_RELEASE_CONFIG, else the twin's
   */
  readonly releaseConfig?: Readonly<Record<string, unknown>>;
  /** How often parked capture rows are replayed, ms. @default 30000 */
  readonly spoolReplayEveryMs?: number;
  /** Listener limits (timeouts, connection cap). @default DEFAULT_LISTENER_LIMITS */
  readonly limits?: Partial<ListenerLimits>;
  /**
   * Start the synthesized retraining machine on `vigil.drift.detected`, as the Pipeline stack's
   * rule does (`vigil serve` turns it on). @default false
   */
  readonly retrainOnDrift?: boolean;
  /**
   * Evaluate drift through the synthesized drift-summary machine (partition summaries, then the
   * reduce step), as the Drift stack's schedules do above `drift.distributed.maxInMemoryRows`,
   * instead of the in-memory evaluator. @default false
   */
  readonly driftDistributed?: boolean;
  /** Build the console (web/) into `dataDir/console` and serve it at `/`. @default true */
  readonly console?: boolean;
  /**
   * The environment whose synthesized state machines and task settings the twin runs (`prod`
   * waits for approval). @default dev
   */
  readonly environment?: 'dev' | 'staging' | 'prod';
}

/**
 * The environment the twin gives the handlers: the same variable names the CDK app sets, local
 * values. An operator's own `VIGIL_CAPTURE_SAMPLE_RATE` is honoured (an option wins over it).
 */
/** The twin's alias cache: short, so a promotion shows within seconds. */
export const TWIN_ALIAS_CACHE_SECONDS = 3;
/** Release durations on the twin: canary10-15m's 15-minute bake becomes 18 s. */
export const TWIN_RELEASE_TIME_SCALE = 0.02;

export function twinEnvironment(a: {
  dataDir: string;
  endpoint: string;
  opts: Pick<TwinOptions, 'captureSampleRate' | 'capturePath' | 'releaseCacheSeconds' | 'releaseConfig'>;
  env?: NodeJS.ProcessEnv;
}): Record<string, string> {
  const env = a.env ?? process.env;
  return {
    [ENV.REGISTRY_TABLE]: LOCAL_TABLES.registry,
    [ENV.CAPTURES_TABLE]: LOCAL_TABLES.captures,
    [ENV.DRIFT_TABLE]: LOCAL_TABLES.drift,
    [ENV.FEEDBACK_TABLE]: LOCAL_TABLES.feedback,
    [ENV.DYNAMODB_ENDPOINT]: a.endpoint,
    [ENV.ARTIFACT_DIR]: path.join(a.dataDir, 'artifacts'),
    [ENV.STAGING_DIR]: path.join(a.dataDir, 'staging'),
    [ENV.CAPTURE_SAMPLE_RATE]: String(a.opts.captureSampleRate ?? (env[ENV.CAPTURE_SAMPLE_RATE] || 1)),
    [ENV.CAPTURE_SPOOL_FILE]: path.join(a.dataDir, 'captures-spool.jsonl'),
    [ENV.CAPTURE_PATH]: a.opts.capturePath ?? (env[ENV.CAPTURE_PATH] || 'dynamodb'),
    ...(env[ENV.CAPTURE_SHARDS] ? { [ENV.CAPTURE_SHARDS]: String(env[ENV.CAPTURE_SHARDS]) } : {}),
    ...(env[ENV.CAPTURE_MODEL_RATES]
      ? { [ENV.CAPTURE_MODEL_RATES]: String(env[ENV.CAPTURE_MODEL_RATES]) }
      : {}),
    [ENV.RELEASE_CACHE_SECONDS]: String(a.opts.releaseCacheSeconds ?? (env[ENV.RELEASE_CACHE_SECONDS] || 2)),
    [ENV.API_KEYS_FILE]: path.join(a.dataDir, 'api-keys.json'),
    // EventBridge's stand-in: `vigil.drift.detected` events as JSON lines.
    [ENV.EVENTS_FILE]: env[ENV.EVENTS_FILE] ?? path.join(a.dataDir, 'events.jsonl'),
    // SNS's stand-in for retraining notifications.
    [ENV.NOTIFICATIONS_FILE]: path.join(a.dataDir, 'notifications.jsonl'),
    [ENV.SERVICE_NAME]: SERVICES.local,
    // Model releases bake for seconds here (a full canary in under a minute), and promotion's
    // wait for the alias cache matches the twin's shorter cache. An operator's own values win.
    [ENV.ALIAS_CACHE_SECONDS]: env[ENV.ALIAS_CACHE_SECONDS] ?? String(TWIN_ALIAS_CACHE_SECONDS),
    [ENV.RELEASE_CONFIG]: a.opts.releaseConfig
      ? JSON.stringify(a.opts.releaseConfig)
      : (env[ENV.RELEASE_CONFIG] ??
        JSON.stringify({
          timeScale: TWIN_RELEASE_TIME_SCALE,
          aliasCacheSeconds: Number(env[ENV.ALIAS_CACHE_SECONDS] ?? TWIN_ALIAS_CACHE_SECONDS),
          // Off as in dev (prod's default is on): a canary on `npm start` shows its traffic step at
          // once. `releaseConfig` / VIGIL_RELEASE_CONFIG with `shadow.enabled` turns it on.
          shadow: { enabled: false },
        })),
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_METRICS_DISABLED: 'false',
    AWS_REGION: env.AWS_REGION ?? 'local',
  };
}

export interface Twin {
  readonly url: string;
  readonly port: number;
  /** The local operator's admin-scoped API key (read from dataDir; created on first start). */
  readonly apiKey: string;
  /** A score-scoped key for clients that only read and score (created beside it). */
  readonly scoreApiKey: string;
  readonly dataDir: string;
  readonly dynamo: LocalDynamo;
  /** Runs one drift evaluation of every registered model now (and starts retraining on drift). */
  evaluateDrift(): Promise<unknown[]>;
  /** The retraining state machine as EventBridge + Step Functions would run it. */
  readonly retraining: LocalRetraining;
  /** One run of the synthesized drift-summary machine for `model` (its Map done by the twin). */
  summarizeDrift(model: string): Promise<LocalDriftSummaryResult>;
  /** The score function's simulated Lambda versions and `live` alias (routing counts per version). */
  readonly scoreFunction: LocalScoreFunction;
  /** CloudWatch's stand-in for releases: per-version EMF and Lambda metrics. */
  readonly releaseMetrics: EmfMetricsStore;
  /** CodeDeploy's: the twin runs none (a simulated one makes a release start answer 409). */
  readonly codeDeployments: TwinCodeDeployments;
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
  const lock = await takeLock(dataDir);
  let dynamo: LocalDynamo | undefined;
  try {
    dynamo = await startDynalite(opts.inMemory ? {} : { path: path.join(dataDir, 'dynamodb') });
    return await startOn(dataDir, dynamo, lock, opts);
  } catch (e) {
    // Nothing may keep the process alive after a failed start (a taken port hung it before).
    await dynamo?.close().catch(() => undefined);
    await lock.release();
    throw e;
  }
}

async function startOn(
  dataDir: string,
  dynamo: LocalDynamo,
  lock: TwinLock,
  opts: TwinOptions,
): Promise<Twin> {
  await ensureTables(dynamo.endpoint, Object.values(LOCAL_TABLES), {
    capturesTables: [LOCAL_TABLES.captures],
  });
  // Lets `vigil models …` talk to this twin's DynamoDB while it runs.
  await writeFile(path.join(dataDir, 'dynamodb.endpoint'), `${dynamo.endpoint}\n`);
  const { admin: apiKey, score: scoreApiKey } = await ensureApiKeys(dataDir);
  routeEmfToFile(path.join(dataDir, 'metrics.log'));

  Object.assign(process.env, twinEnvironment({ dataDir, endpoint: dynamo.endpoint, opts }));
  const root = await import('#runtime/root.ts');
  root.resetRoot();
  const { bootstrapDefaultModel } = await import('#app/bootstrap.ts');
  await bootstrapDefaultModel(
    { registry: root.registry(), store: root.store() },
    opts.defaultModelDir ?? path.join(ROOT, 'models/default'),
  );

  // S3's stand-in for presigned uploads: a PUT route on the twin itself, outside ROUTES because
  // in AWS it is S3, not the API, that takes the upload.
  const uploadRoute: Route = {
    method: 'PUT',
    path: LOCAL_UPLOAD_ROUTE,
    handler: async (event) => {
      const staging = root.staging();
      if (!(staging instanceof FsPackageStaging)) return unauthorized(404, 'NotFound', 'No staging area');
      const { model = '', id = '' } = event.pathParameters ?? {};
      const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
      try {
        await staging.accept(model, id, event.queryStringParameters?.token, new Uint8Array(body));
      } catch (e) {
        if (isVigilError(e)) return unauthorized(e.status, e.code, e.message);
        throw e;
      }
      return { statusCode: 200, headers: {}, body: '' };
    },
  };
  // Built now, from the checkout's sources, so `npm ci && npm start` serves it with nothing prebuilt.
  const consoleDir =
    opts.console === false ? undefined : await buildConsoleInto(path.join(dataDir, 'console'));
  // Lambda's versions, the `live` alias and CloudWatch, as far as a model release needs them.
  const releaseMetrics = new EmfMetricsStore({
    keepSet: (names) => names.includes(METRIC_DIMENSIONS.modelVersion),
  });
  const stopEmf = onEmfLine((line) => releaseMetrics.ingest(line));
  let scoreFunction: LocalScoreFunction | undefined;
  const { server, port, handlers } = await startApiServer({
    port: opts.port ?? 3000,
    host: opts.host,
    extraRoutes: [uploadRoute],
    limits: opts.limits,
    ...(consoleDir ? { consoleDir } : {}),
    wrapHandler: (name, handler) => {
      if (name !== 'score') return handler;
      scoreFunction = new LocalScoreFunction({
        handler,
        metrics: releaseMetrics,
        scopedRoot: root.scopedRoot,
      });
      return scoreFunction.invoke;
    },
  });
  if (!scoreFunction) throw new Error('the score route is missing from ROUTES');
  // The upload URLs the API hands out point here; the port is only known now.
  process.env[ENV.STAGING_URL] =
    `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'}:${port}`;
  root.resetRoot();
  const url = `http://${!opts.host || ['127.0.0.1', '0.0.0.0', 'localhost'].includes(opts.host) ? 'localhost' : opts.host}:${port}`;
  await lock.publish(url);
  const retraining = new LocalRetraining({
    dataDir,
    eventsFile: String(process.env.VIGIL_EVENTS_FILE),
    handlers,
    environment: opts.environment ?? 'dev',
  });
  await retraining.skipExisting();
  // The models function's Step Functions calls (retrain, list, approve/reject) reach the runner.
  const { useLocalStepFunctions } = await import('#runtime/retrain-control.ts');
  useLocalStepFunctions(retraining.stepFunctions());
  root.resetRoot();
  // Step Functions for the releases API: the synthesized release machine on the same runner.
  const codeDeployments = new TwinCodeDeployments();
  root.useLocalPlatform({
    scoreFunctionVersions: scoreFunction,
    releaseMetrics,
    codeDeployments,
    releaseExecutions: {
      async start(input) {
        const { executionArn } = (await retraining.runner()).start('release', input);
        return { executionArn };
      },
      async stop(executionArn) {
        // False when it already ended: nothing left to stop, as StopExecution then.
        (await retraining.runner()).stop(executionArn);
      },
    },
  });

  const summarizeDrift = async (model: string): Promise<LocalDriftSummaryResult> =>
    runDriftSummaryLocally(await retraining.runner(), {
      model,
      objects: new FsCaptureObjects({ root: root.config().artifactDir ?? path.join(dataDir, 'artifacts') }),
    });
  const evaluateDrift = async (): Promise<unknown[]> => {
    const evaluate = handlers.driftEvaluate as (e: unknown) => Promise<unknown>;
    const models = await root.registry().listModels();
    const out: unknown[] = [];
    for (const m of models) {
      out.push(
        opts.driftDistributed
          ? [(await summarizeDrift(m.name)).output.report]
          : await evaluate({ model: m.name }),
      );
    }
    // As the EventBridge rule would: a drift event starts a retraining execution.
    if (opts.retrainOnDrift) await retraining.dispatch();
    return out;
  };
  // Capture rows parked while the table was unavailable go back in, every half minute.
  const replayTimer = root.captureSpool()
    ? setInterval(() => {
        root
          .replayCaptureSpool()
          .then((r) => {
            if (r && r.read > 0) process.stderr.write(`capture spool replay: ${JSON.stringify(r)}\n`);
          })
          .catch((e) => process.stderr.write(`CAPTURE SPOOL REPLAY FAILED: ${(e as Error).message}\n`));
      }, opts.spoolReplayEveryMs ?? 30_000)
    : undefined;
  replayTimer?.unref();
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
    url,
    port,
    apiKey,
    scoreApiKey,
    dataDir,
    dynamo,
    evaluateDrift,
    retraining,
    summarizeDrift,
    scoreFunction,
    releaseMetrics,
    codeDeployments,
    async close() {
      root.useLocalPlatform(undefined);
      stopEmf();
      if (timer) clearInterval(timer);
      if (replayTimer) clearInterval(replayTimer);
      await retraining.idle();
      useLocalStepFunctions(undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      // The Parquet stand-in's buffer is memory: written out before the twin lets go.
      await root.localCaptureStream()?.close();
      await dynamo.close();
      await lock.release();
      root.resetRoot();
    },
  };
}

/** The data dir's ownership by one running twin (`twin.lock`: pid and URL). */
interface TwinLock {
  publish(url: string): Promise<void>;
  release(): Promise<void>;
}

/**
 * Claims `dataDir` for this process. dynalite keeps its database under an exclusive LevelDB lock,
 * so a second twin on the same directory used to crash on it; now it is told where the first one
 * runs. A lock left by a process that no longer exists is taken over.
 */
export async function takeLock(dataDir: string): Promise<TwinLock> {
  const file = path.join(dataDir, 'twin.lock');
  const write = (url: string, flag: 'wx' | 'w') =>
    writeFile(file, `${JSON.stringify({ pid: process.pid, url })}\n`, { flag, mode: 0o600 });
  try {
    await write('starting', 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    let held: { pid?: number; url?: string } = {};
    try {
      held = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      // Unreadable: treat as stale.
    }
    if (held.pid && held.pid !== process.pid && alive(held.pid)) {
      throw new Error(
        `Vigil is already running at ${held.url ?? 'an unknown address'} (pid ${held.pid}) on ${dataDir}; stop it first or use --data-dir <another dir>`,
      );
    }
    await write('starting', 'w');
  }
  return {
    publish: (url) => write(url, 'w'),
    release: () => rm(file, { force: true }),
  };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

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
  /** Routes of the twin's stand-ins (S3 uploads), served beside ROUTES. */
  extraRoutes?: readonly Route[];
  limits?: Partial<ListenerLimits>;
  /** The built console, served at `/` beside the API (public files; the API keeps its auth). */
  consoleDir?: string;
  /** Puts a stand-in between a route and its handler (the twin's `live` alias before the score handler). */
  wrapHandler?: (name: keyof typeof HANDLERS, handler: ApiHandler) => ApiHandler;
}): Promise<{ server: Server; port: number; handlers: Record<keyof typeof HANDLERS, unknown> }> {
  const { routes, handlers } = await apiRoutes({ wrapHandler: opts.wrapHandler });
  const api = apiGatewayListener([...routes, ...(opts.extraRoutes ?? [])]);
  const server = createLimitedServer(
    opts.consoleDir ? withStaticFiles(opts.consoleDir, api) : api,
    opts.limits,
  );
  await listen(server, opts.port, opts.host ?? '127.0.0.1');
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, handlers };
}

/**
 * `ROUTES` bound to the handler modules Lambda runs, each non-public route guarded by the
 * authorizer. Exported so tests can drive the listener in-process (the fuzz suite).
 */
export async function apiRoutes(
  opts: { wrapHandler?: (name: keyof typeof HANDLERS, handler: ApiHandler) => ApiHandler } = {},
): Promise<{
  routes: Route[];
  handlers: Record<keyof typeof HANDLERS, unknown>;
}> {
  const { HANDLER_MODULES: handlers } = await import('./handler-modules.ts');
  const authorize = handlers.authorizer as (
    e: unknown,
  ) => Promise<{ isAuthorized: boolean; context?: Record<string, string> }>;
  // One wrapper per handler, whatever number of routes share it.
  const wrappers = new Map<keyof typeof HANDLERS, ApiHandler>();
  const wrapped = (name: keyof typeof HANDLERS): ApiHandler => {
    let h = wrappers.get(name);
    if (!h) {
      h = opts.wrapHandler
        ? opts.wrapHandler(name, handlers[name] as ApiHandler)
        : (handlers[name] as ApiHandler);
      wrappers.set(name, h);
    }
    return h;
  };
  const routes: Route[] = ROUTES.map((r) => ({
    method: r.method,
    path: r.path,
    handler: wrapped(r.handler),
    guard:
      r.auth === 'public'
        ? undefined
        : async (event) => {
            if (!event.headers?.['x-api-key'])
              return unauthorized(401, 'Unauthorized', 'Missing x-api-key header');
            const res = await authorize(event);
            if (!res.isAuthorized) return unauthorized(403, 'Forbidden', 'Invalid API key');
            // As API Gateway does: the authorizer's context reaches the handler (scopes, actor).
            Object.assign(event.requestContext, { authorizer: { lambda: res.context ?? {} } });
            return undefined;
          },
  }));
  return { routes, handlers };
}

/** Limits of the listener that stands in for API Gateway (the twin and the EKS scorer). */
export interface ListenerLimits {
  /** Time to receive a request's headers, ms (slowloris). @default 10000 */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, body included, ms. @default 30000 */
  readonly requestTimeoutMs: number;
  /** Idle time of a kept-alive connection between requests, ms. @default 5000 */
  readonly keepAliveTimeoutMs: number;
  /** Requests served on one kept-alive connection before it is closed. @default 1000 */
  readonly maxRequestsPerSocket: number;
  /** Open connections; more are refused at accept time. @default 256 */
  readonly maxConnections: number;
  /** How often expired requests are looked for, ms (Node checks on an interval). @default 1000 */
  readonly checkIntervalMs: number;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1_000,
  maxConnections: 256,
  checkIntervalMs: 1_000,
};

/**
 * A node:http server with the limits API Gateway would impose in front of Lambda: Node's
 * defaults hold a slow body for 300 s and accept connections without bound.
 */
export function createLimitedServer(
  listener: Parameters<typeof createServer>[1],
  limits: Partial<ListenerLimits> = {},
): Server {
  const l = { ...DEFAULT_LISTENER_LIMITS, ...limits };
  const server = createServer(
    {
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      keepAliveTimeout: l.keepAliveTimeoutMs,
      connectionsCheckingInterval: l.checkIntervalMs,
    },
    listener,
  );
  server.maxRequestsPerSocket = l.maxRequestsPerSocket;
  server.maxConnections = l.maxConnections;
  return server;
}

/** `listen`, with a sentence instead of a bare EADDRINUSE (and no hang) when the port is taken. */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(
          new Error(`port ${port} on ${host} is already in use: stop what runs there or pass --port <n>`),
        );
      } else if (e.code === 'EACCES') {
        reject(new Error(`not allowed to listen on ${host}:${port}: pick a port above 1023 with --port`));
      } else reject(e);
    });
    server.listen(port, host, () => resolve());
  });
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
 * the plain local keys (mode 0600) so `npm start` can print a ready-to-paste
 * curl and `vigil models …` finds its key: `local-api-key` is the operator's
 * admin key, `local-score-api-key` a score-scoped one. Production keys never
 * exist in plain text at rest.
 */
async function ensureApiKeys(dataDir: string): Promise<{ admin: string; score: string }> {
  const keysFile = path.join(dataDir, 'api-keys.json');
  const files = {
    admin: path.join(dataDir, 'local-api-key'),
    score: path.join(dataDir, 'local-score-api-key'),
  };
  const set: { keys: ApiKeyRecord[] } = existsSync(keysFile)
    ? ApiKeySetSchema.parse(JSON.parse(await readFile(keysFile, 'utf8')))
    : { keys: [] };
  if (!existsSync(files.admin)) set.keys = [];
  const out = { admin: '', score: '' };
  let changed = false;
  for (const scope of ['admin', 'score'] as const) {
    if (existsSync(files[scope])) {
      out[scope] = (await readFile(files[scope], 'utf8')).trim();
      continue;
    }
    const { key, record } = generateApiKey(scope);
    set.keys.push(record);
    await writeFileAtomic(files[scope], `${key}\n`);
    out[scope] = key;
    changed = true;
  }
  // Atomic (temp file + rename): the authorizer re-reads this file while the twin serves.
  if (changed) await writeFileAtomic(keysFile, `${JSON.stringify(set, null, 2)}\n`);
  return out;
}

/** Who else reads each EMF line (the release metrics store of the running twin). */
const emfListeners = new Set<(line: string) => void>();
/** Subscribes to the EMF lines the handlers write; returns the unsubscribe. */
function onEmfLine(listener: (line: string) => void): () => void {
  emfListeners.add(listener);
  return () => emfListeners.delete(listener);
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
    if (typeof args[0] === 'string' && args[0].startsWith('{"_aws"')) {
      sink.log(args[0]);
      for (const l of emfListeners) l(args[0]);
    } else original(...args);
  };
}

/**
 * Builds the console with esbuild (a dev dependency). The specifier is computed so that bundlers
 * (the EKS scorer's image, which never starts the twin) leave it out instead of importing esbuild.
 */
async function buildConsoleInto(dir: string): Promise<string> {
  const build: typeof import('../web/build.ts') = await import(
    new URL('../web/build.ts', import.meta.url).href
  );
  return build.buildConsole(dir);
}
