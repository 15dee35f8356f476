import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoFeedbackStore } from '#adapters/dynamodb-feedback.ts';
import { createRetrainSteps, type RetrainState } from '#app/retrain.ts';
import { decideLabel, type Label } from '#core/feedback/labels.ts';
import { parseRetrainSettings } from '#core/retrain/config.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';
import { capturesOf, correlatedRows, productionModel, retrainWorld } from './harness.ts';

let db: LocalDynamo;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.close();
});

const exec = (name: string) => ({
  id: `arn:aws:states:local:000000000000:execution:vigil-retraining:${name}`,
  name,
});
let tables = 0;

/**
 * A retraining world whose captures are 2,400 ordinary rows (half sampled out at capture, rate
 * 0.5) and 100 shifted anomalies (rate 1), with feedback labels in a dynalite table: `anomalies`
 * of the shifted rows labelled anomaly, `normals` of the ordinary ones labelled normal.
 */
async function labelledWorld(opts: { anomalies: number; normals: number; settings?: object }) {
  const w = await retrainWorld(db, opts.settings ?? {});
  await productionModel(w, 'web', correlatedRows(3000, 1));
  const start = new Date('2025-03-01T00:00:00Z');
  const rows = [...correlatedRows(2400, 2), ...correlatedRows(100, 3, 40)];
  w.captures.rows = capturesOf('web', rows, start, (i) => (i < 2400 ? 0.5 : 1));
  const tableName = `feedback-${process.pid}-${++tables}`;
  await ensureTables(db.endpoint, [tableName]);
  const feedback = new DynamoFeedbackStore({ client: documentClient(db.endpoint), tableName });
  const put = async (i: number, label: Label) => {
    const { record } = decideLabel(undefined, {
      model: 'web',
      version: 1,
      requestId: `r${i}`,
      index: 0,
      label,
      capture: 'captured',
      at: '2025-03-02T00:00:00.000Z',
    });
    expect(await feedback.put(record, null)).toBe(true);
  };
  for (let k = 0; k < opts.anomalies; k++) await put(2400 + k, 'anomaly');
  for (let k = 0; k < opts.normals; k++) await put(k * 7, 'normal');
  const settings = parseRetrainSettings({ validation: { minRows: 200 }, ...(opts.settings ?? {}) });
  const steps = createRetrainSteps({ ...w, settings, feedback });
  const to = new Date(start.getTime() + rows.length * 60_000).toISOString();
  const state: RetrainState = {
    model: 'web',
    trigger: 'manual',
    window: { from: start.toISOString(), to },
    seed: 5,
  };
  return { w, steps, state };
}

async function run(l: Awaited<ReturnType<typeof labelledWorld>>, name: string) {
  const ev = () => ({ state: l.state, execution: exec(name) });
  l.state.prepare = await l.steps.prepareData(ev());
  l.state.validation = await l.steps.validateData(ev());
  if (!l.state.validation.ok) return l.state;
  l.state.train = await l.steps.train(ev());
  l.state.evaluate = await l.steps.evaluate(ev());
  l.state.gate = await l.steps.gate(ev());
  return l.state;
}

describe('feedback labels in retraining', () => {
  it('joins labels onto the captured rows (none thinned out), evaluates by them, and the gate judges by labelled AUC', async () => {
    const l = await labelledWorld({ anomalies: 100, normals: 200 });
    try {
      const s = await run(l, 'labels-1');
      expect(s.validation?.ok).toBe(true);
      // Thinning drops about half the rate-1 anomalies, but none that carries a label.
      expect(s.prepare?.labelledRows).toBe(300);
      const e = s.evaluate?.evaluation;
      expect(e?.quality.source).toBe('labels');
      expect(e?.labelled?.rows).toBeGreaterThan(20);
      expect(e?.labelled?.rows).toBeLessThan(300);
      // The shifted rows are obvious anomalies: both models rank them first.
      expect(e?.labelled?.candidate.rocAuc).toBeGreaterThan(0.95);
      expect(e?.labelled?.production?.rocAuc).toBeGreaterThan(0.95);
      expect(s.evaluate?.metrics['eval.rocAuc']).toBe(e?.labelled?.candidate.rocAuc);
      const quality = s.gate?.checks.find((c) => c.check === 'quality');
      expect(quality).toMatchObject({ source: 'labels', candidate: e?.labelled?.candidate.rocAuc });
    } finally {
      await l.w.cleanup();
    }
  });

  it('falls back to the injected-anomaly AUC when the labels are fewer than the environment asks for', async () => {
    const l = await labelledWorld({
      anomalies: 100,
      normals: 200,
      settings: { gate: { minLabelsPerClass: 500 } },
    });
    try {
      const s = await run(l, 'labels-2');
      expect(s.prepare?.labelledRows).toBe(300);
      expect(s.evaluate?.evaluation.quality.source).toBe('injected');
      expect(s.gate?.checks.find((c) => c.check === 'quality')).toMatchObject({ source: 'injected' });
    } finally {
      await l.w.cleanup();
    }
  });

  it('fails ValidateData when the labelled anomaly share is outside the band, naming it', async () => {
    const l = await labelledWorld({ anomalies: 100, normals: 50 });
    try {
      const s = await run(l, 'labels-3');
      expect(s.validation?.ok).toBe(false);
      expect(s.validation?.messages).toEqual([
        'labelShare: 100/150 labelled anomalies = 66.67%, outside [0.10%, 50.00%]',
      ]);
    } finally {
      await l.w.cleanup();
    }
  });
});
