import { UnsupportedModelError, VigilError } from '#core/errors.ts';
import { NodeMode, type TreeEnsemble } from '#core/trees.ts';
import { DataType } from './data-type.ts';
import { toNum } from './graph-eval.ts';
import type { GraphProto, NodeProto } from './proto.ts';
import type { ServedOutput } from './tails.ts';

/*
 * What a parsed model is, and the checks every tree-ensemble reader shares (the plain parser in
 * parse.ts and the isolation-forest fold in isolation-fold.ts), in a module of their own so that
 * the two readers depend on it and not on each other.
 */

/** The model families Vigil parses into one tree ensemble (README "Models"). */
export type ModelFamily = 'regressor' | 'isolation-forest' | 'forest-classifier' | 'boosting-classifier';

/**
 * What the raw ensemble output (the quantity TreeSHAP decomposes) is: a regressor's
 * prediction, an isolation forest's mean path length E[h(x)], a random forest's
 * positive-class probability, or a boosted classifier's margin (log-odds).
 */
export type ExplainedQuantity = 'prediction' | 'path-length' | 'probability' | 'margin';

export interface ParsedModel {
  readonly ensemble: TreeEnsemble;
  /** Graph input the trees read ([N, nFeatures]). */
  readonly inputName: string;
  /** Element type of that input: what a caller must feed onnxruntime-web. */
  readonly inputType: 'float' | 'double';
  /**
   * Name of the raw value TreeSHAP explains: the ensemble node's output, or a name
   * of the form `<tensor>#mean` / `<tensor>#margin` when no graph tensor holds it
   * (a folded isolation forest, a boosted classifier before its logistic link).
   */
  readonly rawOutputName: string;
  /** All graph outputs, in order. */
  readonly outputs: readonly string[];
  /**
   * Outputs the fast path computes from the raw value, by name, each with the
   * tensor (and column) onnxruntime-web returns it in. Derived from the graph's
   * own ops and constants, never from manifest parameters.
   */
  readonly served: Readonly<Record<string, ServedOutput>>;
  /**
   * Outputs computed as `2^(raw · k)` (Vigil's isolation-forest score, k = −1/c(ψ)),
   * by output name: the subset of `served` with that exact form.
   */
  readonly pow2Outputs: Readonly<Record<string, number>>;
  /** The operator that carried the trees. */
  readonly op: 'TreeEnsembleRegressor' | 'TreeEnsemble' | 'TreeEnsembleClassifier';
  readonly family: ModelFamily;
  readonly explains: ExplainedQuantity;
  /**
   * `model` when the graph carries real node counts (validated: positive, each
   * parent's equals the sum of its children's); `none` when it does not (skl2onnx
   * writes `nodes_hitrates = 1.0` everywhere) and covers must come from the
   * reference sample.
   */
  readonly coverSource: 'model' | 'none';
  /** skl2onnx isolation forests: scikit-learn's `offset_`, when the graph carries `decision_function`. */
  readonly sklearnOffset?: number;
  readonly metadata: Readonly<Record<string, string>>;
}

/** What every refusal lists: the graphs Vigil does parse. */
export const SUPPORTED_GRAPHS = [
  'one ai.onnx.ml TreeEnsembleRegressor (opset 1/3) or TreeEnsemble (opset 5): single target, post_transform NONE',
  'one binary ai.onnx.ml TreeEnsembleClassifier: post_transform NONE (random forest) or LOGISTIC (gradient boosting)',
  'scikit-learn IsolationForest as skl2onnx writes it: per tree Gather → TreeEnsembleRegressor → LabelEncoder → c(n) ops, then Sum → Div → Neg → Pow → Neg',
] as const;

/** `Gather ×100, TreeEnsembleRegressor ×100, …`: the graph's op types with counts. */
export function opTypeSummary(graph: GraphProto): { opTypes: Record<string, number>; text: string } {
  const opTypes: Record<string, number> = {};
  for (const n of graph.node ?? []) opTypes[n.opType ?? '?'] = (opTypes[n.opType ?? '?'] ?? 0) + 1;
  const text = Object.entries(opTypes)
    .map(([op, k]) => (k > 1 ? `${op} ×${k}` : op))
    .join(', ');
  return { opTypes, text: text || 'none' };
}

/** An UnsupportedModel refusal that names the graph's ops and what Vigil supports. */
export function refusal(graph: GraphProto, why: string): UnsupportedModelError {
  const { opTypes, text } = opTypeSummary(graph);
  return new UnsupportedModelError(
    `${why}. The graph's ops: ${text}. Vigil supports: ${SUPPORTED_GRAPHS.join('; ')}`,
    { reason: why, opTypes, supported: [...SUPPORTED_GRAPHS] },
  );
}

/** The served outputs of the form `2^(raw·k)` exactly, by name. */
export function pow2Of(served: Readonly<Record<string, ServedOutput>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(served)) {
    if (s.tail.kind === 'pow2' && s.tail.mult === 1 && s.tail.add === 0) out[name] = s.tail.k;
  }
  return out;
}

