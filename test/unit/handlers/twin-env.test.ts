import { describe, expect, it } from 'vitest';
import { ENV } from '#contracts';
import { parseRuntimeConfig } from '#runtime/config.ts';
import { twinEnvironment } from '../../../local/twin.ts';

describe('twin environment', () => {
  it("honours the operator's VIGIL_CAPTURE_SAMPLE_RATE (it was forced to 1)", () => {
    const env = twinEnvironment({
      dataDir: '/data',
      endpoint: 'http://127.0.0.1:1',
      opts: {},
      env: { [ENV.CAPTURE_SAMPLE_RATE]: '0.1' },
    });
    expect(parseRuntimeConfig(env).captureSampleRate).toBe(0.1);
  });

  it('an explicit option wins; unset means every row', () => {
    const base = { dataDir: '/data', endpoint: 'http://127.0.0.1:1' };
    const env = { [ENV.CAPTURE_SAMPLE_RATE]: '0.1' };
    expect(
      parseRuntimeConfig(twinEnvironment({ ...base, opts: { captureSampleRate: 0.5 }, env }))
        .captureSampleRate,
    ).toBe(0.5);
    expect(parseRuntimeConfig(twinEnvironment({ ...base, opts: {}, env: {} })).captureSampleRate).toBe(1);
  });

  it('parks failed capture writes in a spool file under the data dir', () => {
    const env = twinEnvironment({ dataDir: '/data', endpoint: 'http://127.0.0.1:1', opts: {}, env: {} });
    expect(parseRuntimeConfig(env).captureSpoolFile).toBe('/data/captures-spool.jsonl');
  });
});
