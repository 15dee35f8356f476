import type { Context } from 'aws-lambda';
import { metrics } from '#adapters/observability.ts';
import { VigilError } from '#core/errors.ts';
import { rowsToMatrix } from '#core/scoring.ts';
import { withCovers } from '#core/shap/covers.ts';
import { type Explanation, explainRows } from '#core/shap/explain.ts';
import { waterfallSvg } from '#core/shap/svg.ts';
import type { TreeEnsemble } from '#core/trees.ts';
import { type HttpEvent, type HttpResult, json } from '#runtime/http.ts';
import { parseRowsRequest } from '#runtime/request.ts';
import type { ModelCache, ServedModel } from './serve.ts';

export interface ExplainDeps {
  readonly models: ModelCache;
  readonly maxRows: number;
  readonly pinnedVersion?: number;
  readonly alias: string;
}

/**
 * The trees TreeSHAP walks: the package's own covers when the graph carries
 * them (Vigil-trained forests), else covers counted from the package's
 * reference sample (imported models). Computed once per loaded model.
 */
const explainable = new WeakMap<ServedModel, TreeEnsemble>();
function treesFor(model: ServedModel): TreeEnsemble {
  let t = explainable.get(model);
  if (!t) {
    const e = model.parsed.ensemble;
    if (e.cover.every((c) => Number.isFinite(c))) t = e;
    else {
      const ref = model.manifest.reference.features;
      t = withCovers(e, { columns: model.manifest.features.map((f) => ref[f].sample) });
    }
    explainable.set(model, t);
  }
  return t;
}

/**
 * `POST /v1/models/{model}/explain`: exact TreeSHAP per row. JSON by default;
 * `?format=svg` returns the waterfall chart of row `?row=i` (default 0).
 */
export function explainRequest(deps: ExplainDeps) {
  return async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    const format = event.queryStringParameters?.format ?? 'json';
    if (format !== 'json' && format !== 'svg') {
      throw new VigilError('BadRequest', `Query parameter 'format' must be 'json' or 'svg'`);
    }
    const req = parseRowsRequest(event, { version: deps.pinnedVersion, alias: deps.alias });
    const model = await deps.models.get(req.model, req.ref);
    const features = model.manifest.features;
    const nf = features.length;
    const x = rowsToMatrix(req.rows, features, deps.maxRows, model.parsed.inputType);
    const n = req.rows.length;
    const { score } = await model.engine.score(x, n);
    const rows = Array.from({ length: n }, (_, r) => x.subarray(r * nf, (r + 1) * nf));
    const explanations = explainRows(treesFor(model), features, rows, {
      rawHigherIsAnomalous: model.manifest.output.rawHigherIsAnomalous,
    });
    metrics.addDimensions({ model: req.model });
    metrics.addMetric('ExplainedRows', 'Count', n);
    const { threshold, output } = model.manifest;
    const isAnomaly = (s: number) => (output.higherIsAnomalous ? s >= threshold : s <= threshold);

    if (format === 'svg') {
      const rowParam = event.queryStringParameters?.row ?? '0';
      const row = /^[0-9]{1,6}$/.test(rowParam) ? Number(rowParam) : Number.NaN;
      if (!Number.isInteger(row) || row < 0 || row >= n) {
        throw new VigilError('BadRequest', `Query parameter 'row' must be an integer in [0, ${n - 1}]`);
      }
      const svg = waterfallSvg(
        { ...explanations[row], score: score[row] },
        { title: `${req.model} v${model.version}: why score ${score[row].toFixed(3)}`, rawLabel: output.raw },
      );
      return { statusCode: 200, headers: { 'content-type': 'image/svg+xml' }, body: svg };
    }
    return json(200, {
      model: req.model,
      version: model.version,
      threshold,
      requestId: context.awsRequestId,
      direction:
        'contributions: positive pushes the row towards anomaly; rawContributions: TreeSHAP of the raw output, baseValue + sum = raw',
      results: explanations.map((e: Explanation, i) => ({
        score: score[i],
        anomaly: isAnomaly(score[i]),
        raw: e.raw,
        baseValue: e.baseValue,
        contributions: e.contributions,
        rawContributions: e.rawContributions,
        ranked: e.ranked,
        summary: e.summary,
      })),
    });
  };
}
