import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalDecision, type RetrainState } from '#app/retrain.ts';
import { RETRAINING_EVENT } from '#contracts';
import { toCsv } from '#core/csv.ts';
import { Rng } from '#core/forest/rng.ts';
import { type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';
import { capturesOf, columnsOf, correlatedRows, FEATURES, productionModel, retrainWorld } from './harness.ts';

let db: LocalDynamo;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.close();
});

type World = Awaited<ReturnType<typeof retrainWorld>>;
const exec = (name: string) => ({
  id: `arn:aws:states:local:000000000000:execution:vigil-retraining:${name}`,
  name,
});

/**
 * The happy path in the order the state machine runs it (the definition's own test is
 * in test/infra and test/integration/retrain/state-machine.test.ts): every step's result
 * lands at `$.<step>`, as ResultPath puts it.
 */
async function runToGate(w: World, state: RetrainState, execution: ReturnType<typeof exec>) {
  const ev = () => ({ state, execution });
  const lock = await w.steps.acquireLock(ev());
  expect(lock.acquired).toBe(true);
  state.prepare = await w.steps.prepareData(ev());
  state.validation = await w.steps.validateData(ev());
  return state;
}

async function finish(w: World, state: RetrainState, execution: ReturnType<typeof exec>) {
  const ev = () => ({ state, execution });
  state.train = await w.steps.train(ev());
  state.evaluate = await w.steps.evaluate(ev());
  state.gate = await w.steps.gate(ev());
  if (state.gate.passed) {
    state.register = await w.steps.register(ev());
    state.outcome = 'succeeded';
  } else state.outcome = 'gate-failed';
  await w.steps.notify(ev());
  return state;
}

