import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/twin.ts';
import { referenceRows } from '../integration/drift-handlers/helpers.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field.
type Json = any;

/**
 * Drift over big windows on the twin: scored rows are captured over HTTP, then the synthesized
 * drift-summary machine runs — its Plan and Reduce states and its Map's child definition come
 * from the template; the twin lists the partitions the Distributed Map would — and the report
 * it stores is the one the API serves, agreeing with the in-memory evaluator's.
 */
describe('drift-summary machine on the local twin', () => {
  let twin: Twin;
  let dir: string;
  const headers = () => ({ 'content-type': 'application/json', 'x-api-key': twin.apiKey });
  const score = async (rows: Record<string, number>[]) => {
    for (let i = 0; i < rows.length; i += 300) {
      const res = await fetch(`${twin.url}/v1/models/default/score`, {
        method: 'POST',
        headers: headers(),
        body: JSON.stringify({ rows: rows.slice(i, i + 300) }),
      });
      expect(res.status).toBe(200);
    }
  };
  const latest = async (): Promise<Json> => {
    const res = await fetch(`${twin.url}/v1/models/default/drift?limit=1`, { headers: headers() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    return (body.reports ?? body)[0];
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-e2e-drift-summary-'));
    process.env.VIGIL_EVENTS_FILE = path.join(dir, 'events.jsonl');
    twin = await startTwin({ port: 0, dataDir: dir, inMemory: true, driftEveryMs: 0 });
  });
  afterAll(async () => {
    await twin?.close();
    delete process.env.VIGIL_EVENTS_FILE;
    await rm(dir, { recursive: true, force: true });
  });

  it('maps the DynamoDB partitions, writes one summary per partition and stores the reduced report', async () => {
    await score(referenceRows(900, 31, 1.5));
    const run = await twin.summarizeDrift('default');
    expect(run.map).toBe('SummarizeShards');
    expect(run.items.length).toBeGreaterThan(0);
    expect(run.output.summaries).toHaveLength(run.items.length);
    const rows = (run.output.summaries as Json[]).reduce((a, s) => a + s.rows, 0);
    expect(rows).toBe(900);
    for (const s of run.output.summaries as Json[]) {
      const summary = JSON.parse(await readFile(new URL(s.uri), 'utf8'));
      expect(summary.format).toBe('vigil.drift-summary/1');
    }
    const report = run.output.report as Json;
    expect(report).toMatchObject({ model: 'default', status: 'ok', drift: true, published: true });
    const stored = await latest();
    expect(stored.id).toBe(report.reportId);
    expect(stored.n).toBe(900);
    expect(stored.approximation).toMatchObject({ rows: 900, method: 'reservoir' });

    // The in-memory evaluator over the same window agrees.
    const [[inMemory]] = (await twin.evaluateDrift()) as Json[][];
    expect(inMemory).toMatchObject({ drift: true, driftedShare: report.driftedShare });
    // The first run synthesizes the CDK app (cached under dataDir afterwards): 40-65 s on a busy machine.
  }, 180_000);
});
