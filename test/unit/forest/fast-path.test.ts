import { describe, expect, it } from 'vitest';
import { TreeScorer } from '#core/forest/fast-path.ts';
import { ALL_BRANCH_MODES, gridRows, randomEnsemble, referencePredict } from '../../helpers/random-trees.ts';

describe('TreeScorer (fast path)', () => {
  for (const aggregate of ['SUM', 'AVERAGE', 'MIN', 'MAX'] as const) {
    it(`matches an independent recursive walk for every split mode (${aggregate})`, () => {
      const t = randomEnsemble({
        seed: 11,
        nFeatures: 5,
        nTrees: 12,
        maxDepth: 6,
        modes: ALL_BRANCH_MODES,
        aggregate,
        base: 0.25,
      });
      const rows = 400;
      const x = gridRows(3, rows, 5);
      const got = new TreeScorer(t).predictRaw(x, rows);
      for (let r = 0; r < rows; r++) {
        expect(got[r]).toBe(referencePredict(t, x.subarray(r * 5, r * 5 + 5)));
      }
    });
  }

  it('sends NaN down the branch missingTracksTrue names', () => {
    const t = randomEnsemble({ seed: 12, nFeatures: 3, nTrees: 8, maxDepth: 5 });
    const x = Float32Array.of(Number.NaN, 0.5, Number.NaN);
    expect(new TreeScorer(t).predictRaw(x, 1)[0]).toBe(referencePredict(t, x));
  });
});
