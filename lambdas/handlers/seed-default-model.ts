import * as z from 'zod/mini';
import { S3BlobStore } from '#adapters/blob-store-s3.ts';
import {
  type CustomResourceOutcome,
  type CustomResourceRequest,
  sendCustomResourceResponse,
} from '#adapters/custom-resource.ts';
import { s3Client } from '#adapters/s3-client.ts';
import { type BootstrapResult, seedDefaultModel } from '#app/bootstrap.ts';
import type { ModelsDeps } from '#app/models.ts';
import { DEFAULT_MODEL_SEED } from '#contracts';
import { lambdaHandler } from '#runtime/lambda.ts';
import { log, member, registry, store } from '#runtime/root.ts';

const Request = z.object({
  RequestType: z.enum(['Create', 'Update', 'Delete']),
  ResponseURL: z.string().check(z.url()),
  StackId: z.string(),
  RequestId: z.string(),
  LogicalResourceId: z.string(),
  ResourceProperties: z.object({
    [DEFAULT_MODEL_SEED.bucketProperty]: z.string().check(z.minLength(3)),
    [DEFAULT_MODEL_SEED.keyProperty]: z.string().check(z.minLength(1)),
  }),
});

/** Ports of the seed: the registry use case's, where the asset lies, and how CloudFormation hears back. */
export interface SeedDeps {
  readonly models: () => Pick<ModelsDeps, 'registry' | 'store'>;
  readonly readAsset: (bucket: string, key: string) => Promise<Uint8Array>;
  readonly respond: (req: CustomResourceRequest, out: CustomResourceOutcome) => Promise<void>;
  readonly logger?: { info(msg: string, extra?: object): void; error(msg: string, extra?: object): void };
}

/**
 * The Data stack's default-model seed (a CloudFormation custom resource): on Create and Update it
 * registers the shipped package (a CDK file asset) as `production` when the model has none, through
 * {@link seedDefaultModel}, so a fresh environment scores after `cdk deploy` as the twin does on first
 * start; a promotion made since is never overwritten. Delete leaves the registry alone: models
 * outlive the seed (the tables follow their own removal policy). Every request is answered, a
 * failure with its reason, so a broken seed fails the deploy instead of hanging it for an hour.
 */
export const createSeedHandler =
  (deps: SeedDeps) =>
  async (event: unknown): Promise<void> => {
    const parsed = Request.safeParse(event);
    if (!parsed.success) {
      // Answer what can be answered: a request without a response URL is not CloudFormation's.
      const raw = (event ?? {}) as Partial<CustomResourceRequest>;
      const reason = `Invalid seed request: ${parsed.error.issues[0]?.message ?? 'invalid'}`;
      deps.logger?.error(reason);
      if (typeof raw.ResponseURL !== 'string') throw new Error(reason);
      await deps.respond(raw as CustomResourceRequest, {
        status: 'FAILED',
        physicalResourceId: DEFAULT_MODEL_SEED.physicalId,
        reason,
      });
      return;
    }
    const req = parsed.data;
    const physicalResourceId = DEFAULT_MODEL_SEED.physicalId;
    if (req.RequestType === 'Delete') {
      await deps.respond(req, { status: 'SUCCESS', physicalResourceId, reason: 'registry left as it is' });
      return;
    }
    let outcome: CustomResourceOutcome;
    try {
      const props = req.ResourceProperties;
      const zip = await deps.readAsset(
        props[DEFAULT_MODEL_SEED.bucketProperty] as string,
        props[DEFAULT_MODEL_SEED.keyProperty] as string,
      );
      const result: BootstrapResult = await seedDefaultModel(deps.models(), zip);
      deps.logger?.info('default model seed', { ...result });
      outcome = {
        status: 'SUCCESS',
        physicalResourceId,
        reason: `${result.name}: ${result.action}`,
        data: {
          Model: result.name,
          Action: result.action,
          ...(result.production !== undefined ? { ProductionVersion: String(result.production) } : {}),
        },
      };
    } catch (e) {
      deps.logger?.error('default model seed failed', { error: String(e) });
      outcome = {
        status: 'FAILED',
        physicalResourceId,
        reason: `Seeding the default model failed: ${String(e)}`,
      };
    }
    await deps.respond(req, outcome);
  };

const s3 = /* @__PURE__ */ member(() => s3Client());

/** Lambda entry point (`HANDLERS.seedDefaultModel`): ports from the process-wide composition root. */
export const handler = lambdaHandler(
  createSeedHandler({
    models: () => ({ registry: registry(), store: store() }),
    readAsset: (bucket, key) => new S3BlobStore({ client: s3(), bucket }).get(`s3://${bucket}/${key}`),
    respond: (req, out) => sendCustomResourceResponse(req, out),
    logger: log(),
  }),
);
