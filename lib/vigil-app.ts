import { type App, Tags } from 'aws-cdk-lib';
import { stackPrefix, type VigilConfig } from './config.ts';
import { acknowledgeGuardFindings } from './guard-acknowledgements.ts';
import type { HandlerEntries } from './handler-entries.ts';
import { ApiStack } from './stacks/api-stack.ts';
import { DataStack } from './stacks/data-stack.ts';
import { DriftStack } from './stacks/drift-stack.ts';
import { EksStack } from './stacks/eks-stack.ts';
import { ObservabilityStack } from './stacks/observability-stack.ts';
import { PipelineStack } from './stacks/pipeline-stack.ts';

/** Context key choosing how CDK passes values between stacks (`strong` exports, `weak` outputs). */
export const CROSS_STACK_REFERENCES = '@aws-cdk/core:defaultCrossStackReferences';

/**
 * Values cross stacks as outputs read with `Fn::GetStackOutput` ("weak"), not `Export`/`ImportValue`
 * ("strong"): an export in use cannot change, so replacing a table, the key or the read policy, or
 * renaming a function, would fail with "export ... in use" until every consumer stopped importing
 * it. Weak references keep the deploy order (consumers still depend on producers) but not the
 * delete protection: delete consumers first (`cdk destroy` does). `both` is accepted as the
 * migration state from strong (deploy with `both`, then with `weak`).
 */
const useWeakCrossStackReferences = (app: App): void => {
  const current = app.node.tryGetContext(CROSS_STACK_REFERENCES);
  if (current === 'weak' || current === 'both') return;
  if (current !== undefined) {
    throw new Error(
      `Vigil stacks use weak cross-stack references; context ${CROSS_STACK_REFERENCES}=${current} would bring back ` +
        'exports that block later changes. Set it to "weak" (or "both" while migrating from "strong").',
    );
  }
  if (app.node.children.length > 0) {
    throw new Error(
      `Set context ${CROSS_STACK_REFERENCES}=weak on the App before adding other constructs to it`,
    );
  }
  app.node.setContext(CROSS_STACK_REFERENCES, 'weak');
};

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
  useWeakCrossStackReferences(app);
  const prefix = stackPrefix(config);
  const description = (part: string) => `Vigil ${config.envName}: ${part}`;
  const data = new DataStack(app, `${prefix}-Data`, {
    config,
    entries: options.entries,
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
    data,
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
    drift,
    api,
    entries: options.entries,
    description: description('retraining and release state machines and their triggers'),
  });
  acknowledgeGuardFindings([data, api, drift, observability, eks, pipeline], config);
  for (const stack of [data, api, drift, observability, eks, pipeline]) {
    Tags.of(stack).add('project', 'vigil');
    Tags.of(stack).add('environment', config.envName);
  }
  return { data, api, drift, observability, eks, pipeline };
};
