import { TreeScorer } from '#core/forest/fast-path.ts';
import type { Manifest, ModelPackage } from '#core/model/manifest.ts';
import type { OrtModel } from '#core/onnx/ort.ts';
import { type ParsedModel, parseOnnx } from '#core/onnx/parse.ts';
import { InvalidFeatureError, VigilError } from './errors.ts';

/** Largest magnitude a float32 holds; larger inputs would become Infinity in the graph. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Validates request rows against the model's features and packs them into a
 * row-major float32 matrix. Every problem names the row and field.
 *
 * @throws InvalidFeatureError for a missing, unknown, non-numeric or non-finite feature
 * @throws VigilError EmptyBatch | BatchTooLarge | InvalidBody
 */
export function rowsToMatrix(rows: unknown, features: readonly string[], maxRows: number): Float32Array {
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
  const x = new Float32Array(rows.length * nf);
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
      if (!Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) {
        throw new InvalidFeatureError(`row ${r}: feature '${name}' must be a finite number`, {
          row: r,
          field: name,
        });
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

/** A scoring engine over a row-major float32 matrix. */
export interface Engine {
  readonly name: EngineName;
  /** Raw tree-ensemble output and anomaly score per row. */
  score(x: Float32Array, rows: number): Promise<{ raw: Float64Array; score: Float64Array }>;
}

/** A model package made ready to serve: parsed trees plus an engine. */
export interface LoadedModel {
  readonly manifest: Manifest;
  readonly parsed: ParsedModel;
  readonly engine: Engine;
}

/** Whether the tree fast path can compute this package's score (it knows the isolation-forest transform). */
/**
 * Whether the tree fast path can compute this package's score from its graph alone: the
 * score output is the trees' raw output, or `2^(raw·k)` (how Vigil's isolation forest, and
 * any graph with the same tail, computes it). Anything else runs on onnxruntime-web.
 */
export const fastPathSupports = (m: Manifest, parsed: ParsedModel): boolean =>
  m.output.name === parsed.rawOutputName || parsed.pow2Outputs[m.output.name] !== undefined;

/**
 * Parses the package's graph and checks it against the manifest (feature count, output
 * names). Registration runs this too, so a package that cannot be served is refused
 * before it gets a version number.
 * @throws VigilError InvalidModel | UnsupportedModel
 */
export function checkServable(pkg: ModelPackage): ParsedModel {
  const parsed = parseOnnx(pkg.onnx);
  const m = pkg.manifest;
  if (parsed.ensemble.nFeatures !== m.features.length) {
    throw new VigilError(
      'InvalidModel',
      `manifest lists ${m.features.length} features but the ONNX graph reads ${parsed.ensemble.nFeatures}`,
    );
  }
  for (const out of [m.output.name, m.output.raw]) {
    if (!parsed.outputs.includes(out) && out !== parsed.rawOutputName) {
      throw new VigilError('InvalidModel', `manifest output '${out}' is not produced by the ONNX graph`);
    }
  }
  return parsed;
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
  const parsed = checkServable(pkg);
  const m = pkg.manifest;
  const engine =
    (opts.engine ?? 'fast') === 'fast' && fastPathSupports(m, parsed)
      ? fastEngine(parsed, m)
      : onnxEngine(await loadOrt(pkg.onnx, opts.wasmDir), m);
  return { manifest: m, parsed, engine };
}

/** onnxruntime-web is imported only when a model needs it: the fast path's cold start never pays for it. */
async function loadOrt(bytes: Uint8Array, wasmDir?: string): Promise<OrtModel> {
  const { createOrtModel } = await import('#core/onnx/ort.ts');
  return createOrtModel(bytes, { wasmDir });
}

function fastEngine(parsed: ParsedModel, m: Manifest): Engine {
  const scorer = new TreeScorer(parsed.ensemble);
  // The exponent's factor comes from the graph (e.g. −1/c(ψ)), so the fast path computes
  // exactly what onnxruntime would, whatever the manifest's params say.
  const k = parsed.pow2Outputs[m.output.name];
  return {
    name: 'fast',
    async score(x, rows) {
      const raw = scorer.predictRaw(x, rows);
      if (k === undefined) return { raw, score: raw };
      const score = new Float64Array(rows);
      for (let i = 0; i < rows; i++) score[i] = 2 ** (raw[i] * k);
      return { raw, score };
    },
  };
}

function onnxEngine(model: OrtModel, m: Manifest): Engine {
  const nf = m.features.length;
  const outputs = m.output.raw === m.output.name ? [m.output.name] : [m.output.raw, m.output.name];
  return {
    name: 'onnx',
    async score(x, rows) {
      const out = await model.run(x, rows, nf, outputs);
      return { raw: out[m.output.raw], score: out[m.output.name] };
    },
  };
}

export interface ScoreResult {
  readonly score: number;
  readonly anomaly: boolean;
}

/** Scores validated rows and applies the package threshold. */
export async function scoreMatrix(model: LoadedModel, x: Float32Array, rows: number): Promise<ScoreResult[]> {
  const { score } = await model.engine.score(x, rows);
  const { threshold, output } = model.manifest;
  return Array.from(score, (s) => ({
    score: s,
    anomaly: output.higherIsAnomalous ? s >= threshold : s <= threshold,
  }));
}
