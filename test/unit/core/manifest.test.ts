import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManifestSchema } from '#core/model/manifest.ts';

const shipped = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, '../../../models/default/manifest.json'), 'utf8'),
);

describe('ManifestSchema', () => {
  it('accepts the shipped manifest', () => {
    expect(ManifestSchema.safeParse(shipped).success).toBe(true);
  });

  const withSample = (sample: unknown) => ({
    ...shipped,
    reference: {
      ...shipped.reference,
      features: { ...shipped.reference.features, cpu: { ...shipped.reference.features.cpu, sample } },
    },
  });

  it('refuses a reference sample with a non-number, null or more than 10,000 values', () => {
    expect(ManifestSchema.safeParse(withSample([1, 'x'])).success).toBe(false);
    expect(ManifestSchema.safeParse(withSample([1, null])).success).toBe(false);
    expect(ManifestSchema.safeParse(withSample(new Array(10_001).fill(1))).success).toBe(false);
    expect(ManifestSchema.safeParse(withSample('1,2,3')).success).toBe(false);
  });

  it('refuses duplicate feature names and a feature without reference data', () => {
    expect(ManifestSchema.safeParse({ ...shipped, features: ['cpu', 'cpu'] }).success).toBe(false);
    expect(ManifestSchema.safeParse({ ...shipped, features: [...shipped.features, 'gpu'] }).success).toBe(
      false,
    );
  });

  it('refuses feature names that would address a prototype', () => {
    for (const bad of ['__proto__', 'constructor', 'prototype']) {
      const features = [...shipped.features.slice(0, -1), bad];
      const reference = {
        ...shipped.reference,
        features: { ...shipped.reference.features, [bad]: shipped.reference.features.latency },
      };
      expect(ManifestSchema.safeParse({ ...shipped, features, reference }).success, bad).toBe(false);
    }
  });
});
