import { describe, expect, it } from 'vitest';
import { parseReleaseSettings, planRelease } from '#core/release/policy.ts';
import { RELEASE_POLICIES } from '#core/release/types.ts';

describe('release policies', () => {
  it('canary10-15m: 10 % for 15 minutes, no shadow unless enabled', () => {
    const s = parseReleaseSettings({});
    expect(planRelease('canary10-15m', s)).toEqual({
      policy: 'canary10-15m',
      shadowSeconds: 0,
      steps: [{ weight: 0.1, bakeSeconds: 900 }],
      pauseSeconds: 120,
      aliasCacheSeconds: 60,
    });
    const withShadow = parseReleaseSettings({ shadow: { enabled: true, minutes: 5 } });
    expect(planRelease('canary10-15m', withShadow).shadowSeconds).toBe(300);
  });

  it('linear10-every-2m: nine steps of 10 %, 2 minutes each', () => {
    const p = planRelease('linear10-every-2m', parseReleaseSettings({}));
    expect(p.steps.map((s) => s.weight)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    expect(new Set(p.steps.map((s) => s.bakeSeconds))).toEqual(new Set([120]));
  });

  it('shadow-only always shadows and moves no traffic; all-at-once does neither', () => {
    const s = parseReleaseSettings({ shadow: { enabled: false } });
    expect(planRelease('shadow-only', s)).toMatchObject({ shadowSeconds: 600, steps: [] });
    const on = parseReleaseSettings({ shadow: { enabled: true } });
    expect(planRelease('all-at-once', on)).toMatchObject({ shadowSeconds: 0, steps: [] });
  });

  it('timeScale shortens every duration, to whole seconds of at least one', () => {
    const s = parseReleaseSettings({ timeScale: 0.01, shadow: { enabled: true, minutes: 1 } });
    const p = planRelease('canary10-15m', s);
    expect(p.steps[0]?.bakeSeconds).toBe(9);
    expect(p.shadowSeconds).toBe(1);
  });

  it('every policy name has a plan', () => {
    for (const name of RELEASE_POLICIES)
      expect(planRelease(name, parseReleaseSettings({})).policy).toBe(name);
  });

  it('refuses a bad field with its path', () => {
    expect(() => parseReleaseSettings({ judgement: { anomalyRate: { alpha: 2 } } })).toThrow(
      /judgement\.anomalyRate\.alpha/,
    );
    expect(() => parseReleaseSettings({ defaultPolicy: 'yolo' })).toThrow(/defaultPolicy/);
    expect(parseReleaseSettings('').defaultPolicy).toBe('canary10-15m');
  });
});
