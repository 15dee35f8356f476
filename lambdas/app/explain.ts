import { METRICS } from '#contracts';
import { UnsupportedModelError, VigilError } from '#core/errors.ts';
import type { MetricsSink, ModelRef } from '#core/ports.ts';
import { rowsToMatrix } from '#core/scoring.ts';
import { explainableTrees } from '#core/shap/covers.ts';
import { type Explanation, explainRows } from '#core/shap/explain.ts';
import { waterfallSvg } from '#core/shap/svg.ts';
import type { TreeEnsemble } from '#core/trees.ts';
import type { ModelCache, ServedModel } from './serve.ts';

export interface ExplainDeps {
  readonly models: Pick<ModelCache, 'get'>;
  readonly maxRows: number;
  readonly metrics: MetricsSink;
}

/** One explain request, parsed at the edge. */
export interface ExplainInput {
  readonly model: string;
  readonly ref: ModelRef;
  readonly rows: readonly unknown[];
  readonly requestId: string;
}

/** One row's explanation as the API returns it. */
export interface ExplainedRow {
  readonly score: number;
  readonly anomaly: boolean;
  readonly raw: number;
  readonly baseValue: number;
  readonly contributions: Explanation['contributions'];
  readonly rawContributions: Explanation['rawContributions'];
  readonly ranked: Explanation['ranked'];
  readonly summary: string;
}

/** The explanations of one request (the `POST …/explain` JSON body). */
export interface ExplainOutput {
  readonly model: string;
  readonly version: number;
  readonly threshold: number;
  readonly requestId: string;
  readonly direction: string;
  /** What `raw` is for this model (prediction, path length, probability or margin). */
  readonly explains?: string;
  /** Where TreeSHAP's covers came from: the model's own counts or the package's reference sample. */
  readonly coverSource: 'model' | 'reference';
  readonly results: ExplainedRow[];
  /** The waterfall chart of row `i` as SVG (the `?format=svg` body). @throws VigilError BadRequest for a row out of range */
  svg(row: number): string;
}

/**
 * The trees TreeSHAP walks: the graph's own covers when they are real counts
 * (Vigil-trained forests, an isolation forest's leaf sample counts), else covers
 * counted from the package's reference sample (skl2onnx's `nodes_hitrates` are
 * 1.0 everywhere, not counts). Computed once per loaded model.
 */
const explainable = new WeakMap<ServedModel, { trees: TreeEnsemble; coverSource: 'model' | 'reference' }>();
function treesFor(model: ServedModel): { trees: TreeEnsemble; coverSource: 'model' | 'reference' } {
  let t = explainable.get(model);
  if (!t) {
    if (!model.parsed) {
      throw new UnsupportedModelError(
        `model '${model.name}' version ${model.version} scores on onnxruntime-web but cannot be explained: ${model.unexplainable}`,
      );
    }
    t = explainableTrees(model.parsed, model.manifest);
    explainable.set(model, t);
  }
  return t;
}

const DIRECTION =
  'contributions: positive pushes the row towards anomaly; rawContributions: TreeSHAP of the raw output, baseValue + sum = raw';

/**
 * Exact TreeSHAP per row with the model the ref names, counted as `ExplainedRows`.
 * @example const out = await explainRowsOf(deps)({ model: 'default', ref: { alias: 'production' }, rows, requestId })
 */
export function explainRowsOf(deps: ExplainDeps) {
  return async (input: ExplainInput): Promise<ExplainOutput> => {
    const model = await deps.models.get(input.model, input.ref);
    const features = model.manifest.features;
    const nf = features.length;
    const x = rowsToMatrix(input.rows, features, deps.maxRows, model.inputType);
    const n = input.rows.length;
    const { trees, coverSource } = treesFor(model);
    const { score } = await model.engine.score(x, n);
    const rows = Array.from({ length: n }, (_, r) => x.subarray(r * nf, (r + 1) * nf));
    const explanations = explainRows(trees, features, rows, {
      rawHigherIsAnomalous: model.manifest.output.rawHigherIsAnomalous,
    });
    deps.metrics.emit([{ name: METRICS.explainedRows, value: n }], { model: input.model });
    const { threshold, output } = model.manifest;
    const isAnomaly = (s: number) => (output.higherIsAnomalous ? s >= threshold : s <= threshold);
    return {
      model: input.model,
      version: model.version,
      threshold,
      requestId: input.requestId,
      direction: DIRECTION,
      // What `raw` is (prediction, path-length, probability or margin) and where the covers came from.
      explains: model.parsed?.explains,
      coverSource,
      results: explanations.map((e, i) => ({
        score: score[i],
        anomaly: isAnomaly(score[i]),
        raw: e.raw,
        baseValue: e.baseValue,
        contributions: e.contributions,
        rawContributions: e.rawContributions,
        ranked: e.ranked,
        summary: e.summary,
      })),
      svg(row: number): string {
        if (!Number.isInteger(row) || row < 0 || row >= n) {
          throw new VigilError('BadRequest', `Query parameter 'row' must be an integer in [0, ${n - 1}]`);
        }
        return waterfallSvg(
          { ...explanations[row], score: score[row] },
          {
            title: `${input.model} v${model.version}: why score ${score[row].toFixed(3)}`,
            rawLabel: output.raw,
          },
        );
      },
    };
  };
}