describe('retraining steps', () => {
  it('retrains on drifted captures: candidate evaluated, gated and registered with lineage; notified', async () => {
    const w = await retrainWorld(db);
    try {
      await productionModel(w, 'web', correlatedRows(3000, 1));
      const start = new Date('2025-03-01T00:00:00Z');
      // Half the normal rows were sampled out at capture (rate 0.5); the thinning must undo that.
      w.captures.rows = capturesOf('web', correlatedRows(3000, 2, 3), start, (i) => (i % 10 === 0 ? 1 : 0.5));
      const to = new Date(start.getTime() + 3000 * 60_000).toISOString();
      const execution = exec('drift-1');
      const state: RetrainState = {
        model: 'web',
        trigger: 'drift',
        driftReportId: 'report-1',
        window: { from: new Date(start.getTime() + 2000 * 60_000).toISOString(), to },
        seed: 11,
      };
      await runToGate(w, state, execution);
      expect(state.validation?.ok).toBe(true);
      const prepare = state.prepare;
      if (!prepare) throw new Error('no prepare result');
      expect(prepare.window).toEqual({
        from: new Date(start.getTime() + 2000 * 60_000 - 7 * 86_400_000).toISOString(),
        to,
      });
      // Every 10th row was kept at rate 1, the others at 0.5: the rate-1 rows are thinned to 0.5 (about 150 of 300 out).
      expect(prepare.rows + prepare.thinnedOut).toBe(3000);
      expect(prepare.thinnedOut).toBeGreaterThan(100);
      expect(prepare.thinnedOut).toBeLessThan(200);
      const bytes = await readFile(fileURLToPath(prepare.datasetUri));
      expect(prepare.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));

      await finish(w, state, execution);
      expect(state.gate?.passed).toBe(true);
      expect(state.evaluate?.evaluation.quality.source).toBe('injected');
      const v = await w.registry.getVersion('web', 2);
      expect(v.lineage).toMatchObject({
        parentVersion: 1,
        dataSha256: prepare.sha256,
        dataWindow: prepare.window,
        driftReportId: 'report-1',
        executionArn: execution.id,
        seed: 11,
      });
      expect(v.approval).toBe('Approved');
      expect(v.metrics['eval.injectedRocAuc']).toBe(state.evaluate?.metrics['eval.injectedRocAuc']);
      const pkg = await w.store.getPackage(v.artifactUri);
      expect(pkg.manifest.training.rows).toBe(state.train?.trainRows);
      expect(pkg.manifest.reference.rows).toBe(state.train?.trainRows);

      expect(w.notifier.messages.map((m) => m.subject)).toEqual(['Vigil retraining of web: succeeded']);
      expect(w.events.events.map((e) => e['detail-type'])).toEqual([
        RETRAINING_EVENT.detailType('succeeded'),
      ]);
      const types = (await w.registry.history('web')).map((e) => e.type);
      expect(types).toContain('retraining-started');
      expect(types.filter((t) => t === 'retraining-finished')).toHaveLength(1);
      // Notify released the lock: the next run takes it.
      expect(
        (await w.steps.acquireLock({ state: { model: 'web', trigger: 'manual' }, execution: exec('next') }))
          .acquired,
      ).toBe(true);
    } finally {
      await w.cleanup();
    }
  });

  it('trains the same package twice from the same data and seed', async () => {
    const w = await retrainWorld(db);
    try {
      await productionModel(w, 'web', correlatedRows(1000, 1));
      const file = path.join(w.dir, 'upload.csv');
      const rows = correlatedRows(800, 5);
      await writeFile(file, toCsv(FEATURES, columnsOf(rows)));
      const shas: string[] = [];
      for (const name of ['a', 'b']) {
        const state: RetrainState = { model: 'web', trigger: 'manual', data: file, seed: 3 };
        state.prepare = await w.steps.prepareData({ state, execution: exec(name) });
        shas.push((await w.steps.train({ state, execution: exec(name) })).sha256);
      }
      expect(shas[0]).toBe(shas[1]);
    } finally {
      await w.cleanup();
    }
  });

  it('fails ValidateData on bad data, and the notification says which check and by how much', async () => {
    const w = await retrainWorld(db);
    try {
      await productionModel(w, 'web', correlatedRows(1000, 1));
      const rows = correlatedRows(400, 6);
      const cols = columnsOf(rows);
      cols[1].fill(42); // memory stuck: a constant column
      for (let i = 0; i < 100; i++) cols[2][i] = Number.NaN; // network 25% missing
      const file = path.join(w.dir, 'bad.csv');
      await writeFile(file, toCsv(FEATURES, cols));
      const execution = exec('bad-1');
      const state: RetrainState = { model: 'web', trigger: 'manual', data: file };
      await runToGate(w, state, execution);
      expect(state.validation?.ok).toBe(false);
      expect(state.validation?.messages).toEqual([
        'constantColumn: memory is constant (42)',
        'missingShare: network 25.00% missing (100 rows) > 5.00%',
      ]);
      state.outcome = 'validation-failed';
      await w.steps.notify({ state, execution });
      const [m] = w.notifier.messages;
      expect(m.subject).toBe('Vigil retraining of web: validation-failed');
      expect(m.body.summary).toContain('missingShare: network 25.00% missing');
      expect(w.events.events.map((e) => e['detail-type'])).toEqual(['vigil.retraining.validation-failed']);
      const finished = (await w.registry.history('web')).filter((e) => e.type === 'retraining-finished');
      expect(finished).toHaveLength(1);
      expect((await w.registry.listVersions('web')).length).toBe(1);
    } finally {
      await w.cleanup();
    }
  });

  it('fails the Gate for a candidate trained on shuffled columns, with the numbers', async () => {
    const w = await retrainWorld(db);
    try {
      await productionModel(w, 'web', correlatedRows(3000, 1));
      const rows = correlatedRows(3000, 8);
      const good = path.join(w.dir, 'good.csv');
      await writeFile(good, toCsv(FEATURES, columnsOf(rows)));
      // Each column permuted on its own: every marginal intact, every correlation gone.
      const rng = new Rng(99);
      const shuffled = columnsOf(rows).map((c) => {
        for (let i = c.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [c[i], c[j]] = [c[j], c[i]];
        }
        return c;
      });
      const bad = path.join(w.dir, 'shuffled.csv');
      await writeFile(bad, toCsv(FEATURES, shuffled));
      const execution = exec('worse-1');
      const state: RetrainState = { model: 'web', trigger: 'manual', data: good, seed: 5 };
      await runToGate(w, state, execution);
      const prepare = state.prepare;
      if (!prepare) throw new Error('no prepare result');
      // Train sees the shuffled file; Evaluate holds out rows of the real one.
      state.prepare = { ...prepare, datasetUri: bad };
      state.train = await w.steps.train({ state, execution });
      state.prepare = prepare;
      state.evaluate = await w.steps.evaluate({ state, execution });
      state.gate = await w.steps.gate({ state, execution });
      expect(state.gate.passed).toBe(false);
      const q = state.evaluate.evaluation.quality;
      expect(q.candidate).toBeLessThan((q.production ?? 0) - 0.02);
      expect(state.gate.reasons[0]).toMatch(
        /^quality \(injected ROC AUC\): candidate 0\.\d{4} < required 0\.\d{4}/,
      );
      state.outcome = 'gate-failed';
      await w.steps.notify({ state, execution });
      expect(w.notifier.messages[0].body.summary).toContain('candidate failed the gate: quality');
      expect(w.events.events.map((e) => e['detail-type'])).toEqual(['vigil.retraining.gate-failed']);
      expect((await w.registry.listVersions('web')).length).toBe(1);
    } finally {
      await w.cleanup();
    }
  });
});

