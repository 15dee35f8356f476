/**
 * The flat, typed-array form of a tree ensemble. Parsed once from the ONNX
 * graph (`onnx/parse.ts`) and shared by the tree fast path (`forest/fast-path.ts`)
 * and TreeSHAP (`shap/`). Nodes of all trees live in one set of arrays; node
 * indices are global.
 */

/** Split modes, numbered in the order of ONNX `nodes_modes` strings. */
export const NodeMode = {
  LEAF: 0,
  BRANCH_LEQ: 1,
  BRANCH_LT: 2,
  BRANCH_GTE: 3,
  BRANCH_GT: 4,
  BRANCH_EQ: 5,
  BRANCH_NEQ: 6,
} as const;
export type NodeModeValue = (typeof NodeMode)[keyof typeof NodeMode];

export type Aggregate = 'SUM' | 'AVERAGE' | 'MIN' | 'MAX';

export interface TreeEnsemble {
  /** Number of input columns the ensemble reads (max feature id + 1, or the declared input width). */
  readonly nFeatures: number;
  /** Global index of each tree's root node. */
  readonly roots: Int32Array;
  /** Split feature per node; -1 for leaves. */
  readonly feature: Int32Array;
  /** Split threshold per node (float32-rounded as ONNX stores it); 0 for leaves. */
  readonly threshold: Float64Array;
  /** One of `NodeMode` per node. */
  readonly mode: Uint8Array;
  /** Child taken when the split condition is true; -1 for leaves. */
  readonly trueChild: Int32Array;
  /** Child taken when the split condition is false; -1 for leaves. */
  readonly falseChild: Int32Array;
  /** 1 when a missing (NaN) input follows the true branch. */
  readonly missingTracksTrue: Uint8Array;
  /** Leaf output per node (target 0, summed weights); 0 for internal nodes. */
  readonly value: Float64Array;
  /**
   * Cover per node: how many training/reference rows reached it. NaN when the
   * graph carries none (imported models); fill it with `computeCovers`.
   */
  readonly cover: Float64Array;
  /** How tree outputs combine. AVERAGE divides the sum by the number of trees. */
  readonly aggregate: Aggregate;
  /** Added after aggregation (ONNX `base_values[0]`). */
  readonly base: number;
  /**
   * True when the graph reads `tensor(double)`: inputs are then compared as
   * float64 (against thresholds as stored: float64 from `*_as_tensor` double
   * attributes, float32-rounded otherwise), exactly as onnxruntime does.
   * @default false (float32 inputs)
   */
  readonly doubleInput?: boolean;
}

/** Number of nodes in the ensemble. */
export const nodeCount = (t: TreeEnsemble): number => t.feature.length;

/**
 * Evaluate the split of node `n` for value `x`, as onnxruntime does: a NaN goes
 * true where `missingTracksTrue` says so, and is otherwise compared like any
 * value (so every comparison is false except BRANCH_NEQ, which is true);
 * comparisons are in float32, or float64 for a `tensor(double)` graph.
 */
export function goesTrue(t: TreeEnsemble, n: number, x: number): boolean {
  if (Number.isNaN(x) && t.missingTracksTrue[n] === 1) return true;
  const v = t.doubleInput ? x : Math.fround(x);
  const th = t.threshold[n];
  switch (t.mode[n]) {
    case NodeMode.BRANCH_LEQ:
      return v <= th;
    case NodeMode.BRANCH_LT:
      return v < th;
    case NodeMode.BRANCH_GTE:
      return v >= th;
    case NodeMode.BRANCH_GT:
      return v > th;
    case NodeMode.BRANCH_EQ:
      return v === th;
    case NodeMode.BRANCH_NEQ:
      return v !== th;
    default:
      throw new Error(`node ${n} is a leaf`);
  }
}
