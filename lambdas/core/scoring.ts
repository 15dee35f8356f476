import { type RawScorer, TreeScorer } from '#core/forest/fast-path.ts';
import { servedScorer } from '#core/forest/wasm-kernel.ts';
import type { Manifest, ModelPackage } from '#core/model/manifest.ts';
import type { OrtModel } from '#core/onnx/ort.ts';
import { decodeModel, type ParsedModel, parseOnnx, refusal, type ServedOutput } from '#core/onnx/parse.ts';
import { applyTail, invertTail } from '#core/onnx/tails.ts';
import { InvalidFeatureError, UnsupportedModelError, VigilError } from './errors.ts';

/** Rows packed for a model: float32 for a tensor(float) graph, float64 for tensor(double). */
export type FeatureMatrix = Float32Array | Float64Array;

/**
 * Which request values a model accepts, decided once from its graph's input type:
 *
 * - `float32`: a finite value that stays finite and, unless it is 0, non-zero in float32
 *   (`Math.fround`). Overflowing to ±Infinity or vanishing to 0 is not rounding but a different
 *   value; both are a 400 naming the field. Every accepted value lies within 1.4e-45 ≤ |v| ≤
 *   3.4e38, inside DynamoDB's number range (1e-130 … 1e126), so captures store it exactly.
 * - `float64`: a finite double inside DynamoDB's number range, for the same reason.
 */
export type InputDomain = 'float32' | 'float64';

/** DynamoDB's number range (magnitudes); captures store accepted values as DynamoDB numbers. */
const STORED_MIN = 1e-130;
const STORED_MAX = 9.999999999999999e125;

/** Why `v` is outside `domain`, or undefined when the model's input type represents it. */
export function outsideDomain(v: number, domain: InputDomain): string | undefined {
  if (!Number.isFinite(v)) return 'must be a finite number';
  if (v === 0) return undefined;
  if (domain === 'float32') {
    const f = Math.fround(v);
    if (!Number.isFinite(f)) return "is too large for the model's float32 input (|value| ≤ 3.4e38)";
    if (f === 0) return "is too small for the model's float32 input (it would become 0; |value| ≥ 1.4e-45)";
    return undefined;
  }
  const a = Math.abs(v);
  if (a > STORED_MAX) return 'is too large (|value| < 1e126)';
  if (a < STORED_MIN) return 'is too small (|value| ≥ 1e-130, or 0)';
  return undefined;
}

/**
 * Validates request rows against the model's features and packs them into a
 * row-major matrix of the graph's input type (float32 unless `inputType` is
 * 'double'). Every problem names the row and field.
 *
 * @throws InvalidFeatureError for a missing, unknown or non-numeric feature, or a value outside
 *   the model's input domain (`outsideDomain`)
 * @throws VigilError EmptyBatch | BatchTooLarge | InvalidBody
 */
export function rowsToMatrix(
  rows: unknown,
  features: readonly string[],
  maxRows: number,
  inputType: 'float' | 'double' = 'float',
): FeatureMatrix {
  if (!Array.isArray(rows)) throw new VigilError('InvalidBody', "'rows' must be an array of objects");
  if (rows.length === 0) throw new VigilError('EmptyBatch', "'rows' must contain at least one row");
  if (rows.length > maxRows) {
    throw new VigilError('BatchTooLarge', `'rows' has ${rows.length} rows; the limit is ${maxRows}`, {
      rows: rows.length,
      limit: maxRows,
    });
  }
  const nf = features.length;
  const known = new Set(features);
  const x = inputType === 'double' ? new Float64Array(rows.length * nf) : new Float32Array(rows.length * nf);
  const domain: InputDomain = inputType === 'double' ? 'float64' : 'float32';
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new InvalidFeatureError(`row ${r} must be an object of feature name → number`, { row: r });
    }
    const rec = row as Record<string, unknown>;
    for (const key of Object.keys(rec)) {
      if (!known.has(key)) {
        const shown = clip(key);
        throw new InvalidFeatureError(
          `row ${r}: unknown feature '${shown}' (expected: ${features.join(', ')})`,
          {
            row: r,
            field: shown,
            expected: features,
          },
        );
      }
    }
    for (let f = 0; f < nf; f++) {
      const name = features[f];
      const v = rec[name];
      if (v === undefined) {
        throw new InvalidFeatureError(`row ${r}: missing feature '${name}'`, { row: r, field: name });
      }
      if (typeof v !== 'number') {
        throw new InvalidFeatureError(`row ${r}: feature '${name}' must be a number, got ${typeName(v)}`, {
          row: r,
          field: name,
        });
      }
      const outside = outsideDomain(v, domain);
      if (outside) {
        throw new InvalidFeatureError(`row ${r}: feature '${name}' ${outside}`, { row: r, field: name });
      }
      x[r * nf + f] = v;
    }
  }
  return x;
}

