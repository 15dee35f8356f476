import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../lib/config.ts';
import { addVigilStacks } from '../lib/vigil-app.ts';
import { machineFromTemplate, type SynthesizedMachine } from './state-machines.ts';

// The one place the twin reaches into lib/: it runs the state machine the CDK app synthesizes
// (DESIGN.md §10), never a hand-written copy. Loaded on demand (retraining-twin.ts), so nothing
// else of the twin — nor the EKS scorer's bundle, which has no lib/ and no aws-cdk-lib — needs it.

/**
 * Synthesizes the CDK app's Pipeline stack for `env` in-process (bundling skipped: the local
 * runner calls the handler modules themselves) and returns its retraining machine. The same
 * CDK code `cdk synth` runs: never a hand-written copy of the definition.
 */
export function synthesizeRetrainingMachine(envName = 'dev'): SynthesizedMachine {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  const base = loadConfig(envName);
  // The runner does not run `.sync` child machines yet: the twin's retraining ends at Register.
  const stacks = addVigilStacks(
    app,
    loadConfig(envName, { retraining: { ...base.retraining, releaseAfterRegister: false } }),
  );
  return machineFromTemplate(Template.fromStack(stacks.pipeline).toJSON());
}
