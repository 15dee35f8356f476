/**
 * `vigil/edge`: score and explain a Vigil model package anywhere JavaScript runs — a
 * browser page, a worker runtime, Node or Lambda@Edge — with no AWS SDK and no wasm.
 *
 * It is the server's own code, not a port of it: the same ONNX reader and tree parser
 * (`#core/onnx/parse.ts` over the purpose-built protobuf reader `wire.ts`), the same
 * float64 tree fast path (`fastEngine`), the same row validation (`rowsToMatrix`) and
 * the same exact TreeSHAP with the same covers (`explainableTrees`). Graphs the fast
 * path does not cover can run on onnxruntime-web, which is never bundled: the caller
 * passes a loader (`ort: () => import('onnxruntime-web')`) when it wants that fallback.
 *
 * @example
 * import { loadPackage } from 'vigil/edge';
 * const body = await (await fetch('/v1/models/default/versions/1/package', { headers })).json();
 * const model = await loadPackage(body);
 * const [r] = await model.score([{ cpu: 95, memory: 85, network: 500 }]);
 * r.anomaly; // true
 */
import { IntegrityError, UnsupportedModelError } from '#core/errors.ts';
import { type Manifest, parseManifest, validateManifest } from '#core/model/manifest.ts';
import {
  checkServable,
  type Engine,
  type FeatureMatrix,
  fastEngine,
  fastPathSupports,
  rowsToMatrix,
} from '#core/scoring.ts';
import { type ExplainableTrees, explainableTrees } from '#core/shap/covers.ts';
import { type Explanation, explainRows } from '#core/shap/explain.ts';

export { VigilError } from '#core/errors.ts';
export type { Manifest } from '#core/model/manifest.ts';
export type { Explanation } from '#core/shap/explain.ts';

/** A package as `GET /v1/models/{model}/versions/{version}/package` returns it, or as two files. */
export interface PackageSource {
  /** manifest.json: its bytes, its text or the parsed object. */
  readonly manifest: Uint8Array | string | object;
  /** model.onnx: its bytes, or base64 (the API's JSON form). */
  readonly onnx: Uint8Array | string;
}

/** The part of onnxruntime-web the fallback uses (so the type does not pull the package in). */
export interface OrtLike {
  readonly InferenceSession: {
    create(bytes: Uint8Array): Promise<{
      readonly inputNames: readonly string[];
      run(feeds: Record<string, unknown>): Promise<Record<string, { readonly data: ArrayLike<number> }>>;
    }>;
  };
  readonly Tensor: new (type: 'float32' | 'float64', data: FeatureMatrix, dims: number[]) => unknown;
}

export interface LoadOptions {
  /**
   * Check model.onnx against the manifest's sha256 (Web Crypto), as the server does.
   * @default true
   */
  readonly verify?: boolean;
  /** Loads onnxruntime-web for graphs the tree fast path does not cover. @default none: such graphs are refused */
  readonly ort?: () => Promise<OrtLike>;
  /** Most rows per call. @default 10000 */
  readonly maxRows?: number;
}

/** One scored row, as the server's `results[i]`. */
export interface EdgeScore {
  readonly score: number;
  readonly anomaly: boolean;
}

/** One explained row, as the server's explain `results[i]`. */
export interface EdgeExplanation extends EdgeScore {
  readonly raw: number;
  readonly baseValue: number;
  readonly contributions: Explanation['contributions'];
  readonly rawContributions: Explanation['rawContributions'];
  readonly ranked: Explanation['ranked'];
  readonly summary: string;
}

/** A loaded package: score and explain rows of feature name → number. */
export interface EdgeModel {
  readonly manifest: Manifest;
  readonly features: readonly string[];
  readonly threshold: number;
  /** `fast` (the tree fast path) or `onnx` (the onnxruntime-web fallback). */
  readonly engine: Engine['name'];
  /** @throws InvalidFeatureError naming the row and field, as the server's 400 */
  score(rows: readonly unknown[]): Promise<EdgeScore[]>;
  /** Exact TreeSHAP per row. @throws UnsupportedModelError for a graph only onnxruntime-web runs */
  explain(rows: readonly unknown[]): Promise<EdgeExplanation[]>;
}

