import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { HANDLERS } from '#contracts';
import { type EnvName, loadConfig, type VigilConfig } from '../../lib/config.ts';
import { REPO_ROOT } from '../../lib/constructs/model-function.ts';
import type { HandlerEntries, HandlerName } from '../../lib/handler-entries.ts';
import { addVigilStacks, type VigilStacks } from '../../lib/vigil-app.ts';

const STUB = join(REPO_ROOT, 'test', 'infra', 'fixtures', 'stub-handler.ts');

/** Handlers listed in HANDLERS whose entry file does not exist yet (replaced by a stub in tests). */
export const missingHandlers = (): HandlerName[] =>
  (Object.keys(HANDLERS) as HandlerName[]).filter((name) => !existsSync(join(REPO_ROOT, HANDLERS[name])));

/** Real entries where they exist, the stub elsewhere; bundling is skipped, so content never matters. */
export const testEntries = (): Partial<HandlerEntries> =>
  Object.fromEntries(missingHandlers().map((name) => [name, STUB]));

/** A fresh app that skips bundling and CloudFormation validation (unit-test speed). */
export const testApp = (): App =>
  new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });

/** One synthesized environment: its config, stacks, templates and cdk-nag violations. */
export interface SynthesizedEnv {
  readonly config: VigilConfig;
  readonly app: App;
  readonly stacks: VigilStacks;
  readonly templates: { readonly [K in keyof VigilStacks]: Template };
  /** `ruleId @ construct path` of every unacknowledged AwsSolutions finding. */
  readonly nagFindings: string[];
}

/** Synthesizes every stack of one environment once; callers share the result across assertions. */
export const synthEnv = (envName: EnvName, overrides: Partial<VigilConfig> = {}): SynthesizedEnv => {
  const app = testApp();
  const config = loadConfig(envName, overrides);
  const stacks = addVigilStacks(app, config, { entries: testEntries() });
  const templates = {
    data: Template.fromStack(stacks.data),
    api: Template.fromStack(stacks.api),
    drift: Template.fromStack(stacks.drift),
    observability: Template.fromStack(stacks.observability),
    eks: Template.fromStack(stacks.eks),
    pipeline: Template.fromStack(stacks.pipeline),
  };
  const report = new AwsSolutionsChecks(app).validateScope(app);
  const nagFindings = report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath ?? '?'}`),
  );
  return { config, app, stacks, templates, nagFindings };
};

/** Properties of a synthesized resource: untyped CloudFormation JSON, inspected field by field. */
// biome-ignore lint/suspicious/noExplicitAny: template JSON has no static type; tests assert its shape.
export type CfnProps = Record<string, any>;

/** All resources of one type in a template, as `[logicalId, properties]`. */
export const resourcesOf = (template: Template, type: string): [string, CfnProps][] =>
  Object.entries(template.findResources(type)).map(([id, r]) => [
    id,
    (r as { Properties?: object }).Properties ?? {},
  ]);

/** Vigil's own functions (ModelFunction sets POWERTOOLS_SERVICE_NAME), not CDK-owned helper functions. */
export const vigilFunctions = (template: Template): [string, CfnProps][] =>
  resourcesOf(template, 'AWS::Lambda::Function').filter(
    ([, p]) => typeof p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'string',
  );

/**
 * Text of an `Fn::Join` with every intrinsic replaced by `TOKEN`, so JSON carrying CloudFormation
 * references (e.g. a Kubernetes manifest with table names) can be parsed and inspected.
 */
export const joinedText = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) return 'TOKEN';
  return join[1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(join[0]);
};
