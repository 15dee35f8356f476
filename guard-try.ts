import { App, Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { loadConfig } from './lib/config.ts';
import { addVigilStacks } from './lib/vigil-app.ts';
const app = new App({ outdir: '/tmp/guard-out', context: { 'aws:cdk:bundling-stacks': [] }, });
addVigilStacks(app, loadConfig(process.argv[2] ?? 'dev')); Validations.of(app).addPlugins(new CfnGuardValidator({ disabledRules: ['ct-lambda-pr-3'] }));
try { app.synth(); } catch (e) { console.log('THROWN', (e as Error).message.slice(0, 300)); }
