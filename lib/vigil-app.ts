import { type App, Tags } from 'aws-cdk-lib';
import { stackPrefix, type VigilConfig } from './config.ts';
import type { HandlerEntries } from './handler-entries.ts';
import { ApiStack } from './stacks/api-stack.ts';
import { DataStack } from './stacks/data-stack.ts';
import { DriftStack } from './stacks/drift-stack.ts';
import { EksStack } from './stacks/eks-stack.ts';
import { ObservabilityStack } from './stacks/observability-stack.ts';
import { PipelineStack } from './stacks/pipeline-stack.ts';

/** The stacks of one environment. */
export interface VigilStacks {
  readonly data: DataStack;
  readonly api: ApiStack;
  readonly drift: DriftStack;
  readonly observability: ObservabilityStack;
  readonly eks: EksStack;
  readonly pipeline: PipelineStack;
}

/** Options of {@link addVigilStacks}. */
export interface AddVigilStacksOptions {
  /**
   * Handler entry overrides (tests only).
   * @default HANDLERS
   */
  readonly entries?: Partial<HandlerEntries>;
}

/**
 * Adds every Vigil stack of one environment to `app`, named `Vigil-<env>-<Part>`. Stacks are
 * environment-agnostic (account/region come from the deploy credentials), so synth needs no lookups.
 */
export const addVigilStacks = (
  app: App,
  config: VigilConfig,
  options: AddVigilStacksOptions = {},
): VigilStacks => {
  const prefix = stackPrefix(config);
  const description = (part: string) => `Vigil ${config.envName}: ${part}`;
  const data = new DataStack(app, `${prefix}-Data`, {
    config,
    description: description('tables, bucket, keys'),
  });
  const api = new ApiStack(app, `${prefix}-Api`, {
    config,
    data,
    entries: options.entries,
    description: description('HTTP API and scoring functions'),
  });
  const drift = new DriftStack(app, `${prefix}-Drift`, {
    config,
    data,
    entries: options.entries,
    description: description('drift schedules and evaluator'),
  });
  const observability = new ObservabilityStack(app, `${prefix}-Observability`, {
    config,
    api,
    drift,
    description: description('alarms and dashboard'),
  });
  const eks = new EksStack(app, `${prefix}-Eks`, {
    config,
    data,
    description: description('EKS streaming scorer'),
  });
  const pipeline = new PipelineStack(app, `${prefix}-Pipeline`, {
    config,
    data,
    eks,
    entries: options.entries,
    description: description('retraining state machine and its triggers'),
  });
  for (const stack of [data, api, drift, observability, eks, pipeline]) {
    Tags.of(stack).add('project', 'vigil');
    Tags.of(stack).add('environment', config.envName);
  }
  return { data, api, drift, observability, eks, pipeline };
};
