import { describe, expect, it } from 'vitest';
import { ENV } from '#contracts';
import { parseRuntimeConfig } from '#runtime/config.ts';

describe('drift settings in the runtime config', () => {
  it('defaults to a 60-minute window, every registered model, no settings and no events file', () => {
    const c = parseRuntimeConfig({});
    expect(c.driftWindowMinutes).toBe(60);
    expect(c.driftModels).toEqual([]);
    expect(c.driftSettings).toBeUndefined();
    expect(c.eventsFile).toBeUndefined();
  });

  it('reads the window, the model list and the JSON drift settings from the environment', () => {
    const c = parseRuntimeConfig({
      [ENV.DRIFT_WINDOW_MINUTES]: '15',
      [ENV.DRIFT_MODELS]: ' default, cpu-model ,,',
      VIGIL_DRIFT_CONFIG: '{"default":{"alpha":0.01},"models":{"default":{"driftShare":0.4}}}',
      VIGIL_EVENTS_FILE: '/tmp/events.jsonl',
    });
    expect(c.driftWindowMinutes).toBe(15);
    expect(c.driftModels).toEqual(['default', 'cpu-model']);
    expect(c.driftSettings).toEqual({ default: { alpha: 0.01 }, models: { default: { driftShare: 0.4 } } });
    expect(c.eventsFile).toBe('/tmp/events.jsonl');
  });

  it('refuses a drift config that is not JSON and a window that is not a positive whole number', () => {
    expect(() => parseRuntimeConfig({ VIGIL_DRIFT_CONFIG: '{alpha: 0.01}' })).toThrow(
      /driftSettings: must be JSON/,
    );
    expect(() => parseRuntimeConfig({ [ENV.DRIFT_WINDOW_MINUTES]: '0' })).toThrow(/driftWindowMinutes/);
    expect(() => parseRuntimeConfig({ [ENV.DRIFT_WINDOW_MINUTES]: '1.5' })).toThrow(/driftWindowMinutes/);
  });
});
