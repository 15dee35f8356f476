import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENV, METRIC_DIMENSIONS } from '#contracts';

/** EMF lines printed while `fn` runs, from a freshly imported observability module. */
async function emfWith(environment: string | undefined): Promise<Array<Record<string, unknown>>> {
  if (environment === undefined) delete process.env[ENV.ENVIRONMENT];
  else process.env[ENV.ENVIRONMENT] = environment;
  vi.resetModules();
  const { metrics } = await import('#adapters/observability.ts');
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  try {
    // Both shapes the emitters use: service-level (http.ts, captures) and per model (score, drift).
    metrics.emit([{ name: 'ServerErrors', value: 1 }]);
    metrics.emit([{ name: 'RowsScored', value: 3 }], { model: 'default' });
  } finally {
    spy.mockRestore();
  }
  return lines.filter((l) => l.startsWith('{"_aws"')).map((l) => JSON.parse(l));
}

const dimensionSets = (line: Record<string, unknown>): string[][] =>
  (line._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> }).CloudWatchMetrics[0].Dimensions;

describe('environment dimension on every EMF metric', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    process.env.POWERTOOLS_DEV = 'true';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    process.env.POWERTOOLS_SERVICE_NAME = 'vigil-score';
  });
  afterEach(() => {
    process.env = { ...saved };
    vi.resetModules();
  });

  it('adds environment=<VIGIL_ENVIRONMENT> to single and buffered metrics', async () => {
    const lines = await emfWith('prod');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line[METRIC_DIMENSIONS.environment]).toBe('prod');
      expect(dimensionSets(line)[0]).toContain(METRIC_DIMENSIONS.environment);
    }
    const rows = lines.find((l) => 'RowsScored' in l) as Record<string, unknown>;
    expect([...dimensionSets(rows)[0]].sort()).toEqual(['environment', 'model', 'service']);
  });

  it('adds no environment dimension where none is set (the local twin)', async () => {
    const lines = await emfWith(undefined);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(dimensionSets(line)[0]).not.toContain(METRIC_DIMENSIONS.environment);
  });
});
