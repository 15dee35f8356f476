import type { CodeDeployments, LifecycleHook, LifecycleHookReporter } from '#core/release/ports.ts';

/**
 * The two CodeDeploy calls Vigil makes, in the SDK's own shapes. The runtime root builds it from
 * `@aws-sdk/client-codedeploy` (bundled like every SDK client); tests pass a simulated CodeDeploy.
 */
export interface CodeDeployApi {
  listDeployments(input: {
    readonly applicationName: string;
    readonly deploymentGroupName: string;
    readonly includeOnlyStatuses: readonly string[];
    readonly nextToken?: string;
  }): Promise<{ readonly deployments?: readonly string[]; readonly nextToken?: string }>;
  putLifecycleEventHookExecutionStatus(input: {
    readonly deploymentId: string;
    readonly lifecycleEventHookExecutionId: string;
    readonly status: 'Succeeded' | 'Failed';
  }): Promise<unknown>;
}

/**
 * Deployment statuses that have not ended (CodeDeploy's `DeploymentStatus` minus `Succeeded`,
 * `Failed`, `Stopped`): a deployment in any of them may still move `live`.
 */
export const UNFINISHED_DEPLOYMENT_STATUSES = ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'] as const;

/**
 * The score function's code deployments on CodeDeploy: the deployment group that shifts `live`
 * (`scoreDeploymentNames` in the contracts).
 */
export class CodeDeployScoreDeployments implements CodeDeployments {
  readonly #api: CodeDeployApi;
  readonly #application: string;
  readonly #group: string;

  constructor(opts: CodeDeployScoreDeploymentsOptions) {
    if (!opts.applicationName || !opts.deploymentGroupName) {
      throw new Error('CodeDeployScoreDeployments: applicationName and deploymentGroupName are required');
    }
    this.#api = opts.api;
    this.#application = opts.applicationName;
    this.#group = opts.deploymentGroupName;
  }

  async running(): Promise<readonly string[]> {
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      const out = await this.#api.listDeployments({
        applicationName: this.#application,
        deploymentGroupName: this.#group,
        includeOnlyStatuses: UNFINISHED_DEPLOYMENT_STATUSES,
        ...(nextToken ? { nextToken } : {}),
      });
      ids.push(...(out.deployments ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    return ids;
  }
}

/** Answers CodeDeploy lifecycle hooks (the deployment's ids come in the hook's event: no names needed). */
export class CodeDeployLifecycleHooks implements LifecycleHookReporter {
  readonly #api: Pick<CodeDeployApi, 'putLifecycleEventHookExecutionStatus'>;

  constructor(api: Pick<CodeDeployApi, 'putLifecycleEventHookExecutionStatus'>) {
    this.#api = api;
  }

  async report(hook: LifecycleHook, status: 'Succeeded' | 'Failed'): Promise<void> {
    await this.#api.putLifecycleEventHookExecutionStatus({
      deploymentId: hook.deploymentId,
      lifecycleEventHookExecutionId: hook.lifecycleEventHookExecutionId,
      status,
    });
  }
}

/** Options of {@link CodeDeployScoreDeployments}. */
export interface CodeDeployScoreDeploymentsOptions {
  readonly api: CodeDeployApi;
  /** `scoreDeploymentNames(env).application` (`ENV.SCORE_DEPLOYMENT_APPLICATION`). */
  readonly applicationName: string;
  /** `scoreDeploymentNames(env).deploymentGroup` (`ENV.SCORE_DEPLOYMENT_GROUP`). */
  readonly deploymentGroupName: string;
}
