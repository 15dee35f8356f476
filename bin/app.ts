/**
 * CDK app entry: `cdk synth|deploy -c env=dev|staging|prod`. Every stack is checked by cdk-nag's
 * AwsSolutions pack; each accepted finding is acknowledged on its one resource with a reason.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../lib/config.ts';
import { addVigilStacks } from '../lib/vigil-app.ts';

const app = new App();
const config = loadConfig(app.node.tryGetContext('env'));
addVigilStacks(app, config);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
