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
 * What it proves once deployed (one chain of assertions, integ-app.ts): the API answers and refuses
 * a request without a key; the generated-once key secret holds no key, a key written into it is
 * accepted and scores with the default model the Data stack seeded (version 1); an alarm's state
 * change reaches a queue subscribed to its SNS topic; an evaluator invocation as the schedule makes
 * it writes a report the API serves, and a failing one lands in the on-failure queue; a second
 * score version deployed through CodeDeploy while a rollback alarm is in ALARM is stopped and
 * `live` keeps its version. The snapshot test also checks these assertions and their order.
 */
import { App } from 'aws-cdk-lib';
import { CROSS_STACK_REFERENCES } from '../../lib/vigil-app.ts';
import { buildIntegApp } from './integ-app.ts';

const app = new App({ context: { [CROSS_STACK_REFERENCES]: 'weak' } });
buildIntegApp(app);
app.synth();
