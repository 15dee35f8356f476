import { UnsupportedModelError, VigilError } from '#core/errors.ts';
import { decodeModel, type ParsedModel, parseOnnx } from '#core/onnx/parse.ts';
import { loadModel, rowsToMatrix } from '#core/scoring.ts';
import { quantileSorted } from '#core/stats.ts';
import { referenceData } from './build.ts';
import { type Manifest, ManifestSchema, type ModelPackage } from './manifest.ts';
import { sha256Hex } from './package-io.ts';

/** What `vigil models import` builds a package from. */
export interface ImportInput {
  readonly name: string;
  /** model.onnx bytes, as the converter wrote them. */
  readonly onnx: Uint8Array;
  /** The reference data (a CSV parsed by `parseNumericCsv`): column names and column-major values. */
  readonly reference: {
    readonly columns: readonly string[];
    readonly data: ReadonlyArray<ArrayLike<number>>;
  };
  /** Feature names in the graph's column order. @default the graph's `vigil.features` metadata, else the CSV header */
  readonly features?: readonly string[];
  /** Score at or above which a row is an anomaly (Vigil's scale). */
  readonly threshold?: number;
  /** Share of reference rows to flag: the threshold becomes their (1 − p) score quantile. */
  readonly contamination?: number;
  readonly createdAt: string;
  /** sha256 of the reference file, recorded as the training data's digest. */
  readonly dataSha256: string;
}

/**
 * Builds a complete model package for a brought ONNX model (a pure function: bytes and
 * rows in, package out). Features come from `features`, the graph's metadata or the
 * CSV header and must match the graph's input width; the reference sample (≤ 10,000
 * rows) serves drift tests and TreeSHAP covers; the served output and its direction
 * follow from the family the graph is recognised as. The threshold is `threshold`,
 * or the `contamination` quantile of the reference scores, or the family's own cut:
 * scikit-learn's `offset_` for an isolation forest (carried over from the graph onto
 * Vigil's scale) and 0.5 for a classifier's positive-class probability.
 *
 * @throws VigilError BadRequest (features, threshold), InvalidModel, UnsupportedModel
 */
export async function importModel(input: ImportInput): Promise<ModelPackage> {
  if (input.threshold !== undefined && input.contamination !== undefined) {
    throw new VigilError('BadRequest', 'give either a threshold or a contamination, not both');
  }
  if (input.contamination !== undefined && !(input.contamination > 0 && input.contamination < 0.5)) {
    throw new VigilError('BadRequest', `contamination must be in (0, 0.5), got ${input.contamination}`);
  }
  if (input.threshold !== undefined && !Number.isFinite(input.threshold)) {
    throw new VigilError('BadRequest', 'threshold must be a finite number');
  }
  const graph = decodeModel(input.onnx);
  let parsed: ParsedModel | undefined;
  let unsupported: UnsupportedModelError | undefined;
  try {
    parsed = parseOnnx(input.onnx);
  } catch (e) {
    if (!(e instanceof UnsupportedModelError)) throw e;
    unsupported = e;
  }
  const dims = graph.graph.input?.[0]?.type?.tensorType?.shape?.dim ?? [];
  const declared = dims[1]?.dimValue != null ? Number(dims[1].dimValue) : undefined;
  const width = parsed?.ensemble.nFeatures ?? declared;
  const metaFeatures = (graph.metadataProps ?? []).find((p) => p.key === 'vigil.features')?.value;
  const features = [
    ...(input.features ?? (metaFeatures ? metaFeatures.split(',') : input.reference.columns)),
  ];
  if (width !== undefined && features.length !== width) {
    throw new VigilError(
      'BadRequest',
      `the graph reads ${width} columns but ${features.length} features were given (${features.join(', ')})` +
        (input.features
          ? ''
          : `; pass --features with the ${width} the model was trained on, in column order`),
      { graphWidth: width, features },
    );
  }
  const columns = features.map((f) => {
    const i = input.reference.columns.indexOf(f);
    if (i < 0) {
      throw new VigilError(
        'BadRequest',
        `the reference data has no column '${f}' (columns: ${input.reference.columns.join(', ')})`,
      );
    }
    return input.reference.data[i];
  });
  const rows = columns[0]?.length ?? 0;
  if (rows === 0) throw new VigilError('InsufficientData', 'the reference data has no rows');

  const choice = parsed
    ? outputFor(parsed)
    : ortOnlyOutput(graph.graph, unsupported as UnsupportedModelError);
  const threshold0 = input.threshold ?? choice.threshold;
  if (threshold0 === undefined && input.contamination === undefined) {
    throw new VigilError(
      'BadRequest',
      `a ${parsed?.family ?? 'model Vigil cannot fold'} has no natural cut: pass --threshold <x> or --contamination <p>`,
    );
  }
  const manifest: Manifest = {
    name: input.name,
    version: 0,
    algorithm: `${graph.producerName || 'onnx'}.${parsed?.family ?? 'onnxruntime-only'}`,
    features,
    params: {
      producer: `${graph.producerName ?? ''} ${graph.producerVersion ?? ''}`.trim(),
      family: parsed?.family ?? null,
      explains: parsed?.explains ?? null,
      coverSource: parsed ? (parsed.coverSource === 'model' ? 'model' : 'reference') : null,
      ...(parsed?.sklearnOffset !== undefined ? { sklearnOffset: parsed.sklearnOffset } : {}),
      ...(input.contamination !== undefined ? { contamination: input.contamination } : {}),
    },
    threshold: threshold0 ?? 0,
    output: choice.output,
    sha256: sha256Hex(input.onnx),
    createdAt: input.createdAt,
    training: { rows, dataSha256: input.dataSha256, window: null },
    reference: referenceData(features, columns, 0),
    metrics: {},
  };
  let pkg: ModelPackage = { manifest: ManifestSchema.parse(manifest), onnx: input.onnx };
  if (input.contamination !== undefined) {
    const model = await loadModel(pkg);
    const body = Array.from({ length: rows }, (_, r) =>
      Object.fromEntries(features.map((f, k) => [f, columns[k][r]])),
    );
    const x = rowsToMatrix(body, features, rows, model.inputType);
    const { score } = await model.engine.score(x, rows);
    const sorted = Float64Array.from(score).sort();
    pkg = {
      manifest: { ...pkg.manifest, threshold: quantileSorted(sorted, 1 - input.contamination) },
      onnx: input.onnx,
    };
  } else {
    // Servability is checked here too, so a package is never handed out that could not serve.
    await loadModel(pkg, { engine: parsed ? 'fast' : 'onnx' });
  }
  return pkg;
}

