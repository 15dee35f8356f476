import { SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod/mini';
import { SfnReleaseExecutions } from '#adapters/sfn-release-executions.ts';
import { abortRelease, listReleases, type StartDeps, startRelease } from '#app/release.ts';
import { ENV, MODEL_NAME_PATTERN, RELEASE_ID_PATTERN, ROUTES, routeKey } from '#contracts';
import { VigilError } from '#core/errors.ts';
import { parseReleaseSettings } from '#core/release/policy.ts';
import { RELEASE_POLICIES } from '#core/release/types.ts';
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
} from '#runtime/http.ts';
import { codeDeployments, localReleaseExecutions, member, registry, releases } from '#runtime/root.ts';

/**
 * The releases API (issue 11, DESIGN.md §5 control plane, admin scope):
 * `POST /v1/models/{model}/releases` `{ version, policy? }` starts one (202, 409 while one runs
 * or during a code deployment); `GET` lists them with phase, weights and every judgement;
 * `POST …/releases/{releaseId}/abort` `{ reason? }` rolls one back by hand (202; 409 when it ended).
 */
const RELEASE_ROUTES = ROUTES.filter((r) => r.handler === 'releases');

const StartBody = z.strictObject({
  version: z.number().check(z.int(), z.positive()),
  policy: z.optional(z.enum(RELEASE_POLICIES)),
});
const AbortBody = z.strictObject({
  reason: z.optional(z.string().check(z.maxLength(1000))),
});
const ListQuery = z.strictObject({
  limit: z.optional(
    z.pipe(
      z.string().check(z.regex(/^[1-9][0-9]?$/)),
      z.transform((v: string) => Number(v)),
    ),
  ),
});

async function answer(deps: StartDeps, raw: HttpEvent): Promise<HttpResult> {
  const found = findRoute(raw, RELEASE_ROUTES);
  if (!found) throw new VigilError('NotFound', `No route for ${raw.rawPath}`, { path: raw.rawPath });
  const { event } = found;
  const model = pathParam(event, 'model', MODEL_NAME_PATTERN);
  switch (routeKey(found.route)) {
    case 'POST /v1/models/{model}/releases': {
      const b = validate(StartBody, parseJsonBody(event));
      const record = await startRelease(deps, {
        model,
        version: b.version,
        ...(b.policy ? { policy: b.policy } : {}),
        actor: caller(event)?.keyId ?? 'unknown',
      });
      return json(202, record);
    }
    case 'GET /v1/models/{model}/releases': {
      const q = validate(ListQuery, event.queryStringParameters ?? {}, 'BadRequest');
      return json(200, { model, releases: await listReleases(deps, model, { limit: q.limit ?? 20 }) });
    }
    case 'POST /v1/models/{model}/releases/{releaseId}/abort': {
      const releaseId = pathParam(event, 'releaseId', RELEASE_ID_PATTERN);
      // The body is optional (`{}` or none): the reason defaults to "aborted by hand".
      const b = validate(AbortBody, event.body ? parseJsonBody(event) : {});
      const out = await abortRelease(deps, {
        model,
        releaseId,
        ...(b.reason !== undefined ? { reason: b.reason } : {}),
        actor: caller(event)?.keyId ?? 'unknown',
      });
      return json(202, out);
    }
    default:
      throw new Error(`releases handler: route ${routeKey(found.route)} is in ROUTES but not implemented`);
  }
}

/** Builds the handler around explicit ports (tests, the twin). */
export const createReleasesHandler = (deps: StartDeps) => httpHandler((event) => answer(deps, event));

const deps = /* @__PURE__ */ member((): StartDeps => {
  const arn = process.env[ENV.RELEASE_STATE_MACHINE_ARN];
  const executions =
    localReleaseExecutions() ??
    (arn ? new SfnReleaseExecutions({ client: new SFNClient({}), stateMachineArn: arn }) : undefined);
  return {
    releases: releases(),
    registry: registry(),
    codeDeployments: codeDeployments(),
    settings: parseReleaseSettings(process.env[ENV.RELEASE_CONFIG] ?? '{}'),
    ...(executions ? { executions } : {}),
  };
});

/** Lambda entry point (`HANDLERS.releases`). */
export const handler = httpHandler((event) => answer(deps(), event));
