import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';

/** A template resource as the assertions read it. */
// biome-ignore lint/suspicious/noExplicitAny: template JSON has no static type; tests assert its shape.
type CfnResource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

import { REPO_ROOT } from '../../lib/constructs/model-function.ts';
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

  describe('the assertions a deploy runs (semantic, beside the snapshot)', () => {
    const assert = stacks.find((s) => /DeployAssert/.test(s.stackName)) as Stack;
    const resources = Object.entries(
      Template.fromStack(assert).toJSON().Resources as Record<string, CfnResource>,
    );
    const text = (v: unknown) => JSON.stringify(v);
    const call = (type: string, where: (p: CfnResource['Properties']) => boolean = () => true) => {
      const hits = resources.filter(
        ([, r]) => r.Type === `Custom::DeployAssert@${type}` && where(r.Properties),
      );
      expect(hits.length, type).toBeGreaterThan(0);
      return hits[0] as [string, CfnResource];
    };
    /** Every resource `id` waits for, directly or through the ones it waits for. */
    const upstream = (id: string, seen = new Set<string>()): Set<string> => {
      for (const dep of resources.find(([rid]) => rid === id)?.[1].DependsOn ?? []) {
        if (!seen.has(dep)) {
          seen.add(dep);
          upstream(dep, seen);
        }
      }
      return seen;
    };

    it('scores with a key it created, after checking the generated secret held none', () => {
      const [readId] = call('SdkCallSecretsManagergetSecretValue');
      const [writeId] = call('SdkCallSecretsManagerputSecretValue');
      const [scoreId, score] = call(
        'HttpCall',
        (p) => text(p.parameters).includes('x-api-key') && text(p.parameters).includes('/score'),
      );
      expect(JSON.parse(score.Properties.expected)).toMatchObject({
        $ObjectLike: { status: 200, body: { version: 1 } },
      });
      expect([...upstream(scoreId)]).toEqual(expect.arrayContaining([readId, writeId]));
    });

    it('fires an alarm and waits for its SNS delivery in the probe queue', () => {
      const [firedId] = call('SdkCallCloudWatchsetAlarmState', (p) => text(p).includes('ScoreErrors'));
      const [inboxId, inbox] = call('SdkCallSQSreceiveMessage', (p) => text(p).includes('AlarmInbox'));
      expect(inbox.Properties.expected).toContain('Vigil-dev-ScoreErrors');
      expect(upstream(inboxId).has(firedId)).toBe(true);
    });

    it('runs one scheduled drift evaluation and waits for its report', () => {
      const [evalId] = call(
        'SdkCallLambdainvoke',
        (p) => text(p).includes('Evaluator') && !text(p).includes('integ-unregistered'),
      );
      const [reportId, report] = call('HttpCall', (p) => text(p.parameters).includes('/drift'));
      expect(report.Properties.expected).toMatch(/"reports":\{"\$ArrayWith"/);
      expect(upstream(reportId).has(evalId)).toBe(true);
    });

    it('rolls a code canary back: new version, rollback alarm in ALARM, deployment stopped, live unchanged', () => {
      const [publishId] = call('SdkCallLambdapublishVersion');
      const [alarmId] = call('SdkCallCloudWatchsetAlarmState', (p) => text(p).includes('LiveErrorsAlarm'));
      const [deployId, deploy] = call('SdkCallCodeDeploycreateDeployment');
      expect(text(deploy.Properties.parameters)).toContain(`${publishId}`);
      expect([...upstream(deployId)]).toEqual(expect.arrayContaining([publishId, alarmId]));
      const [stoppedId, stopped] = call('SdkCallCodeDeploygetDeployment');
      expect(stopped.Properties.expected).toContain('Stopped');
      const [afterId] = call('SdkCallLambdagetAlias', (p) =>
        text(p.expected ?? '').includes('FunctionVersion'),
      );
      expect(upstream(afterId).has(stoppedId)).toBe(true);
    });
  });

  it('deploys (npm run test:integ:deploy) the assertion stack and its dependencies, no cluster', () => {
    const script = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts[
      'test:integ:deploy'
    ];
    const pattern = /cdk deploy --app '[^']+' '([^']+)'/.exec(script)?.[1] ?? '';
    const glob = new RegExp(`^${pattern.replace(/\*/g, '.*')}$`);
    const selected = stacks.filter((s) => glob.test(s.stackName));
    expect(selected.map((s) => s.stackName)).toEqual([expect.stringMatching(/DeployAssert/)]);
    const upstream = new Set<string>();
    const walk = (s: Stack): void => {
      for (const d of s.dependencies) {
        if (!upstream.has(d.stackName)) {
          upstream.add(d.stackName);
          walk(d);
        }
      }
    };
    for (const s of selected) walk(s);
    expect([...upstream].sort()).toEqual([
      'Vigil-dev-Api',
      'Vigil-dev-Data',
      'Vigil-dev-Drift',
      'Vigil-dev-Observability',
      'VigilIntegProbe',
    ]);
  });

  it.each(stacks.map((s) => [s.stackName, s] as const))(
    'matches the committed snapshot of %s',
    async (name, stack) => {
      await expect(normalized(stack)).toMatchFileSnapshot(`integ.vigil.ts.snapshot/${name}.template.json`);
    },
  );
});
