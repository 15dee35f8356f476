import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDriftConfig } from '#core/drift/config.ts';
import { type DriftReport, evaluateDrift } from '#core/drift/report.ts';
import { ManifestSchema } from '#core/model/manifest.ts';
import { rng } from '../../unit/drift/helpers.ts';

/** Standard normal draws (Box-Muller) from one shared stream. */
export function normals(n: number, random: () => number, mean = 0, std = 1): number[] {
  return Array.from({ length: n }, () => {
    const u = 1 - random();
    const v = random();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  });
}

/**
 * A real report (computed by the drift core) over `k` features of `n` values
 * each; features with index < `shifted` are moved by 2 std.
 */
export function syntheticReport(
  model: string,
  k: number,
  opts: { n?: number; shifted?: number; seed?: number } = {},
): DriftReport {
  const n = opts.n ?? 60;
  const random = rng(opts.seed ?? 1);
  const features = Array.from({ length: k }, (_, i) => `feature_${String(i).padStart(4, '0')}`);
  const reference: Record<string, number[]> = {};
  const current: Record<string, number[]> = {};
  features.forEach((f, i) => {
    reference[f] = normals(n, random);
    current[f] = normals(n, random, i < (opts.shifted ?? 0) ? 2 : 0);
  });
  const verdict = evaluateDrift({ reference, current, features, config: parseDriftConfig({ minRows: 10 }) });
  return {
    model,
    version: 3,
    window: { from: '2025-01-01T00:00:00.000Z', to: '2025-01-01T01:00:00.000Z' },
    ...verdict,
  };
}

/** The shipped model's manifest (its reference sample drives the paired tests). */
export const DEFAULT_MODEL_DIR = path.resolve(import.meta.dirname, '../../../models/default');
export const defaultManifest = ManifestSchema.parse(
  JSON.parse(readFileSync(path.join(DEFAULT_MODEL_DIR, 'manifest.json'), 'utf8')),
);

/**
 * `n` whole reference rows of the default model (its samples are
 * row-aligned) drawn without replacement, with each feature in `shift`
 * moved by `shiftStd` reference standard deviations (all features by default).
 */
export function referenceRows(
  n: number,
  seed: number,
  shiftStd = 0,
  shift: readonly string[] = defaultManifest.features,
): Record<string, number>[] {
  const { features, reference } = defaultManifest;
  const size = reference.features[features[0]].sample.length;
  const idx = Array.from({ length: size }, (_, i) => i);
  const random = rng(seed);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (size - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, n).map((r) =>
    Object.fromEntries(
      features.map((f) => {
        const ref = reference.features[f];
        return [f, ref.sample[r] + (shift.includes(f) ? shiftStd * ref.std : 0)];
      }),
    ),
  );
}
