import * as z from 'zod/mini';
import * as models from '#app/models.ts';
import {
  decideVersion,
  describeRetraining,
  listRetraining,
  type RetrainControlDeps,
  startRetraining,
} from '#app/retrain-control.ts';
import { ALIAS_NAME_PATTERN, EXECUTION_NAME_PATTERN, MODEL_NAME_PATTERN, ROUTES, routeKey } from '#contracts';
import { VigilError } from '#core/errors.ts';
import {
  caller,
  findRoute,
  type HttpEvent,
  type HttpResult,
  httpHandler,
  json,
  parseJsonBody,
  pathParam,
  validate,
  withoutLocalPaths,
} from '#runtime/http.ts';
import { hasStepFunctions, retrainControl } from '#runtime/retrain-control.ts';
import { member, registry, releases, staging, store } from '#runtime/root.ts';

/**
 * The registry API (DESIGN.md §5 control plane): reads for any key, writes for
 * admin-scoped keys (enforced by the route scopes middleware from `ROUTES`).
 * Each route parses its request and calls one use case of `#app/models.ts`;
 * the caller's key id is recorded as the actor of every change.
 */
export type ModelsDeps = models.ModelsDeps & {
  /** Step Functions' side of retraining; absent where no machine is configured (503 on its routes). */
  readonly retraining?: RetrainControlDeps;
};

/** The routes this handler serves: its entries in `ROUTES`. */
const MODEL_ROUTES = ROUTES.filter((r) => r.handler === 'models');

const Reason = z.string().check(z.trim(), z.minLength(1), z.maxLength(1000));
const Revision = z.number().check(z.int(), z.gte(0));
const Version = z.number().check(z.int(), z.positive());

const HistoryQuery = z.strictObject({
  alias: z.optional(z.string().check(z.regex(ALIAS_NAME_PATTERN))),
  at: z.optional(z.iso.datetime({ offset: true })),
});
const StagedBody = z.strictObject({
  uri: z.string().check(z.minLength(1), z.maxLength(2048)),
  reason: z.optional(Reason),
  force: z.optional(z.boolean()),
});
const DecisionBody = z.strictObject({ reason: Reason });
// The edge's check of a manual retraining request; the machine's AcquireLock parses it again.
const RetrainBody = z.strictObject({
  data: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  params: z.optional(
    z.strictObject({
      nEstimators: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1000))),
      maxSamples: z.optional(z.number().check(z.int(), z.gte(2), z.lte(1_000_000))),
      contamination: z.optional(z.union([z.literal('auto'), z.number().check(z.gt(0), z.lt(0.5))])),
    }),
  ),
  seed: z.optional(z.number().check(z.int(), z.gte(0), z.lte(0x7fffffff))),
});
const RetrainingQuery = z.strictObject({
  limit: z.optional(z.pipe(z.string().check(z.regex(/^([1-9][0-9]?|100)$/)), z.transform(Number))),
});

const ExecutionPath = z.object({ executionName: z.string().check(z.regex(EXECUTION_NAME_PATTERN)) });

const needRetraining = (deps: ModelsDeps): RetrainControlDeps => {
  if (!deps.retraining)
    throw new VigilError('ServiceUnavailable', 'Retraining is not configured here (no state machine)');
  return deps.retraining;
};
const SetAliasBody = z.strictObject({
  version: Version,
  expectedRevision: Revision,
  reason: z.optional(Reason),
});
const RollbackBody = z.strictObject({
  to: z.optional(Version),
  expectedRevision: z.optional(Revision),
  reason: Reason,
});
const DecimalQuery = z.pipe(
  z.string().check(z.regex(/^(0|[1-9][0-9]{0,8})$/)),
  z.transform((v: string) => Number(v)),
);
const DeleteQuery = z.strictObject({
  expectedRevision: z.optional(DecimalQuery),
  reason: z.optional(Reason),
});
const ZipQuery = z.strictObject({
  reason: z.optional(Reason),
  force: z.optional(z.enum(['true', 'false'])),
});

