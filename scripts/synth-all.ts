/**
 * `npm run synth`: synthesizes dev, staging and prod offline into `cdk.out/<env>` with CDK's
 * built-in CloudFormation validation and the cdk-nag AwsSolutions plugin on (bin/app.ts), then
 * prints the wall time per environment and the zipped size of every function bundle.
 *
 * Exits non-zero when a synth fails or the score bundle exceeds its budget (1 MB zipped; the wasm
 * runtime ships in the layer and is not counted).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { ENV_NAMES } from '../lib/config.ts';
import { REPO_ROOT } from '../lib/constructs/model-function.ts';

const SCORE_BUDGET_BYTES = 1024 * 1024;
/** A finding line of `@cdklabs/cdk-validator-cfnguard`, e.g. `ERROR [CT.S3.PR.2]: … (cdk-validator-cfnguard)`. */
const GUARD_FINDING = /^ERROR \[CT\.[A-Z0-9.]+\]:.*\(cdk-validator-cfnguard\)$/gm;
/** Per-entry overhead of a zip archive (local header + central directory), name length aside. */
const ZIP_ENTRY_OVERHEAD = 76;

const listFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });

/** Size of `dir` as Lambda's zip would store it: raw deflate per file plus zip headers. */
export const zippedSize = (dir: string): number =>
  listFiles(dir).reduce((sum, file) => {
    const data = readFileSync(file);
    const stored = Math.min(deflateRawSync(data, { level: 9 }).length, data.length);
    return sum + stored + ZIP_ENTRY_OVERHEAD + 2 * file.slice(dir.length + 1).length;
  }, 22);

interface BundleSize {
  readonly stack: string;
  readonly service: string;
  readonly bytes: number;
}

/** Zipped bundle size of every Vigil function (those with POWERTOOLS_SERVICE_NAME) in an assembly. */
const bundleSizes = (outDir: string): BundleSize[] =>
  readdirSync(outDir)
    .filter((f) => f.endsWith('.template.json'))
    .flatMap((file) => {
      const template = JSON.parse(readFileSync(join(outDir, file), 'utf8')) as {
        Resources: Record<string, { Type: string; Properties?: Record<string, any> }>;
      };
      return Object.values(template.Resources)
        .filter(
          (r) =>
            r.Type === 'AWS::Lambda::Function' &&
            r.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME,
        )
        .map((r) => {
          const key = String(r.Properties?.Code?.S3Key ?? '');
          const assetDir = join(outDir, `asset.${key.replace(/\.zip$/, '')}`);
          return {
            stack: file.replace('.template.json', ''),
            service: r.Properties?.Environment.Variables.POWERTOOLS_SERVICE_NAME as string,
            bytes: zippedSize(assetDir),
          };
        });
    });

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

let failed = false;
for (const env of ENV_NAMES) {
  const outDir = join(REPO_ROOT, 'cdk.out', env);
  const started = performance.now();
  const result = spawnSync('npx', ['cdk', 'synth', '-c', `env=${env}`, '-o', outDir, '-q'], {
    cwd: REPO_ROOT,
    stdio: ['inherit', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' },
  });
  process.stdout.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(`synth ${env}: FAILED after ${seconds} s (exit ${result.status})`);
    failed = true;
    continue;
  }
  // The CDK CLI exits 0 when only the guard plugin (CDK policy validation) reports: count its
  // findings here, so an unacknowledged Control Tower control fails the synth like cdk-nag does.
  const guardFindings = `${result.stdout}\n${result.stderr}`.match(GUARD_FINDING) ?? [];
  if (guardFindings.length > 0) {
    console.error(
      `synth ${env}: ${guardFindings.length} unacknowledged guard finding(s) above (acknowledge with a reason in lib/guard-acknowledgements.ts, or fix them)`,
    );
    failed = true;
  }
  console.log(`synth ${env}: ${seconds} s -> ${outDir}`);
  for (const b of bundleSizes(outDir)) {
    const overBudget = b.service === 'vigil-score' && b.bytes > SCORE_BUDGET_BYTES;
    if (overBudget) failed = true;
    console.log(
      `  ${b.stack.padEnd(22)} ${b.service.padEnd(22)} ${kb(b.bytes).padStart(12)}${overBudget ? '  OVER 1 MB BUDGET' : ''}`,
    );
  }
}
process.exit(failed ? 1 : 0);
