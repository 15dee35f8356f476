import { describe, expect, it } from 'vitest';
import { handler as plan } from '#handlers/drift-plan.ts';
import { handler as reduce } from '#handlers/drift-reduce.ts';
import { handler as summarize } from '#handlers/drift-summarize.ts';
import { lambdaContext } from '../../../local/http-adapter.ts';

const goodPlan = {
  model: 'default',
  version: 1,
  artifactUri: 'file:///tmp/x',
  features: ['cpu'],
  from: '2025-01-01T00:00:00.000Z',
  to: '2025-01-01T01:00:00.000Z',
  runId: 'run-1',
  source: 'dynamodb',
  partitions: [],
  prefix: 'captures/model=default/',
};

describe('drift-summary task handlers refuse malformed state before touching anything', () => {
  it('Plan: a model name outside the pattern', async () => {
    await expect(
      plan({ model: 'Bad Name', runId: 'r' }, lambdaContext('drift-summary', 'r1')),
    ).rejects.toThrow(/Invalid drift plan event/);
  });
  it('Summarize: a plan whose runId could escape its summary prefix', async () => {
    await expect(
      summarize(
        { plan: { ...goodPlan, runId: '../../x' }, partition: 'CAP#default#2025-01-01T00' },
        lambdaContext('drift-summary', 'r1'),
      ),
    ).rejects.toThrow(/Invalid drift summarize event/);
  });
  it('Summarize: no partition', async () => {
    await expect(summarize({ plan: goodPlan }, lambdaContext('drift-summary', 'r1'))).rejects.toThrow(
      /Invalid drift summarize event/,
    );
  });
  it('Reduce: summaries that are not { uri, rows }', async () => {
    await expect(
      reduce({ plan: goodPlan, summaries: ['s3://x'] }, lambdaContext('drift-summary', 'r1')),
    ).rejects.toThrow(/Invalid drift reduce event/);
  });
});