/** Content types read as a zipped package rather than JSON. */
const ZIP_TYPES = new Set(['application/zip', 'application/x-zip-compressed', 'application/octet-stream']);

/** Most bytes a zip sent as the request body may have (Lambda's payload limit is 6 MB, base64 inflates). */
export const MAX_ZIP_BODY_BYTES = 4 * 1024 * 1024;

function zipBody(event: HttpEvent): Uint8Array {
  if (!event.body) throw new VigilError('InvalidBody', 'Request body is required (a zipped package)');
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'binary');
  if (bytes.length > MAX_ZIP_BODY_BYTES) {
    throw new VigilError(
      'PayloadTooLarge',
      `Package zip exceeds ${MAX_ZIP_BODY_BYTES} bytes; use POST /v1/models/{model}/uploads for a presigned upload`,
      { maxBytes: MAX_ZIP_BODY_BYTES },
    );
  }
  return new Uint8Array(bytes);
}

const contentType = (event: HttpEvent) =>
  (event.headers?.['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/** The model's path parameter and, where the route has one, the version or alias. */
const modelParam = (event: HttpEvent) => pathParam(event, 'model', MODEL_NAME_PATTERN);
const aliasParam = (event: HttpEvent) => pathParam(event, 'alias', ALIAS_NAME_PATTERN);
const versionParam = (event: HttpEvent) => Number(pathParam(event, 'version', /^[1-9][0-9]{0,8}$/));

const moveBody = (model: string, move: Awaited<ReturnType<typeof models.setAlias>>) => ({
  model,
  alias: move.state.alias,
  ...(move.event?.type === 'alias-deleted' ? {} : { version: move.state.version }),
  revision: move.state.revision,
  changed: move.changed,
  ...(move.event ? { event: move.event } : {}),
});

/** Registry records over HTTP: without the twin's local paths (artifact URIs, bootstrap reasons). */
const handle = async (deps: ModelsDeps, raw: HttpEvent): Promise<HttpResult> => {
  const res = await answer(deps, raw);
  // A package's base64 model.onnx is bytes, not text to scrub (its manifest is scrubbed in `answer`).
  if (raw.rawPath?.endsWith('/package')) return res;
  return res.body ? { ...res, body: JSON.stringify(withoutLocalPaths(JSON.parse(res.body))) } : res;
};

async function answer(deps: ModelsDeps, raw: HttpEvent): Promise<HttpResult> {
  const found = findRoute(raw, MODEL_ROUTES);
  if (!found) {
    const method = raw.requestContext?.http?.method ?? raw.routeKey?.split(' ')[0];
    throw new VigilError('NotFound', `No route for ${method} ${raw.rawPath}`, { method, path: raw.rawPath });
  }
  const { event } = found;
  const key = routeKey(found.route);
  if (key === 'GET /v1/models') return json(200, { models: await models.listModels(deps) });
  const model = modelParam(event);
  // Admin routes only reach here with a caller (the scopes middleware saw to it).
  const actor = caller(event)?.keyId ?? 'unknown';
  switch (key) {
    case 'GET /v1/models/{model}/versions':
      return json(200, await models.describeModel(deps, model));
    case 'GET /v1/models/{model}/versions/{version}/package': {
      const doc = await models.packageOf(deps, model, versionParam(event));
      return json(200, { ...doc, manifest: withoutLocalPaths(doc.manifest) });
    }
    case 'GET /v1/models/{model}/history': {
      const q = validate(HistoryQuery, event.queryStringParameters ?? {}, 'BadRequest');
      return json(
        200,
        await models.history(deps, model, { alias: q.alias, at: q.at ? new Date(q.at) : undefined }),
      );
    }
    case 'POST /v1/models/{model}/versions': {
      let result: models.Registration;
      if (ZIP_TYPES.has(contentType(event))) {
        const q = validate(ZipQuery, event.queryStringParameters ?? {}, 'BadRequest');
        result = await models.registerZip(deps, model, zipBody(event), {
          actor,
          ...(q.reason !== undefined ? { reason: q.reason } : {}),
          force: q.force === 'true',
        });
      } else {
        const b = validate(StagedBody, parseJsonBody(event));
        result = await models.registerStaged(deps, model, b.uri, {
          actor,
          ...(b.reason !== undefined ? { reason: b.reason } : {}),
          force: b.force ?? false,
        });
      }
      return json(result.created ? 201 : 200, { created: result.created, version: result.version });
    }
    case 'POST /v1/models/{model}/uploads':
      return json(201, await models.createUpload(deps, model));
    case 'POST /v1/models/{model}/versions/{version}/approve':
    case 'POST /v1/models/{model}/versions/{version}/reject': {
      const version = versionParam(event);
      const { reason } = validate(DecisionBody, parseJsonBody(event));
      const decision = key.endsWith('/approve') ? 'approve' : 'reject';
      return json(200, await decideVersion(deps, model, version, decision, { actor, reason }));
    }
    case 'POST /v1/models/{model}/retrain': {
      const b = validate(RetrainBody, event.body ? parseJsonBody(event) : {});
      const started = await startRetraining(needRetraining(deps), model, b);
      return json(202, { model, ...started });
    }
    case 'GET /v1/models/{model}/retraining': {
      const q = validate(RetrainingQuery, event.queryStringParameters ?? {}, 'BadRequest');
      return json(200, { model, executions: await listRetraining(needRetraining(deps), model, q.limit) });
    }
    case 'GET /v1/models/{model}/retraining/{executionName}': {
      const { executionName: name } = validate(
        ExecutionPath,
        { executionName: event.pathParameters?.executionName },
        'BadRequest',
      );
      return json(200, { model, ...(await describeRetraining(needRetraining(deps), model, name)) });
    }
    case 'PUT /v1/models/{model}/aliases/{alias}': {
      const b = validate(SetAliasBody, parseJsonBody(event));
      const move = await models.setAlias(deps, model, aliasParam(event), b.version, {
        actor,
        expectedRevision: b.expectedRevision,
        ...(b.reason !== undefined ? { reason: b.reason } : {}),
      });
      return json(200, moveBody(model, move));
    }
    case 'POST /v1/models/{model}/aliases/{alias}/rollback': {
      const b = validate(RollbackBody, parseJsonBody(event));
      const move = await models.rollback(deps, model, aliasParam(event), {
        actor,
        reason: b.reason,
        ...(b.to !== undefined ? { to: b.to } : {}),
        ...(b.expectedRevision !== undefined ? { expectedRevision: b.expectedRevision } : {}),
      });
      return json(200, moveBody(model, move));
    }
    case 'DELETE /v1/models/{model}/aliases/{alias}': {
      const q = validate(DeleteQuery, event.queryStringParameters ?? {}, 'BadRequest');
      const move = await models.deleteAlias(deps, model, aliasParam(event), {
        actor,
        ...(q.reason !== undefined ? { reason: q.reason } : {}),
        ...(q.expectedRevision !== undefined ? { expectedRevision: q.expectedRevision } : {}),
      });
      return json(200, moveBody(model, move));
    }
    default:
      throw new Error(`models handler: route ${key} is in ROUTES but not implemented`);
  }
}

/** Builds the models handler around explicit ports (tests, and the twin's variants). */
export const createModelsHandler = (deps: ModelsDeps) => httpHandler((event) => handle(deps, event));

const deps = /* @__PURE__ */ member(
  (): ModelsDeps => ({
    registry: registry(),
    store: store(),
    staging: staging(),
    releases: releases(),
    ...(hasStepFunctions() ? { retraining: retrainControl() } : {}),
  }),
);

/** Lambda entry point (`HANDLERS.models`): ports from the process-wide composition root. */
export const handler = httpHandler((event) => handle(deps(), event));
