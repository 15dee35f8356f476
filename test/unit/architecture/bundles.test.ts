import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { HANDLERS } from '#contracts';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/**
 * What each function's bundle imports from the AWS SDK at init (static imports) and later
 * (dynamic imports), built as the CDK construct builds it (ESM, minified), except that the SDK is
 * left external here so that its imports can be classified; the deployed bundles carry it
 * (`BUNDLE` in lib/constructs/model-function.ts, checked in test/infra/function-bundle.test.ts).
 */
async function sdkImports(handler: keyof typeof HANDLERS) {
  const r = await build({
    entryPoints: [path.join(ROOT, HANDLERS[handler])],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    minify: true,
    write: false,
    outdir: path.join(ROOT, '.bundle-test'),
    external: ['@aws-sdk/*'],
    metafile: true,
    logLevel: 'silent',
  });
  const out = Object.values(r.metafile.outputs)[0];
  const sdk = (kind: string) =>
    [
      ...new Set(
        out.imports
          .filter((i) => i.external && i.kind === kind && i.path.startsWith('@aws-sdk/'))
          .map((i) => i.path),
      ),
    ].sort();
  const inputs = Object.keys(out.inputs);
  return { atInit: sdk('import-statement'), onDemand: sdk('dynamic-import'), inputs, bytes: out.bytes };
}

describe('function bundles', () => {
  it('score loads only the SDK clients it uses at init (no Secrets Manager, no EventBridge)', async () => {
    const b = await sdkImports('score');
    expect(b.atInit).toEqual(['@aws-sdk/client-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/lib-dynamodb']);
    expect(b.inputs.some((i) => i.includes('adapters/secrets.ts'))).toBe(false);
    expect(b.inputs.some((i) => i.includes('adapters/events.ts'))).toBe(false);
    // The tracer lives beside the bundle (TRACER.file), not in it.
    expect(b.inputs.some((i) => /powertools\/tracer|aws-xray-sdk/.test(i))).toBe(false);
  }, 60_000);

  it('the authorizer imports no SDK at init and carries no registry or scoring code', async () => {
    const b = await sdkImports('authorizer');
    expect(b.atInit).toEqual([]);
    expect(b.onDemand).toEqual(['@aws-sdk/client-secrets-manager']);
    expect(b.inputs.some((i) => /core\/scoring\.ts|adapters\/dynamodb-/.test(i))).toBe(false);
  }, 60_000);

  it('drift-reports carries no scoring code, no S3 and no classic zod', async () => {
    const b = await sdkImports('driftReports');
    expect(b.atInit).toEqual(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb']);
    expect(b.inputs.some((i) => /core\/scoring\.ts|onnx/.test(i))).toBe(false);
    expect(b.inputs.some((i) => /node_modules\/zod\/v4\/classic\//.test(i))).toBe(false);
  }, 60_000);

  it('captures carries no scoring code and no classic zod', async () => {
    const b = await sdkImports('captures');
    expect(b.inputs.some((i) => /core\/scoring\.ts|onnx/.test(i))).toBe(false);
    expect(b.inputs.some((i) => /node_modules\/zod\/v4\/classic\//.test(i))).toBe(false);
  }, 60_000);

  it('models carries what registration needs (S3, the presigner, the servability check) and no classic zod', async () => {
    // Registering verifies the package is servable (core/scoring.ts) and writes it to S3; an
    // upload is a presigned S3 PUT. No Secrets Manager, no EventBridge.
    const b = await sdkImports('models');
    expect(b.atInit).toEqual([
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/client-s3',
      '@aws-sdk/lib-dynamodb',
      '@aws-sdk/s3-request-presigner',
    ]);
    expect(b.inputs.some((i) => /node_modules\/zod\/v4\/classic\//.test(i))).toBe(false);
  }, 60_000);

  it('the drift evaluator loads EventBridge only when it publishes', async () => {
    const b = await sdkImports('driftEvaluate');
    expect(b.atInit).not.toContain('@aws-sdk/client-eventbridge');
    expect(b.onDemand).toContain('@aws-sdk/client-eventbridge');
  }, 60_000);
});