describe('PrepareData from a Parquet dataset', () => {
  it('reads the Parquet file as the same rows its CSV holds: same dataset, same sha256, then trains', async () => {
    const w = await retrainWorld(db);
    try {
      await productionModel(w, 'web', correlatedRows(1000, 1));
      const cols = columnsOf(correlatedRows(900, 12));
      cols[4][3] = Number.NaN; // one missing latency: null in Parquet, empty in CSV
      const csv = path.join(w.dir, 'upload.csv');
      await writeFile(csv, toCsv(FEATURES, cols));
      const pq = path.join(w.dir, 'upload.parquet');
      await writeFile(
        pq,
        new Uint8Array(
          parquetWriteBuffer({
            // Columns in another order than production's: matched by name, as in a CSV.
            columnData: [...FEATURES.keys()].reverse().map((i) => ({
              name: FEATURES[i],
              data: Array.from(cols[i], (v) => (Number.isNaN(v) ? null : v)),
              type: 'DOUBLE' as const,
              nullable: true,
            })),
            rowGroupSize: 250,
          }),
        ),
      );
      const fromCsv: RetrainState = { model: 'web', trigger: 'manual', data: csv, seed: 4 };
      const fromParquet: RetrainState = { model: 'web', trigger: 'manual', data: pq, seed: 4 };
      const a = await w.steps.prepareData({ state: fromCsv, execution: exec('csv-1') });
      const b = await w.steps.prepareData({ state: fromParquet, execution: exec('pq-1') });
      expect(b).toMatchObject({ rows: 900, source: 'upload', features: FEATURES });
      expect(b.sha256).toBe(a.sha256);
      fromParquet.prepare = b;
      const v = await w.steps.validateData({ state: fromParquet, execution: exec('pq-1') });
      expect(v.ok).toBe(true);
      const trained = await w.steps.train({ state: fromParquet, execution: exec('pq-1') });
      expect(trained.droppedRows).toBe(1);
      expect(trained.trainRows + trained.holdoutRows).toBe(899);
    } finally {
      await w.cleanup();
    }
  });

  it('refuses a Parquet dataset with a text column: BadRequest naming the file and the column', async () => {
    const w = await retrainWorld(db);
    try {
      await productionModel(w, 'web', correlatedRows(1000, 1));
      const pq = path.join(w.dir, 'hosts.parquet');
      await writeFile(
        pq,
        new Uint8Array(
          parquetWriteBuffer({
            columnData: [
              ...FEATURES.map((name) => ({ name, data: [1, 2], type: 'DOUBLE' as const })),
              { name: 'host', data: ['a', 'b'], type: 'STRING' as const },
            ],
          }),
        ),
      );
      const state: RetrainState = { model: 'web', trigger: 'manual', data: pq };
      await expect(w.steps.prepareData({ state, execution: exec('pq-bad') })).rejects.toMatchObject({
        code: 'BadRequest',
        message: `Dataset ${pq} is not a valid dataset Parquet file: Parquet column 'host' is BYTE_ARRAY; a dataset value is a number`,
      });
    } finally {
      await w.cleanup();
    }
  });
});

