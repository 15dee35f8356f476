import { describe, expect, it } from 'vitest';
import { parseRetrainSettings } from '#core/retrain/config.ts';

describe('parseRetrainSettings', () => {
  it('fills every default from an empty object', () => {
    const s = parseRetrainSettings({});
    expect(s.validation.minRows).toBe(500);
    expect(s.gate).toEqual({
      aucTolerance: 0.02,
      minAuc: 0.7,
      requireAnomalyRateInBand: true,
      minLabelsPerClass: 5,
    });
    expect(s.approvalRequired).toBe(false);
  });

  it('reads JSON text and keeps given values', () => {
    const s = parseRetrainSettings('{"approvalRequired":true,"gate":{"aucTolerance":0.05}}');
    expect(s.approvalRequired).toBe(true);
    expect(s.gate.aucTolerance).toBe(0.05);
    expect(s.gate.minAuc).toBe(0.7);
  });

  it('names the bad field', () => {
    expect(() => parseRetrainSettings({ holdoutShare: 1.5 })).toThrow(/holdoutShare/);
  });
});
