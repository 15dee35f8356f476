import { LambdaClient } from '@aws-sdk/client-lambda';
import { LambdaScoreFunctionVersions } from '#adapters/lambda-versions.ts';
import { createReleaseSteps, type ReleaseSteps } from '#app/release.ts';
import { ENV } from '#contracts';
import { parseReleaseSettings } from '#core/release/policy.ts';
import type { ReleaseMetricsReader } from '#core/release/ports.ts';
import { notifierFrom } from './retrain.ts';
import { captureReader, events, member, registry, releases } from './root.ts';

/**
 * Per-version readings. The CloudWatch `GetMetricData` reader and the twin's are the serving
 * side's (issue 11's other half); until one is registered here, a judgement fails loudly and
 * the machine's Catch rolls the release back — never a silent pass.
 */
let metricsReader: (() => ReleaseMetricsReader) | undefined;

/** Registers how this process reads per-version metrics (CloudWatch in AWS, the twin's store locally). */
export function useReleaseMetrics(factory: () => ReleaseMetricsReader): void {
  metricsReader = factory;
}

const unavailableMetrics: ReleaseMetricsReader = {
  async read() {
    throw new Error('No ReleaseMetricsReader is configured in this process: cannot judge a release');
  },
};

/**
 * The release machine's tasks wired from the composition root plus the release-only adapters:
 * the score function's versions (Lambda API), per-version metrics, settings from
 * `VIGIL_RELEASE_CONFIG`. Built once per process; every `release-*` handler calls `releaseSteps()`.
 */
export const releaseSteps = /* @__PURE__ */ member((): ReleaseSteps => {
  const fn = process.env[ENV.SCORE_FUNCTION_NAME];
  if (!fn) throw new Error(`Environment variable ${ENV.SCORE_FUNCTION_NAME} is required`);
  return createReleaseSteps({
    releases: releases(),
    registry: registry(),
    captures: captureReader(),
    events: events(),
    notifier: notifierFrom(process.env),
    versions: new LambdaScoreFunctionVersions({ client: new LambdaClient({}), functionName: fn }),
    metrics: metricsReader?.() ?? unavailableMetrics,
    // A code deployment shifting `live` shows as weights on it, which Begin refuses.
    codeDeployments: { inProgress: async () => false },
    settings: parseReleaseSettings(process.env[ENV.RELEASE_CONFIG] ?? '{}'),
  });
});
