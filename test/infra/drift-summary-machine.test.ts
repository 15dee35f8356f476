import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DRIFT_SUMMARY_TASKS, ENV, STATE_MACHINES } from '#contracts';
import { type CfnProps, joinedText, resourcesOf, synthEnv } from './harness.ts';

// biome-ignore lint/suspicious/noExplicitAny: ASL states are read field by field.
type Asl = any;

/**
 * The state machine's definition. Every intrinsic in the `Fn::Join` sits inside a JSON string
 * (function ARNs, the bucket name), so rendering each as plain text keeps the JSON valid.
 */
function definitionOf(sm: CfnProps): Asl {
  const body = sm.DefinitionString;
  if (typeof body === 'string') return JSON.parse(body);
  const [sep, parts] = body['Fn::Join'] as [string, unknown[]];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'INTRINSIC')).join(sep));
}

/** Every state of a definition, nested item processors included. */
function allStates(def: Asl): [string, Asl][] {
  const out: [string, Asl][] = [];
  for (const [name, s] of Object.entries(def.States as Record<string, Asl>)) {
    out.push([name, s]);
    if (s.ItemProcessor) out.push(...allStates(s.ItemProcessor));
  }
  return out;
}

describe('DriftSummary state machine (Distributed Map over capture partitions)', () => {
  const dev = synthEnv('dev');
  const t = dev.templates.drift;
  const machines = resourcesOf(t, 'AWS::StepFunctions::StateMachine');
  const [[smId, sm]] = machines.filter(([id]) => id.includes(STATE_MACHINES.driftSummary.id));
  const def = definitionOf(sm);
  const states = allStates(def);

  it('is the construct id the contracts name, in the Drift stack', () => {
    expect(smId).toMatch(new RegExp(`^${STATE_MACHINES.driftSummary.id}[0-9A-F]{8}$`));
    expect(sm.TracingConfiguration).toEqual({ Enabled: true });
    expect(sm.LoggingConfiguration.IncludeExecutionData).toBe(false);
  });

  it('maps DynamoDB partitions from the plan and S3 objects through an ItemReader, with one child definition', () => {
    const maps = states.filter(([, s]) => s.Type === 'Map');
    expect(maps.map(([n]) => n).sort()).toEqual(['SummarizeObjects', 'SummarizeShards']);
    for (const [, m] of maps) {
      expect(m.ItemProcessor.ProcessorConfig.Mode).toBe('DISTRIBUTED');
      // No tolerated failures: CDK leaves out the field at 0, which is the ASL default.
      expect(m.ToleratedFailurePercentage ?? 0).toBe(0);
      expect(m.ToleratedFailureCount ?? 0).toBe(0);
      expect(m.ResultPath).toBe('$.summaries');
    }
    const shards = maps.find(([n]) => n === 'SummarizeShards')?.[1];
    const objects = maps.find(([n]) => n === 'SummarizeObjects')?.[1];
    expect(shards?.ItemsPath).toBe('$.plan.partitions');
    expect(objects?.ItemReader.Parameters['Prefix.$']).toBe('$.plan.prefix');
    expect(joinedText(objects?.ItemReader.Resource)).toContain('s3:listObjectsV2');
    expect(objects?.ItemSelector['partition.$']).toBe('$$.Map.Item.Value.Key');
    // The same child in both: the Summarize function with { plan, partition }.
    const children = [shards, objects].map((m) => Object.values(m?.ItemProcessor.States ?? {})[0] as Asl);
    for (const c of children)
      expect(c.Parameters).toEqual({ 'plan.$': '$.plan', 'partition.$': '$.partition' });
  });

  it('retries transient errors and catches everything else on every task and map', () => {
    const tasks = states.filter(([, s]) => s.Type === 'Task' || s.Type === 'Map');
    expect(tasks.length).toBe(6);
    for (const [name, s] of tasks) {
      expect(s.Retry?.[0]?.ErrorEquals, name).toContain('Lambda.TooManyRequestsException');
      // Item-processor children are retried; their failure fails the Map, which is caught.
      if (!['Summarize', 'SummarizeObject'].includes(name)) {
        expect(s.Catch?.[0]?.Next, name).toBe('DriftSummaryFailed');
      }
    }
  });

  it('gives each task function only its own access', () => {
    const fns = resourcesOf(t, 'AWS::Lambda::Function');
    const services = Object.values(DRIFT_SUMMARY_TASKS).map((x) => x.service);
    const found = fns.filter(([, p]) => services.includes(p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME));
    expect(found).toHaveLength(3);
    const policies = [...resourcesOf(t, 'AWS::IAM::Policy'), ...resourcesOf(t, 'AWS::IAM::ManagedPolicy')];
    const actionsOf = (service: string) => {
      const [, fn] = found.find(([, p]) => p.Environment.Variables.POWERTOOLS_SERVICE_NAME === service) ?? [];
      const roleId = fn?.Role?.['Fn::GetAtt']?.[0];
      expect(roleId).toBeDefined();
      const attached = policies.filter(([, p]) => (p.Roles ?? []).some((r: CfnProps) => r.Ref === roleId));
      // Managed policies attached on the role itself (ModelFunction's log-group policy and others).
      const role = resourcesOf(t, 'AWS::IAM::Role').find(([id]) => id === roleId)?.[1];
      const managedIds = (role?.ManagedPolicyArns ?? []).map((a: CfnProps) => a.Ref).filter(Boolean);
      const viaRole = policies.filter(([id]) => managedIds.includes(id));
      return [...attached, ...viaRole].flatMap(([, p]) =>
        p.PolicyDocument.Statement.flatMap((st: CfnProps) => [st.Action].flat()),
      );
    };
    const summarize = actionsOf(DRIFT_SUMMARY_TASKS.Summarize.service);
    expect(summarize).toContain('dynamodb:Query');
    expect(summarize).not.toContain('dynamodb:PutItem');
    expect(summarize).not.toContain('events:PutEvents');
    const reduce = actionsOf(DRIFT_SUMMARY_TASKS.Reduce.service);
    expect(reduce).toContain('events:PutEvents');
    expect(reduce).not.toContain('dynamodb:Query');
    const plan = actionsOf(DRIFT_SUMMARY_TASKS.Plan.service);
    expect(plan).not.toContain('dynamodb:PutItem');
    expect(plan).not.toContain('events:PutEvents');
  });

  it('lets the ItemReader list the capture prefix only', () => {
    const statements = resourcesOf(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.PolicyDocument.Statement);
    const list = statements.filter((s: CfnProps) => [s.Action].flat().includes('s3:ListBucket'));
    expect(list.some((s: CfnProps) => s.Condition?.StringLike?.['s3:prefix']?.[0] === 'captures/*')).toBe(
      true,
    );
  });

  it('keeps the schedules on the in-memory evaluator below the configured window size', () => {
    for (const [, s] of resourcesOf(t, 'AWS::Scheduler::Schedule')) {
      expect(joinedText(s.Target.Arn)).not.toContain('StateMachine');
    }
  });

  it('reads the partitions where the score path writes captures: capture.path and capture.shards', () => {
    const summaryEnv = (tpl: Template) =>
      resourcesOf(tpl, 'AWS::Lambda::Function')
        .map(([, p]) => p.Environment?.Variables ?? {})
        .filter((v) =>
          Object.values(DRIFT_SUMMARY_TASKS).some((x) => x.service === v.POWERTOOLS_SERVICE_NAME),
        );
    const onDynamo = summaryEnv(t);
    expect(onDynamo).toHaveLength(3);
    for (const v of onDynamo) {
      expect(v[ENV.CAPTURE_PATH]).toBe(dev.config.capture.path);
      expect(v[ENV.CAPTURE_SHARDS]).toBe(String(dev.config.capture.shards));
    }
    const firehose = synthEnv('dev', { capture: { ...dev.config.capture, path: 'firehose', shards: 3 } });
    const onFirehose = summaryEnv(firehose.templates.drift);
    expect(onFirehose).toHaveLength(3);
    for (const v of onFirehose) {
      expect(v[ENV.CAPTURE_PATH]).toBe('firehose');
      expect(v[ENV.CAPTURE_SHARDS]).toBe('3');
    }
  });

  it('points the schedules at the state machine above it, still cdk-nag clean', () => {
    const big = synthEnv('dev', {
      drift: {
        ...dev.config.drift,
        distributed: { ...dev.config.drift.distributed, expectedWindowRows: 10_000_000 },
      },
    });
    const [[bigSmId]] = resourcesOf(big.templates.drift, 'AWS::StepFunctions::StateMachine');
    const schedules = resourcesOf(big.templates.drift, 'AWS::Scheduler::Schedule');
    expect(schedules.length).toBeGreaterThan(0);
    for (const [, s] of schedules) {
      expect(s.Target.Arn).toEqual({ Ref: bigSmId });
      expect(JSON.parse(s.Target.Input)).toHaveProperty('model');
    }
    expect(big.nagFindings).toEqual([]);
  });
});