const fromBase64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Loads a model package from bytes (or the API's JSON form).
 * @throws VigilError InvalidModel | IntegrityError | UnsupportedModel
 */
export async function loadPackage(source: PackageSource, opts: LoadOptions = {}): Promise<EdgeModel> {
  const manifest =
    typeof source.manifest === 'string' || source.manifest instanceof Uint8Array
      ? parseManifest(source.manifest)
      : validateManifest(source.manifest);
  const onnx = typeof source.onnx === 'string' ? fromBase64(source.onnx) : source.onnx;
  if (opts.verify ?? true) {
    const actual = await sha256Hex(onnx);
    if (actual !== manifest.sha256) {
      throw new IntegrityError('sha256 of model.onnx does not match its manifest', {
        expected: manifest.sha256,
        actual,
      });
    }
  }
  const { parsed, unexplainable, inputType } = checkServable({ manifest, onnx });
  let engine: Engine;
  if (parsed && fastPathSupports(manifest, parsed)) engine = fastEngine(parsed, manifest);
  else if (opts.ort) engine = await ortEngine(await opts.ort(), onnx, manifest, inputType);
  else {
    throw new UnsupportedModelError(
      `the tree fast path cannot compute '${manifest.output.name}' of this graph; pass { ort: () => import('onnxruntime-web') } to run it`,
    );
  }
  const maxRows = opts.maxRows ?? 10_000;
  const features = manifest.features;
  const { threshold, output } = manifest;
  const isAnomaly = (s: number) => (output.higherIsAnomalous ? s >= threshold : s <= threshold);
  let trees: ExplainableTrees | undefined;
  return {
    manifest,
    features,
    threshold,
    engine: engine.name,
    async score(rows) {
      const x = rowsToMatrix(rows, features, maxRows, inputType);
      const { score } = await engine.score(x, rows.length);
      return Array.from(score, (s) => ({ score: s, anomaly: isAnomaly(s) }));
    },
    async explain(rows) {
      if (!parsed)
        throw new UnsupportedModelError(`this model cannot be explained: ${unexplainable?.message}`);
      const x = rowsToMatrix(rows, features, maxRows, inputType);
      const n = rows.length;
      const nf = features.length;
      trees ??= explainableTrees(parsed, manifest);
      const { score } = await engine.score(x, n);
      const split = Array.from({ length: n }, (_, r) => x.subarray(r * nf, (r + 1) * nf));
      const explained = explainRows(trees.trees, features, split, {
        rawHigherIsAnomalous: output.rawHigherIsAnomalous,
      });
      return explained.map((e, i) => ({
        score: score[i],
        anomaly: isAnomaly(score[i]),
        raw: e.raw,
        baseValue: e.baseValue,
        contributions: e.contributions,
        rawContributions: e.rawContributions,
        ranked: e.ranked,
        summary: e.summary,
      }));
    },
  };
}

/** onnxruntime-web over the graph's first input and the manifest's score output (tensor outputs only). */
async function ortEngine(
  ort: OrtLike,
  onnx: Uint8Array,
  m: Manifest,
  inputType: 'float' | 'double',
): Promise<Engine> {
  const session = await ort.InferenceSession.create(onnx);
  const nf = m.features.length;
  const sign = m.output.negate ? -1 : 1;
  return {
    name: 'onnx',
    async score(x, rows) {
      const feed = new ort.Tensor(inputType === 'double' ? 'float64' : 'float32', x, [rows, nf]);
      const out = await session.run({ [session.inputNames[0]]: feed });
      const data = out[m.output.name]?.data;
      if (!data) throw new UnsupportedModelError(`the graph returned no tensor '${m.output.name}'`);
      const width = data.length / rows;
      const score = Float64Array.from({ length: rows }, (_, i) => sign * Number(data[i * width + width - 1]));
      return { raw: score, score };
    },
  };
}
