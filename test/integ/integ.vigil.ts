/**
 * Integration test of one small Vigil environment (dev settings, no EKS), written as aws-cdk tests
 * its own constructs with `@aws-cdk/integ-tests-alpha` (the app is built in integ-app.ts).
 *
 * - `npm run test:integ` (part of `npm test`) runs it in snapshot mode, offline: it synthesizes the
 *   app and compares every template with `integ.vigil.ts.snapshot/`; nothing is deployed.
 * - With an AWS account: `npm run test:integ:deploy` deploys this entry with the pinned CDK CLI;
 *   the assertions are custom resources of the assertion stack, so a failing one fails the deploy,
 *   then everything is destroyed. (`integ-runner` 2.197.10, the newest, bundles a toolkit that reads
 *   cloud assembly schema 53 at most, and aws-cdk-lib 2.276 writes 55, so it cannot run this app.)
 *
 * What it proves once deployed: the API answers; a key written into the (generated-once) secret is
 * accepted and a request without one is refused; an alarm's state change reaches its SNS topic;
 * the drift schedule's invocation of the evaluator runs and, for a model that is not registered in
 * the fresh environment, its failure lands in the on-failure queue instead of vanishing; and the
 * score deployment group rolls back on its alarms. It does not roll a real canary back: that needs
 * a second deploy with changed score code while an alarm is in ALARM (see README, "Integration tests").
 */
import { App } from 'aws-cdk-lib';
import { CROSS_STACK_REFERENCES } from '../../lib/vigil-app.ts';
import { buildIntegApp } from './integ-app.ts';

const app = new App({ context: { [CROSS_STACK_REFERENCES]: 'weak' } });
buildIntegApp(app);
app.synth();