interface OutputChoice {
  readonly output: Manifest['output'];
  readonly threshold?: number;
}

/** The output a recognised family serves on Vigil's scale, and its natural threshold. */
function outputFor(p: ParsedModel): OutputChoice {
  const served = Object.entries(p.served).filter(([name]) => p.outputs.includes(name));
  const raw = p.rawOutputName;
  if (p.family === 'isolation-forest') {
    const negated = served.filter(([, s]) => s.tail.kind === 'pow2' && s.tail.mult < 0);
    // scikit-learn: score_samples = −2^(−E[h]/c(ψ)), decision_function = score_samples − offset_;
    // Vigil serves −score_samples, an anomaly when score_samples < offset_, i.e. score > −offset_.
    const pick = negated.find(([, s]) => s.tail.kind === 'pow2' && s.tail.add === 0) ?? negated[0];
    if (pick) {
      const add = pick[1].tail.kind === 'pow2' ? pick[1].tail.add : 0;
      return {
        output: { name: pick[0], higherIsAnomalous: true, raw, rawHigherIsAnomalous: false, negate: true },
        ...(p.sklearnOffset !== undefined ? { threshold: -p.sklearnOffset - add } : {}),
      };
    }
    const vigil = Object.keys(p.pow2Outputs)[0];
    if (vigil) return { output: { name: vigil, higherIsAnomalous: true, raw, rawHigherIsAnomalous: false } };
  }
  if (p.family === 'boosting-classifier' || p.family === 'forest-classifier') {
    // The ZipMap output when there is one (what the converter returns), else the probability tensor.
    const zip = served.find(([name, s]) => name !== s.tensor) ?? served[0];
    return {
      output: { name: zip?.[0] ?? raw, higherIsAnomalous: true, raw, rawHigherIsAnomalous: true },
      threshold: 0.5,
    };
  }
  const name = p.outputs.includes(raw) ? raw : (served[0]?.[0] ?? raw);
  return { output: { name, higherIsAnomalous: true, raw, rawHigherIsAnomalous: true } };
}

/** A tree graph Vigil cannot fold: its first tensor output, scored on onnxruntime-web. */
function ortOnlyOutput(
  graph: ReturnType<typeof decodeModel>['graph'],
  why: UnsupportedModelError,
): OutputChoice {
  const hasTrees = (graph.node ?? []).some(
    (n) => (n.domain ?? '') === 'ai.onnx.ml' && (n.opType ?? '').startsWith('TreeEnsemble'),
  );
  const out = (graph.output ?? []).find(
    (o) => o.type?.tensorType?.elemType === 1 || o.type?.tensorType?.elemType === 11,
  );
  if (!hasTrees || !out?.name) throw why;
  return { output: { name: out.name, higherIsAnomalous: true, raw: out.name, rawHigherIsAnomalous: true } };
}
