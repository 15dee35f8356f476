import { describe, expect, it } from 'vitest';
import {
  type CodeDeployApi,
  CodeDeployLifecycleHooks,
  CodeDeployScoreDeployments,
  UNFINISHED_DEPLOYMENT_STATUSES,
} from '#adapters/codedeploy-deployments.ts';

/** A simulated CodeDeploy: deployments of groups with statuses, listed two per page like the real API pages. */
class FakeCodeDeploy implements CodeDeployApi {
  readonly deployments: Array<{ id: string; app: string; group: string; status: string }> = [];
  readonly hookAnswers: unknown[] = [];
  async listDeployments(input: Parameters<CodeDeployApi['listDeployments']>[0]) {
    const match = this.deployments.filter(
      (d) =>
        d.app === input.applicationName &&
        d.group === input.deploymentGroupName &&
        input.includeOnlyStatuses.includes(d.status),
    );
    const start = input.nextToken ? Number(input.nextToken) : 0;
    const page = match.slice(start, start + 2).map((d) => d.id);
    return { deployments: page, ...(start + 2 < match.length ? { nextToken: String(start + 2) } : {}) };
  }
  async putLifecycleEventHookExecutionStatus(input: unknown) {
    this.hookAnswers.push(input);
    return {};
  }
}

const names = { applicationName: 'vigil-dev-score', deploymentGroupName: 'vigil-dev-score-live' };

describe('CodeDeployScoreDeployments', () => {
  it('lists the unfinished deployments of its group only, across pages', async () => {
    const api = new FakeCodeDeploy();
    api.deployments.push(
      { id: 'd-1', app: 'vigil-dev-score', group: 'vigil-dev-score-live', status: 'InProgress' },
      { id: 'd-2', app: 'vigil-dev-score', group: 'vigil-dev-score-live', status: 'Succeeded' },
      { id: 'd-3', app: 'vigil-dev-score', group: 'vigil-dev-score-live', status: 'Created' },
      { id: 'd-4', app: 'vigil-dev-score', group: 'vigil-dev-score-live', status: 'Queued' },
      { id: 'd-5', app: 'vigil-prod-score', group: 'vigil-prod-score-live', status: 'InProgress' },
      { id: 'd-6', app: 'vigil-dev-score', group: 'vigil-dev-score-live', status: 'Stopped' },
    );
    const d = new CodeDeployScoreDeployments({ api, ...names });
    expect(await d.running()).toEqual(['d-1', 'd-3', 'd-4']);
  });

  it('says none when every deployment of the group ended', async () => {
    const api = new FakeCodeDeploy();
    for (const status of ['Succeeded', 'Failed', 'Stopped']) {
      api.deployments.push({
        id: `d-${status}`,
        app: names.applicationName,
        group: names.deploymentGroupName,
        status,
      });
    }
    expect(await new CodeDeployScoreDeployments({ api, ...names }).running()).toEqual([]);
  });

  it('treats every status that can still move live as unfinished', () => {
    expect([...UNFINISHED_DEPLOYMENT_STATUSES].sort()).toEqual([
      'Baking',
      'Created',
      'InProgress',
      'Queued',
      'Ready',
    ]);
  });

  it('answers a lifecycle hook with its ids and status', async () => {
    const api = new FakeCodeDeploy();
    await new CodeDeployLifecycleHooks(api).report(
      { deploymentId: 'd-9', lifecycleEventHookExecutionId: 'e-9' },
      'Failed',
    );
    expect(api.hookAnswers).toEqual([
      { deploymentId: 'd-9', lifecycleEventHookExecutionId: 'e-9', status: 'Failed' },
    ]);
  });

  it('refuses to be built without the group names', () => {
    expect(
      () =>
        new CodeDeployScoreDeployments({
          api: new FakeCodeDeploy(),
          applicationName: '',
          deploymentGroupName: 'g',
        }),
    ).toThrow(/required/);
  });
});
