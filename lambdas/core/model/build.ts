import { type RawScorer, TreeScorer } from '#core/forest/fast-path.ts';
import { averagePathLength, isolationScore } from '#core/forest/isolation.ts';
import { Rng } from '#core/forest/rng.ts';
import type { TrainedForest } from '#core/forest/train.ts';
import { WasmTreeScorer } from '#core/forest/wasm-kernel.ts';
import { exportOnnx } from '#core/onnx/export.ts';
import { meanStd, quantileSorted, sortedCopy } from '#core/stats.ts';
import { type FeatureReference, type Manifest, ManifestSchema, type ModelPackage } from './manifest.ts';
import { sha256Hex } from './package-io.ts';

/** Most reference rows kept in a package (drift reference and SHAP covers). */
export const MAX_REFERENCE_ROWS = 10_000;
/** Algorithm tag of Vigil-trained isolation forests: the fast path knows its score transform. */
export const VIGIL_ISOLATION_FOREST = 'isolation_forest';
/** Default cut when contamination is 'auto': s(x) ≥ 0.6 is an anomaly (Liu et al.: s ≫ 0.5 means anomaly). */
export const AUTO_THRESHOLD = 0.6;

export interface BuildPackageInput {
  readonly name: string;
  readonly features: readonly string[];
  /** Training data, column-major, in `features` order. */
  readonly columns: ReadonlyArray<ArrayLike<number>>;
  readonly forest: TrainedForest;
  /** Share of anomalies expected in training data, or 'auto' (threshold 0.6). */
  readonly contamination: number | 'auto';
  readonly createdAt: string;
  readonly dataSha256: string;
  readonly window?: { from: string; to: string } | null;
  readonly metrics?: Record<string, number>;
  readonly version?: number;
  /** `trainingScores(forest, columns)`, when the caller already computed them. */
  readonly scores?: Float64Array;
}

/**
 * Assembles a model package (DESIGN.md §3) from a trained forest: the ONNX
 * graph (trees → path_length → score), the manifest with reference data and
 * the threshold derived from contamination.
 */
export function buildIsolationForestPackage(input: BuildPackageInput): ModelPackage {
  const { forest, columns, features } = input;
  const onnx = exportOnnx(forest.ensemble, {
    rawOutputName: 'path_length',
    isolationScore: { psi: forest.psi, scoreOutputName: 'score' },
    metadata: { 'vigil.features': features.join(','), 'vigil.algorithm': VIGIL_ISOLATION_FOREST },
  });
  const threshold = thresholdFor(() => input.scores ?? trainingScores(forest, columns), input.contamination);
  const manifest: Manifest = {
    name: input.name,
    version: input.version ?? 0,
    algorithm: VIGIL_ISOLATION_FOREST,
    features: [...features],
    params: {
      nEstimators: forest.nEstimators,
      maxSamples: forest.psi,
      seed: forest.seed,
      contamination: input.contamination,
      averagePathLengthPsi: averagePathLength(forest.psi),
    },
    threshold,
    output: { name: 'score', higherIsAnomalous: true, raw: 'path_length', rawHigherIsAnomalous: false },
    sha256: sha256Hex(onnx),
    createdAt: input.createdAt,
    training: {
      rows: columns[0]?.length ?? 0,
      dataSha256: input.dataSha256,
      window: input.window ?? null,
      seed: forest.seed,
    },
    reference: referenceData(features, columns, forest.seed),
    metrics: input.metrics ?? {},
  };
  return { manifest: ManifestSchema.parse(manifest), onnx };
}

/**
 * Anomaly scores of the training rows, through the same walk the fast path serves with,
 * so a threshold taken from them matches served scores: the wasm kernel the server switches to
 * (bit for bit the plain walk, ≈ 4× less CPU per row; a 1M-row training set spent 10 s of its
 * run in the plain walk here), or the plain walk where the kernel cannot be built.
 */
export function trainingScores(
  forest: TrainedForest,
  columns: ReadonlyArray<ArrayLike<number>>,
): Float64Array {
  const n = columns[0]?.length ?? 0;
  const nf = columns.length;
  const x = new Float32Array(n * nf);
  for (let i = 0; i < n; i++) for (let f = 0; f < nf; f++) x[i * nf + f] = columns[f][i];
  const plain = new TreeScorer(forest.ensemble);
  let scorer: RawScorer = plain;
  try {
    scorer = WasmTreeScorer.for(forest.ensemble, plain) ?? plain;
  } catch {
    // No memory for the kernel's heap: the plain walk computes the same values.
  }
  const raw = scorer.predictRaw(x, n);
  return Float64Array.from(raw, (h) => isolationScore(h, forest.psi));
}

/** Score cut: the (1 − contamination) quantile of training scores, or 0.6 for 'auto'. */
function thresholdFor(scores: () => Float64Array, c: number | 'auto'): number {
  if (c === 'auto') return AUTO_THRESHOLD;
  if (!(c > 0 && c < 0.5)) throw new Error('contamination must be in (0, 0.5) or "auto"');
  return quantileSorted(sortedForStats(scores()), 1 - c);
}

/**
 * A sorted copy in `Float64Array.prototype.sort`'s order: the radix sort (1M-row packages spent
 * most of their statistics time in the built-in sort: 10 columns 1.9 → 1.1 s), unless a missing
 * value (NaN) is present, which the radix sort does not order; then the built-in sort (NaN last).
 * Measured and not kept: quickselect for the 9 deciles was no faster than the radix sort at 1M.
 */
function sortedForStats(col: ArrayLike<number>): Float64Array {
  const copy = Float64Array.from(col);
  for (let i = 0; i < copy.length; i++) if (Number.isNaN(copy[i])) return copy.sort();
  return sortedCopy(copy);
}

/** Row-aligned reference sample (≤ 10,000 rows) plus per-feature statistics over all rows. */
export function referenceData(
  features: readonly string[],
  columns: ReadonlyArray<ArrayLike<number>>,
  seed: number,
): Manifest['reference'] {
  const n = columns[0]?.length ?? 0;
  let idx = Array.from({ length: n }, (_, i) => i);
  if (n > MAX_REFERENCE_ROWS) {
    const rng = new Rng(seed ^ 0x5eed);
    for (let i = 0; i < MAX_REFERENCE_ROWS; i++) {
      const j = i + rng.int(n - i);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    idx = idx.slice(0, MAX_REFERENCE_ROWS).sort((a, b) => a - b);
  }
  const out: Record<string, FeatureReference> = {};
  features.forEach((f, k) => {
    const col = columns[k];
    const sorted = sortedForStats(col);
    const { mean, std } = meanStd(col);
    out[f] = {
      sample: idx.map((i) => col[i]),
      n,
      mean,
      std,
      min: sorted[0],
      max: sorted[n - 1],
      deciles: Array.from({ length: 9 }, (_, i) => quantileSorted(sorted, (i + 1) / 10)),
    };
  });
  return { rows: idx.length, features: out };
}
