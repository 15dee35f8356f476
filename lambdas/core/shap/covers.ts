/**
 * Node covers from a reference sample, for models that carry none (e.g. a
 * a scikit-learn regressor converted with skl2onnx). The cover of a node
 * is the number of reference rows whose path passes through it, which is what
 * path-dependent TreeSHAP needs to weight the two children of a split whose
 * feature is not in the coalition (DESIGN.md §3).
 *
 * Nodes no reference row reaches get cover 0. TreeSHAP (`treeshap.ts`) gives
 * such a child weight 0 next to a sibling with cover > 0, and treats a split
 * whose two children both have cover 0 (only possible below an unreached node)
 * as uniform, ½ each — so 0/0 never occurs, the expectation stays defined when
 * the explained row itself lands in an unreached region, and local accuracy
 * holds. The brute-force reference in the tests uses the same rule.
 */
import { VigilError } from '#core/errors.ts';
import type { Manifest } from '#core/model/manifest.ts';
import type { ParsedModel } from '#core/onnx/ensemble.ts';
import { goesTrue, type TreeEnsemble } from '#core/trees.ts';

/**
 * Reference rows, either row-major (one array per row, in feature order) or
 * column-major (`{ columns }`: one equal-length array per feature, as the
 * package manifest stores its reference sample).
 */
export type ReferenceData =
  | ReadonlyArray<ArrayLike<number>>
  | { readonly columns: ReadonlyArray<ArrayLike<number>> };

/**
 * Counts, for every node of the ensemble, how many reference rows reach it.
 * Missing values (NaN) follow `missingTracksTrue`, as in scoring.
 *
 * @returns one count per node (global node index)
 * @throws VigilError `InsufficientData` for an empty sample, `InvalidFeature`
 *   for rows/columns narrower than the model or columns of unequal length
 */
export function computeCovers(t: TreeEnsemble, data: ReferenceData): Float64Array {
  const nf = t.nFeatures;
  const cover = new Float64Array(t.feature.length);
  const row = new Float64Array(nf);
  const addRow = (): void => {
    for (let r = 0; r < t.roots.length; r++) {
      let n = t.roots[r];
      cover[n] += 1;
      while (t.trueChild[n] >= 0) {
        n = goesTrue(t, n, row[t.feature[n]]) ? t.trueChild[n] : t.falseChild[n];
        cover[n] += 1;
      }
    }
  };

  if (Array.isArray(data)) {
    const rows = data as ReadonlyArray<ArrayLike<number>>;
    if (rows.length === 0) throw noRows();
    rows.forEach((x, i) => {
      if (x.length < nf) {
        throw new VigilError(
          'InvalidFeature',
          `reference row ${i} has ${x.length} values, the model reads ${nf}`,
          {
            row: i,
          },
        );
      }
      for (let f = 0; f < nf; f++) row[f] = x[f];
      addRow();
    });
    return cover;
  }

  const { columns } = data as { readonly columns: ReadonlyArray<ArrayLike<number>> };
  if (columns.length < nf) {
    throw new VigilError('InvalidFeature', `reference has ${columns.length} columns, the model reads ${nf}`);
  }
  const n = nf === 0 ? 0 : columns[0].length;
  for (let f = 0; f < nf; f++) {
    if (columns[f].length !== n) {
      throw new VigilError('InvalidFeature', 'reference columns must be row-aligned (equal lengths)', {
        column: f,
      });
    }
  }
  if (n === 0) throw noRows();
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < nf; f++) row[f] = columns[f][i];
    addRow();
  }
  return cover;
}

const noRows = (): VigilError =>
  new VigilError('InsufficientData', 'covers need at least one reference row; the reference sample is empty');

/**
 * A copy of the ensemble whose `cover` counts the reference rows reaching each
 * node (see `computeCovers`). The other arrays are shared with `t`, which is
 * left unchanged. Use it once per model load, before `treeShap`.
 *
 * @example
 * const explainable = Number.isNaN(t.cover[0]) ? withCovers(t, { columns: referenceColumns }) : t;
 */
export function withCovers(t: TreeEnsemble, data: ReferenceData): TreeEnsemble {
  return { ...t, cover: computeCovers(t, data) };
}

/** The trees TreeSHAP walks for a package, and where their covers came from. */
export interface ExplainableTrees {
  readonly trees: TreeEnsemble;
  readonly coverSource: 'model' | 'reference';
}

/**
 * The graph's own covers when they are real counts (Vigil-trained forests, an isolation
 * forest's leaf sample counts), else covers counted from the package's reference sample
 * (skl2onnx's `nodes_hitrates` are 1.0 everywhere, not counts). The server's explain use
 * case and the edge entry both call this, so they explain with the same trees.
 */
export function explainableTrees(parsed: ParsedModel, manifest: Manifest): ExplainableTrees {
  if (parsed.coverSource === 'model') return { trees: parsed.ensemble, coverSource: 'model' };
  const ref = manifest.reference.features;
  return {
    trees: withCovers(parsed.ensemble, { columns: manifest.features.map((f) => ref[f].sample) }),
    coverSource: 'reference',
  };
}
