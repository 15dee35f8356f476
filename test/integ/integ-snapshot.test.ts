import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { testApp, testEntries } from '../infra/harness.ts';
import { buildIntegApp } from './integ-app.ts';

// Snapshot mode of the integration test (as integ-runner's, assets excluded): the deployed test
// would run exactly these templates, so a change to them is reviewed by refreshing the snapshot
// (`npm run test:integ:update`) rather than slipping into the next real run unseen.
const app = testApp();
buildIntegApp(app, { entries: testEntries() });
const stacks = app.node.findAll().filter(Stack.isStack);

/**
 * Template JSON with content hashes (asset keys, image tags, the code hash in a Lambda version's
 * logical id — bundles carry the checkout's path in their source maps) and the assertions'
 * per-synth salt (a timestamp that makes each deploy re-run them) replaced: none is a change to
 * review, and a clone in another directory must match the same snapshot.
 */
const normalized = (stack: Stack): string =>
  `${JSON.stringify(Template.fromStack(stack).toJSON(), null, 1)
    .replace(/[0-9a-f]{64}/g, 'ASSET_HASH')
    .replace(/(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}/g, '$1CODE_HASH')
    .replace(/"salt": "\d+"/g, '"salt": "SALT"')}\n`;

describe('integration test app (snapshot mode, no deploy)', () => {
  it('contains the environment under test, the probe and the assertion stack', () => {
    expect(stacks.map((s) => s.stackName).sort()).toEqual(
      expect.arrayContaining(['Vigil-dev-Api', 'Vigil-dev-Data', 'Vigil-dev-Drift', 'VigilIntegProbe']),
    );
    expect(stacks.some((s) => /DeployAssert/.test(s.stackName))).toBe(true);
  });

  it.each(stacks.map((s) => [s.stackName, s] as const))(
    'matches the committed snapshot of %s',
    async (name, stack) => {
      await expect(normalized(stack)).toMatchFileSnapshot(`integ.vigil.ts.snapshot/${name}.template.json`);
    },
  );
});
