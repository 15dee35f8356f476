/**
 * CDK app entry: `cdk synth|deploy -c env=dev|staging|prod`. Every stack is checked by cdk-nag's
 * AwsSolutions pack and by CDK policy validation with the AWS Control Tower guard rules
 * (`@cdklabs/cdk-validator-cfnguard`, whose cfn-guard binary ships in the npm package, so synth
 * stays offline); each accepted finding is acknowledged on its one resource with a reason.
 */
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../lib/config.ts';
import { DISABLED_GUARD_RULES } from '../lib/guard-acknowledgements.ts';
import { addVigilStacks } from '../lib/vigil-app.ts';

const app = new App();
const config = loadConfig(app.node.tryGetContext('env'));
addVigilStacks(app, config);
Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app),
  new CfnGuardValidator({ disabledRules: [...DISABLED_GUARD_RULES] }),
);
app.synth();
