import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ENV, scoreDeploymentNames } from '#contracts';
import type { ModelFunction } from './model-function.ts';

/**
 * The score function's CodeDeploy deployment group by its fixed names (`scoreDeploymentNames`):
 * its ARN, for `codedeploy:ListDeployments` (IAM's resource for it is the deployment group), and the
 * environment a function needs to ask for its running deployments. By name, so the Pipeline stack
 * (the release machine's Begin) needs no reference into the Api stack for it.
 */
export function scoreDeploymentGroup(scope: Construct, envName: string) {
  const names = scoreDeploymentNames(envName);
  return {
    ...names,
    arn: Stack.of(scope).formatArn({
      service: 'codedeploy',
      resource: 'deploymentgroup',
      resourceName: `${names.application}/${names.deploymentGroup}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
    environment: {
      [ENV.SCORE_DEPLOYMENT_APPLICATION]: names.application,
      [ENV.SCORE_DEPLOYMENT_GROUP]: names.deploymentGroup,
    },
  };
}

/** Lets `f` list the score deployment group's deployments (a release refuses to start during one). */
export function grantListScoreDeployments(f: ModelFunction, envName: string): void {
  const group = scoreDeploymentGroup(f, envName);
  for (const [k, v] of Object.entries(group.environment)) f.function.addEnvironment(k, v);
  f.role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['codedeploy:ListDeployments'], resources: [group.arn] }),
  );
}
