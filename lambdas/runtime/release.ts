import { createReleaseSteps, type ReleaseSteps } from '#app/release.ts';
import { ENV } from '#contracts';
import { parseReleaseSettings } from '#core/release/policy.ts';
import { notifierFrom } from './retrain.ts';
import {
  captureReader,
  events,
  member,
  registry,
  releaseMetrics,
  releases,
  scoreFunctionVersions,
} from './root.ts';

/**
 * The release machine's tasks wired from the composition root: the release store, the score
 * function's versions (the Lambda API, or the twin's simulated `live` alias), per-version
 * readings (CloudWatch, or the twin's metrics store), settings from `VIGIL_RELEASE_CONFIG`.
 * Built once per process; every `release-*` handler calls `releaseSteps()`.
 */
export const releaseSteps = /* @__PURE__ */ member(
  (): ReleaseSteps =>
    createReleaseSteps({
      releases: releases(),
      registry: registry(),
      captures: captureReader(),
      events: events(),
      notifier: notifierFrom(process.env),
      versions: scoreFunctionVersions(),
      metrics: releaseMetrics(),
      // A code deployment shifting `live` shows as weights on it, which Begin refuses.
      codeDeployments: { inProgress: async () => false },
      settings: parseReleaseSettings(process.env[ENV.RELEASE_CONFIG] ?? '{}'),
    }),
);