/** Caller-supplied text echoed in an error, cut so an error can never outgrow the request. */
const clip = (s: string, max = 64): string => (s.length > max ? `${s.slice(0, max)}…` : s);

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

export type EngineName = 'fast' | 'onnx';

/** A scoring engine over a row-major matrix (float32, or float64 for a tensor(double) graph). */
export interface Engine {
  readonly name: EngineName;
  /** Raw tree-ensemble output (what TreeSHAP explains) and served anomaly score per row. */
  score(x: FeatureMatrix, rows: number): Promise<{ raw: Float64Array; score: Float64Array }>;
}

/** A model package made ready to serve: parsed trees (when they could be parsed) plus an engine. */
export interface LoadedModel {
  readonly manifest: Manifest;
  /** The folded trees; absent for a graph served by onnxruntime-web only. */
  readonly parsed?: ParsedModel;
  /** Why the model cannot be explained, when it cannot (it still scores on onnxruntime-web). */
  readonly unexplainable?: string;
  /** Element type rows are packed as (`rowsToMatrix`'s `inputType`). */
  readonly inputType: 'float' | 'double';
  readonly engine: Engine;
}

/** What the manifest's score output is in terms of the parsed trees, if the trees compute it. */
export function servedScore(m: Manifest, parsed: ParsedModel): ServedOutput | undefined {
  return (
    parsed.served[m.output.name] ??
    (m.output.name === parsed.rawOutputName
      ? { tail: { kind: 'affine', a: 1, b: 0 }, tensor: m.output.name, column: 0 }
      : undefined)
  );
}

/**
 * Whether the tree fast path can compute this package's score from its graph alone: the
 * score output is the trees' raw output or follows from it through the graph's own
 * post-processing (`ParsedModel.served`). Anything else runs on onnxruntime-web.
 */
export const fastPathSupports = (m: Manifest, parsed: ParsedModel): boolean =>
  servedScore(m, parsed) !== undefined;

/** A package that can be served, with the trees when they parse. */
export interface Servable {
  readonly parsed?: ParsedModel;
  /** The refusal that keeps it from being explained (it scores on onnxruntime-web). */
  readonly unexplainable?: UnsupportedModelError;
  readonly inputType: 'float' | 'double';
}

const isTreeOp = (n: { domain?: string | null; opType?: string | null }) =>
  (n.domain ?? '') === 'ai.onnx.ml' && (n.opType ?? '').startsWith('TreeEnsemble');

/**
 * Parses the package's graph and checks it against the manifest (feature count, output
 * names). Registration runs this too, so a package that cannot be served is refused
 * before it gets a version number. A tree-ensemble graph Vigil cannot fold is still
 * servable on onnxruntime-web when the manifest's score is a tensor output of the graph;
 * it is then marked unexplainable with the reason.
 * @throws VigilError InvalidModel | UnsupportedModel (naming the graph's op types)
 */
export function checkServable(pkg: ModelPackage): Servable {
  const m = pkg.manifest;
  let parsed: ParsedModel;
  try {
    parsed = parseOnnx(pkg.onnx);
  } catch (e) {
    if (!(e instanceof UnsupportedModelError)) throw e;
    const graph = decodeModel(pkg.onnx).graph;
    const out = (graph.output ?? []).find((o) => o.name === m.output.name);
    const input = graph.input?.[0]?.type?.tensorType;
    const width = input?.shape?.dim?.[1]?.dimValue;
    if (!(graph.node ?? []).some(isTreeOp) || !out?.type?.tensorType || !input) throw e;
    if (width != null && Number(width) !== m.features.length) {
      throw new VigilError(
        'InvalidModel',
        `manifest lists ${m.features.length} features but the ONNX graph reads ${width}`,
      );
    }
    return { unexplainable: e, inputType: input.elemType === 11 ? 'double' : 'float' };
  }
  if (parsed.ensemble.nFeatures !== m.features.length) {
    throw new VigilError(
      'InvalidModel',
      `manifest lists ${m.features.length} features but the ONNX graph reads ${parsed.ensemble.nFeatures}`,
    );
  }
  for (const out of [m.output.name, m.output.raw]) {
    if (!parsed.outputs.includes(out) && out !== parsed.rawOutputName && !parsed.served[out]) {
      throw new VigilError('InvalidModel', `manifest output '${out}' is not produced by the ONNX graph`);
    }
  }
  if (!servedScore(m, parsed)) {
    // Scored on onnxruntime-web, which returns tensors only (not ZipMap's sequences of maps).
    const graph = decodeModel(pkg.onnx).graph;
    if (!(graph.output ?? []).find((o) => o.name === m.output.name)?.type?.tensorType) {
      throw refusal(graph, `manifest output '${m.output.name}' is not a tensor the graph returns`);
    }
  }
  return { parsed, inputType: parsed.inputType };
}

