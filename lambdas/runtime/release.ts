import { SFNClient } from '@aws-sdk/client-sfn';
import { SfnReleaseExecutions } from '#adapters/sfn-release-executions.ts';
import { createReleaseSteps, type ReleaseSteps } from '#app/release.ts';
import { ENV } from '#contracts';
import { parseReleaseSettings } from '#core/release/policy.ts';
import { notifierFrom } from './retrain.ts';
import {
  captureReader,
  codeDeployments,
  events,
  localReleaseExecutions,
  member,
  registry,
  releaseMetrics,
  releases,
  scoreFunctionVersions,
} from './root.ts';

/**
 * The release machine's tasks wired from the composition root: the release store, the score
 * function's versions (the Lambda API, or the twin's simulated `live` alias), per-version
 * readings (CloudWatch, or the twin's metrics store), the score deployment group's running code
 * deployments (CodeDeploy, or the twin's account of its own), settings from `VIGIL_RELEASE_CONFIG`.
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
      // Asked only by Begin (the one task with the deployment group's names and IAM): built then.
      codeDeployments: { running: () => codeDeployments().running() },
      // An abort's Rollback stops the release's execution: the twin's runner, or Step Functions.
      stopExecutions:
        localReleaseExecutions() ?? new SfnReleaseExecutions({ client: new SFNClient({ maxAttempts: 5 }) }),
      settings: parseReleaseSettings(process.env[ENV.RELEASE_CONFIG] ?? '{}'),
    }),
);
