/** What thinning needs of a capture (see `CapturedRow` in core/ports.ts). */
export interface SampledRow {
  readonly sampleRate?: number;
}

const rateOf = (r: SampledRow): number =>
  r.sampleRate !== undefined && r.sampleRate > 0 ? Math.min(r.sampleRate, 1) : 1;

/**
 * Captures are a biased sample: normal rows are kept with the model's sample rate, anomalies
 * always (`sampleRate` 1). Anything that treats them as the traffic (training data, the drift
 * window) would see anomalies as common. Each row is kept with probability minRate / sampleRate
 * (minRate = the smallest rate among `rows`), so every scored row ends up kept with the same
 * overall probability, which restores the traffic's own mix. A row without a rate counts as
 * rate 1 (written before the field existed). `random` is a uniform [0, 1) source.
 * @example thinToUniform([{ sampleRate: 0.1 }, { sampleRate: 1 }], Math.random)
 */
export function thinToUniform<T extends SampledRow>(rows: readonly T[], random: () => number): T[] {
  let minRate = 1;
  for (const r of rows) minRate = Math.min(minRate, rateOf(r));
  if (minRate === 1) return [...rows];
  return rows.filter((r) => random() < minRate / rateOf(r));
}