/**
 * Prepares a package for scoring. `engine: 'fast'` (default) uses the tree
 * fast path where it can compute the score and onnxruntime-web otherwise;
 * `'onnx'` always uses onnxruntime-web.
 */
export async function loadModel(
  pkg: ModelPackage,
  opts: { engine?: EngineName; wasmDir?: string } = {},
): Promise<LoadedModel> {
  const { parsed, unexplainable, inputType } = checkServable(pkg);
  const m = pkg.manifest;
  const fast = (opts.engine ?? 'fast') === 'fast' && parsed && fastPathSupports(m, parsed);
  const engine = fast
    ? fastEngine(parsed, m, servedScorer(parsed.ensemble))
    : await onnxEngine(pkg.onnx, m, parsed, opts.wasmDir);
  return {
    manifest: m,
    ...(parsed ? { parsed } : {}),
    ...(unexplainable ? { unexplainable: unexplainable.message } : {}),
    inputType,
    engine,
  };
}

/** onnxruntime-web is imported only when a model needs it: the fast path's cold start never pays for it. */
async function loadOrt(bytes: Uint8Array, wasmDir?: string, expose?: readonly string[]): Promise<OrtModel> {
  const { createOrtModel } = await import('#core/onnx/ort.ts');
  return createOrtModel(bytes, { wasmDir, ...(expose ? { expose } : {}) });
}

/** −1 when the manifest serves the negated output (scikit-learn's score_samples on Vigil's scale). */
const signOf = (m: Manifest): number => (m.output.negate ? -1 : 1);

/**
 * The tree fast path over parsed trees, computing the manifest's score output. The edge
 * entry uses it with the default, plain TypeScript kernel (no wasm); `loadModel` passes
 * the server's (`servedScorer`: the WebAssembly walk once a model has scored 1,000 rows,
 * bit-for-bit equal to the plain one).
 */
export function fastEngine(
  parsed: ParsedModel,
  m: Manifest,
  scorer: RawScorer = new TreeScorer(parsed.ensemble),
): Engine {
  // The tail comes from the graph (e.g. 2^(−raw/c(ψ))), so the fast path computes
  // exactly what the graph does, whatever the manifest's params say.
  const { tail } = servedScore(m, parsed) as ServedOutput;
  const sign = signOf(m);
  return {
    name: 'fast',
    async score(x, rows) {
      const raw = scorer.predictRaw(x, rows);
      if (tail.kind === 'affine' && tail.a === 1 && tail.b === 0 && sign === 1) return { raw, score: raw };
      const score = new Float64Array(rows);
      for (let i = 0; i < rows; i++) score[i] = sign * applyTail(tail, raw[i]);
      return { raw, score };
    },
  };
}

async function onnxEngine(
  bytes: Uint8Array,
  m: Manifest,
  parsed: ParsedModel | undefined,
  wasmDir?: string,
): Promise<Engine> {
  const nf = m.features.length;
  const spec: ServedOutput = (parsed && servedScore(m, parsed)) ?? {
    tail: { kind: 'affine', a: 1, b: 0 },
    tensor: m.output.name,
    column: 0,
  };
  // The raw value is fetched when the graph returns it, else recovered from the score
  // through the (monotone) tail the graph applies to it.
  const rawTensor = parsed?.outputs.includes(parsed.rawOutputName) ? parsed.rawOutputName : undefined;
  const fetch = [...new Set([spec.tensor, ...(rawTensor ? [rawTensor] : [])])];
  // A classifier's probability tensor sits before its ZipMap: onnxruntime-web must be told to return it.
  const expose = parsed && !parsed.outputs.includes(spec.tensor) ? [spec.tensor] : undefined;
  const model = await loadOrt(bytes, wasmDir, expose);
  const sign = signOf(m);
  return {
    name: 'onnx',
    async score(x, rows) {
      const out = await model.runColumns(x, rows, nf, fetch);
      const s = out[spec.tensor];
      const value = Float64Array.from({ length: rows }, (_, i) => s.data[i * s.width + spec.column]);
      const raw = rawTensor
        ? out[rawTensor].data
        : parsed
          ? Float64Array.from(value, (v) => invertTail(spec.tail, v))
          : value;
      return { raw, score: sign === 1 ? value : Float64Array.from(value, (v) => -v) };
    },
  };
}

export interface ScoreResult {
  readonly score: number;
  readonly anomaly: boolean;
}

/** Scores validated rows and applies the package threshold. */
export async function scoreMatrix(
  model: LoadedModel,
  x: FeatureMatrix,
  rows: number,
): Promise<ScoreResult[]> {
  const { score } = await model.engine.score(x, rows);
  const { threshold, output } = model.manifest;
  return Array.from(score, (s) => ({
    score: s,
    anomaly: output.higherIsAnomalous ? s >= threshold : s <= threshold,
  }));
}