describe('retraining lock', () => {
  it('skips and records a second trigger while a run holds the lock, and takes over a dead one', async () => {
    const w = await retrainWorld(db);
    try {
      await productionModel(w, 'web', correlatedRows(500, 1));
      const state: RetrainState = { model: 'web', trigger: 'drift' };
      expect(await w.steps.acquireLock({ state, execution: exec('first') })).toEqual({ acquired: true });
      // A retried AcquireLock of the holder is not a second run.
      expect(await w.steps.acquireLock({ state, execution: exec('first') })).toEqual({ acquired: true });
      const second = await w.steps.acquireLock({ state, execution: exec('second') });
      expect(second).toEqual({ acquired: false, holder: exec('first').id });
      expect(w.events.events.map((e) => e['detail-type'])).toEqual(['vigil.retraining.skipped']);
      const skipped = (await w.registry.history('web')).filter((e) => e.type === 'retraining-skipped');
      expect(skipped).toHaveLength(1);

      // The holder died: its lease (the machine's timeout) is over.
      const later = { ...w, now: () => new Date(Date.now() + 7 * 3600_000) };
      const { createRetrainSteps } = await import('#app/retrain.ts');
      const third = await createRetrainSteps(later).acquireLock({ state, execution: exec('third') });
      expect(third).toEqual({ acquired: true });
      expect(await w.ledger.holder('web')).toMatchObject({ executionArn: exec('third').id });
      // And one whose execution is known to have ended is taken at once.
      const ended = createRetrainSteps({ ...w, isRunning: async () => false });
      expect(await ended.acquireLock({ state, execution: exec('fourth') })).toEqual({ acquired: true });
      expect(await w.ledger.release('web', exec('third').id)).toBe(false);
      expect(await w.ledger.release('web', exec('fourth').id)).toBe(true);
    } finally {
      await w.cleanup();
    }
  });
});

describe('approval', () => {
  it('stores the task token on WaitForApproval and answers it on a decision; a timeout rejects the version', async () => {
    const w = await retrainWorld(db, { approvalRequired: true });
    try {
      await productionModel(w, 'web', correlatedRows(2000, 1));
      const file = path.join(w.dir, 'data.csv');
      await writeFile(file, toCsv(FEATURES, columnsOf(correlatedRows(1500, 3))));
      const run = async (name: string) => {
        const execution = exec(name);
        const state: RetrainState = { model: 'web', trigger: 'manual', data: file, seed: 2 };
        await runToGate(w, state, execution);
        const ev = () => ({ state, execution });
        state.train = await w.steps.train(ev());
        state.evaluate = await w.steps.evaluate(ev());
        state.gate = await w.steps.gate(ev());
        expect(state.gate.passed).toBe(true);
        state.register = await w.steps.register(ev());
        expect(state.register.approval).toBe('PendingManualApproval');
        await w.steps.requestApproval({ ...ev(), taskToken: `token-${name}` });
        return { state, execution };
      };

      const first = await run('approve-1');
      expect(w.notifier.messages.at(-1)?.subject).toBe(`Vigil: approve version 2 of web?`);
      const answers: unknown[] = [];
      const decide = createApprovalDecision({
        registry: w.registry,
        ledger: w.ledger,
        answer: {
          success: async (t, o) => void answers.push(['success', t, o]),
          failure: async (t, e, c) => void answers.push(['failure', t, e, c]),
        },
      });
      const r = await decide('web', 2, 'approve', { actor: 'alice' });
      expect(r.version.approval).toBe('Approved');
      expect(r.executionArn).toBe(first.execution.id);
      expect(answers).toEqual([['success', 'token-approve-1', { approved: true, by: 'alice' }]]);
      await expect(decide('web', 1, 'approve', { actor: 'alice' })).rejects.toThrow(
        /No retraining execution waits/,
      );
      first.state.outcome = 'succeeded';
      await w.steps.notify({ state: first.state, execution: first.execution });

      // Nobody answers the second one: the approval state times out, Notify rejects the version.
      const second = await run('timeout-1');
      second.state.outcome = 'rejected';
      second.state.error = { Error: 'States.Timeout', Cause: '' };
      await w.steps.notify({ state: second.state, execution: second.execution });
      expect((await w.registry.getVersion('web', 3)).approval).toBe('Rejected');
      expect(w.events.events.at(-1)?.['detail-type']).toBe('vigil.retraining.rejected');
      expect((await w.registry.resolve('web', { alias: 'production' })).version).toBe(1);
    } finally {
      await w.cleanup();
    }
  });
});
