import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { StateMachineKey } from '#contracts';
import { loadConfig } from '../lib/config.ts';
import { addVigilStacks } from '../lib/vigil-app.ts';
import { machinesFromTemplates, type SynthesizedMachine } from './state-machines.ts';

// The one place the twin reaches into lib/: it runs the state machines the CDK app synthesizes
// (DESIGN.md §10), never a hand-written copy. Loaded on demand (retraining-twin.ts), so nothing
// else of the twin — nor the EKS scorer's bundle, which has no lib/ and no aws-cdk-lib — needs it.

/**
 * Synthesizes the CDK app for `env` in-process (bundling skipped: the local runner calls the
 * handler modules themselves) and returns every state machine of every stack, by
 * `STATE_MACHINES` key. The same CDK code `cdk synth` runs: never a hand-written copy.
 */
export function synthesizeStateMachines(
  envName = 'dev',
): Partial<Record<StateMachineKey, SynthesizedMachine>> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  // The environment's own settings, Release step included: the runner runs the release machine
  // as the retraining machine's `.sync` child, so the twin's loop ends where AWS's does.
  const stacks = addVigilStacks(app, loadConfig(envName));
  const templates = Object.fromEntries(
    Object.values(stacks).map((s) => [s.stackName, Template.fromStack(s).toJSON()]),
  );
  return machinesFromTemplates(templates);
}