/**
 * Covers are kept only when they are counts: every node's positive, and each
 * parent's equal to the sum of its children's (within 1e-6 relative, for weighted
 * samples). Otherwise (skl2onnx writes 1.0 on every node) they are dropped to NaN,
 * so explanations count them from the reference sample instead.
 */
export function withValidCovers(t: TreeEnsemble): TreeEnsemble {
  return coversAreCounts(t) ? t : { ...t, cover: new Float64Array(t.cover.length).fill(Number.NaN) };
}

/** Whether `t.cover` holds real node counts (see `withValidCovers`). */
export function coversAreCounts(t: TreeEnsemble): boolean {
  const c = t.cover;
  for (let n = 0; n < c.length; n++) {
    if (!(Number.isFinite(c[n]) && c[n] > 0)) return false;
    if (t.mode[n] === NodeMode.LEAF) continue;
    const sum = c[t.trueChild[n]] + c[t.falseChild[n]];
    if (Math.abs(c[n] - sum) > 1e-6 * Math.max(1, c[n])) return false;
  }
  return true;
}

/** Most nodes one tree may have before we refuse it (a guard against hostile graphs). */
const MAX_NODES_PER_TREE = 1 << 20;

/**
 * Every tree must be a real tree before anything walks it: at least one tree,
 * each node reached once from its root (no cycles, no shared subtrees, which
 * would make walks loop forever or blow up exponentially), children and
 * features in range. Parsing refuses anything else with InvalidModel.
 */
export function checkStructure(t: TreeEnsemble): void {
  const nodes = t.feature.length;
  if (t.roots.length === 0) throw new VigilError('InvalidModel', 'the ensemble has no trees');
  const seen = new Uint8Array(nodes);
  const stack: number[] = [];
  for (let k = 0; k < t.roots.length; k++) {
    let count = 0;
    stack.push(t.roots[k]);
    while (stack.length > 0) {
      const n = stack.pop() as number;
      if (!Number.isInteger(n) || n < 0 || n >= nodes) {
        throw new VigilError('InvalidModel', `tree ${k} links to node ${n}, which does not exist`);
      }
      if (seen[n])
        throw new VigilError(
          'InvalidModel',
          `tree ${k} reaches node ${n} twice (a cycle or a shared subtree)`,
        );
      seen[n] = 1;
      if (++count > MAX_NODES_PER_TREE)
        throw new VigilError('InvalidModel', `tree ${k} has more than ${MAX_NODES_PER_TREE} nodes`);
      if (t.mode[n] === NodeMode.LEAF) continue;
      const f = t.feature[n];
      if (!Number.isInteger(f) || f < 0 || f >= t.nFeatures) {
        throw new VigilError(
          'InvalidModel',
          `node ${n} splits on feature ${f}, outside the input's ${t.nFeatures} columns`,
        );
      }
      stack.push(t.trueChild[n], t.falseChild[n]);
    }
  }
}

const ELEM_FLOAT = DataType.FLOAT;
const ELEM_DOUBLE = DataType.DOUBLE;

/** The graph input a tree node reads, directly or through a Cast (and, for folding, a Gather). */
export interface TreeInput {
  readonly name: string;
  /** Element type of the graph input: what is fed. */
  readonly type: 'float' | 'double';
  /** Declared number of columns, when the graph states it. */
  readonly width?: number;
  /** Whether the tensor reaching the trees is double (a Cast to float makes comparisons float32). */
  readonly treesReadDouble: boolean;
}

/**
 * The trees must read a graph input of type tensor(float) or tensor(double),
 * directly or through one Cast. `tensorName` defaults to the node's first input.
 */
export function resolveGraphInput(graph: GraphProto, node: NodeProto, tensorName?: string): TreeInput {
  const inputs = new Map((graph.input ?? []).map((i) => [i.name ?? '', i]));
  let name = tensorName ?? node.input?.[0] ?? '';
  let castTo: number | undefined;
  if (!inputs.has(name)) {
    const producer = (graph.node ?? []).find((n) => n.output?.includes(name));
    if (producer?.opType === 'Cast' && inputs.has(producer.input?.[0] ?? '')) {
      castTo = toNum((producer.attribute ?? []).find((a) => a.name === 'to')?.i ?? 0);
      name = producer.input?.[0] ?? '';
    } else
      throw refusal(
        graph,
        'the tree ensemble must read a graph input directly (pre-processing ops are not supported)',
      );
  }
  const info = inputs.get(name);
  const elem = info?.type?.tensorType?.elemType;
  if (elem !== ELEM_FLOAT && elem !== ELEM_DOUBLE) {
    throw refusal(
      graph,
      `graph input '${name}' must be tensor(float) or tensor(double), found element type ${elem ?? 'none'}`,
    );
  }
  const dims = info?.type?.tensorType?.shape?.dim ?? [];
  const width = dims.length === 2 && dims[1].dimValue != null ? toNum(dims[1].dimValue) : undefined;
  const type = elem === ELEM_DOUBLE ? 'double' : 'float';
  const treesReadDouble = castTo === undefined ? type === 'double' : castTo === ELEM_DOUBLE;
  return { name, type, ...(width !== undefined ? { width } : {}), treesReadDouble };
}
