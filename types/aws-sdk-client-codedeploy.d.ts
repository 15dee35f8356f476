/**
 * The subset of `@aws-sdk/client-codedeploy` that Vigil calls (lambdas/runtime/root.ts). The package
 * is not a dependency of this repository: the Lambda Node.js runtime ships the whole SDK v3 and the
 * bundles keep `@aws-sdk/*` external, and nothing outside Lambda (the twin, the tests) loads it.
 * Shapes as in the SDK's `ListDeploymentsCommandInput/Output` and
 * `PutLifecycleEventHookExecutionStatusCommandInput`.
 */
declare module '@aws-sdk/client-codedeploy' {
  export class CodeDeployClient {
    constructor(config?: { maxAttempts?: number; region?: string });
    send<O>(command: { readonly input: unknown; readonly __output?: O }): Promise<O>;
  }
  export class ListDeploymentsCommand {
    constructor(input: {
      applicationName?: string;
      deploymentGroupName?: string;
      includeOnlyStatuses?: string[];
      nextToken?: string;
    });
    readonly input: unknown;
    readonly __output?: { deployments?: string[]; nextToken?: string };
  }
  export class PutLifecycleEventHookExecutionStatusCommand {
    constructor(input: {
      deploymentId?: string;
      lifecycleEventHookExecutionId?: string;
      status?: 'Pending' | 'InProgress' | 'Succeeded' | 'Failed' | 'Skipped' | 'Unknown';
    });
    readonly input: unknown;
    readonly __output?: { lifecycleEventHookExecutionId?: string };
  }
}
