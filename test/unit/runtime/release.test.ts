import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENV } from '#contracts';
import { releaseSteps } from '#runtime/release.ts';
import { codeDeployments, lifecycleHooks, resetRoot } from '#runtime/root.ts';

/**
 * The release tasks' wiring with the environment CDK gives them (lib/constructs/release-state-machine.ts):
 * every task shares one composition, but only Begin has the deployment group's names.
 */
describe('release task wiring', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    for (const name of Object.values(ENV)) if (name.startsWith('VIGIL_')) delete process.env[name];
    Object.assign(process.env, {
      [ENV.REGISTRY_TABLE]: 'registry',
      [ENV.CAPTURES_TABLE]: 'captures',
      [ENV.SCORE_FUNCTION_NAME]: 'vigil-dev-score',
      [ENV.RELEASE_CONFIG]: '{}',
      [ENV.EVENT_BUS_NAME]: 'bus',
      AWS_REGION: 'eu-west-1',
    });
    resetRoot();
  });
  afterEach(() => {
    process.env = { ...saved };
    resetRoot();
  });

  it('builds the tasks without the deployment group names (Judge, Advance … never ask CodeDeploy)', () => {
    expect(() => releaseSteps()).not.toThrow();
    expect(() => codeDeployments()).toThrow(/VIGIL_SCORE_DEPLOYMENT_APPLICATION is required/);
  });

  it('answers lifecycle hooks without the names (the hook function has none: the event carries the ids)', () => {
    expect(() => lifecycleHooks()).not.toThrow();
  });

  it('asks the deployment group CDK named once both names are set (Begin)', () => {
    process.env[ENV.SCORE_DEPLOYMENT_APPLICATION] = 'vigil-dev-score';
    process.env[ENV.SCORE_DEPLOYMENT_GROUP] = 'vigil-dev-score-live';
    resetRoot();
    expect(typeof codeDeployments().running).toBe('function');
  });
});
