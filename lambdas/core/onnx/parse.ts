import { UnsupportedModelError, VigilError } from '#core/errors.ts';
import { EnsembleBuilder } from '#core/forest/train.ts';
import { type Aggregate, NodeMode, type TreeEnsemble } from '#core/trees.ts';
import { DataType } from './data-type.ts';
import { tensorNumbers, toNum } from './graph-eval.ts';
import { foldIsolationForest } from './isolation-fold.ts';
import type { AttributeProto, GraphProto, ModelProto, NodeProto } from './proto.ts';
import { type ServedOutput, type Tail, tailsFrom } from './tails.ts';
import { decodeOnnx } from './wire.ts';

export {
  checkStructure,
  coversAreCounts,
  type ExplainedQuantity,
  type ModelFamily,
  opTypeSummary,
  type ParsedModel,
  pow2Of,
  refusal,
  resolveGraphInput,
  SUPPORTED_GRAPHS,
  type TreeInput,
  withValidCovers,
} from './ensemble.ts';
export type { ServedOutput, Tail } from './tails.ts';

import {
  checkStructure,
  type ParsedModel,
  pow2Of,
  refusal,
  resolveGraphInput,
  withValidCovers,
} from './ensemble.ts';

const MODE_BY_NAME: Record<string, number> = {
  LEAF: NodeMode.LEAF,
  BRANCH_LEQ: NodeMode.BRANCH_LEQ,
  BRANCH_LT: NodeMode.BRANCH_LT,
  BRANCH_GTE: NodeMode.BRANCH_GTE,
  BRANCH_GT: NodeMode.BRANCH_GT,
  BRANCH_EQ: NodeMode.BRANCH_EQ,
  BRANCH_NEQ: NodeMode.BRANCH_NEQ,
};
/** opset-5 mode codes 0..5 → NodeMode; 6 (BRANCH_MEMBER) is unsupported. */
const MODE_BY_V5 = [
  NodeMode.BRANCH_LEQ,
  NodeMode.BRANCH_LT,
  NodeMode.BRANCH_GTE,
  NodeMode.BRANCH_GT,
  NodeMode.BRANCH_EQ,
  NodeMode.BRANCH_NEQ,
];
const AGG_V5: Aggregate[] = ['AVERAGE', 'SUM', 'MIN', 'MAX'];

/** Decodes model.onnx. @throws VigilError InvalidModel */
export function decodeModel(bytes: Uint8Array): ModelProto & { graph: GraphProto } {
  // The purpose-built reader (wire.ts), not protobufjs: servers and the edge entry decode alike.
  const model = decodeOnnx(bytes);
  if (!model.graph) throw new VigilError('InvalidModel', 'model.onnx has no graph');
  return model as ModelProto & { graph: GraphProto };
}

const isMl = (n: NodeProto, op: string) => (n.domain ?? '') === 'ai.onnx.ml' && n.opType === op;

/**
 * Reads the tree ensemble out of an ONNX model (see SUPPORTED_GRAPHS). Covers the
 * graph carries are kept only when they are real counts. Anything else is refused
 * with an UnsupportedModelError naming the graph's op types.
 */
export function parseOnnx(bytes: Uint8Array): ParsedModel {
  // Import, servability check and registration each parse the same bytes; a 2,710-node
  // isolation forest takes a few hundred ms, so the result is kept per byte array.
  const hit = parsedCache.get(bytes);
  if (hit) return hit;
  const parsed = parseUncached(bytes);
  parsedCache.set(bytes, parsed);
  return parsed;
}

/** Parsed models by the exact bytes they came from (callers never modify either). */
const parsedCache = new WeakMap<Uint8Array, ParsedModel>();

function parseUncached(bytes: Uint8Array): ParsedModel {
  const model = decodeModel(bytes);
  const graph = model.graph;
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const nodes = graph.node ?? [];
  const regressors = nodes.filter((n) => isMl(n, 'TreeEnsembleRegressor') || isMl(n, 'TreeEnsemble'));
  const classifiers = nodes.filter((n) => isMl(n, 'TreeEnsembleClassifier'));
  const outputs = (graph.output ?? []).map((o) => o.name ?? '');
  if (classifiers.length === 1 && regressors.length === 0) {
    return { ...parseClassifierGraph(graph, classifiers[0]), outputs, metadata };
  }
  // skl2onnx's isolation forest: one regressor node per tree, each behind a Gather (even for one tree).
  const behindGather = regressors.some((r) =>
    nodes.some((n) => n.opType === 'Gather' && n.output?.includes(r.input?.[0] ?? '')),
  );
  if (classifiers.length === 0 && (regressors.length > 1 || behindGather)) {
    const folded = foldIsolationForest(graph, (node, width) => {
      const attrs = new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
      return parseRegressor(attrs, width, false);
    });
    if (typeof folded === 'string') throw refusal(graph, folded);
    return { ...folded, outputs, metadata, op: 'TreeEnsembleRegressor' };
  }
  if (classifiers.length + regressors.length !== 1) {
    throw refusal(
      graph,
      `expected one tree-ensemble node (or skl2onnx's isolation-forest pattern), found ${regressors.length} regressor and ${classifiers.length} classifier nodes`,
    );
  }
  const node = regressors[0];
  const input = resolveGraphInput(graph, node);
  const attrs = new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
  const parsedTrees =
    node.opType === 'TreeEnsemble'
      ? parseTreeEnsemble5(attrs, input.width, input.treesReadDouble)
      : parseRegressor(attrs, input.width, input.treesReadDouble);
  checkStructure(parsedTrees);
  const folded = foldConstantAdd(graph, node.output?.[0] ?? '');
  const trees = withValidCovers(parsedTrees);
  const ensemble = folded ? { ...trees, base: trees.base + folded.value } : trees;
  const rawOutputName = folded?.output ?? node.output?.[0] ?? '';
  const served = tailsFrom(graph, rawOutputName, { kind: 'affine', a: 1, b: 0 });
  const pathLength = Object.values(served).some((s) => s.tail.kind === 'pow2');
  return {
    ensemble,
    inputName: input.name,
    inputType: input.type,
    rawOutputName,
    served,
    pow2Outputs: pow2Of(served),
    outputs,
    op: node.opType as 'TreeEnsembleRegressor' | 'TreeEnsemble',
    family: pathLength ? 'isolation-forest' : 'regressor',
    explains: pathLength ? 'path-length' : 'prediction',
    coverSource: Number.isFinite(ensemble.cover[0]) ? 'model' : 'none',
    metadata,
  };
}

/**
 * opset-5 TreeEnsemble has no base_values, so exporters add a constant after
 * it. When the trees' only consumer is `Add(trees, c)` with a one-element
 * initializer, fold c into the ensemble's base: the raw output SHAP explains
 * is then the Add's output.
 */
function foldConstantAdd(graph: GraphProto, treeOut: string): { value: number; output: string } | undefined {
  const consumers = (graph.node ?? []).filter((n) => n.input?.includes(treeOut));
  if (consumers.length !== 1 || consumers[0].opType !== 'Add' || (consumers[0].domain ?? '') !== '')
    return undefined;
  const add = consumers[0];
  const other = add.input?.find((i) => i !== treeOut);
  const init = (graph.initializer ?? []).find((t) => t.name === other);
  if (!init) return undefined;
  const values = tensorValues({ name: other, t: init });
  if (values.length !== 1) return undefined;
  return { value: values[0], output: add.output?.[0] ?? '' };
}

const ELEM_DOUBLE = DataType.DOUBLE;

/**
 * The values as numbers: the wire reader's arrays already are (returned as they are: callers only
 * read them), protobufjs' int64s may be Longs. A call per element is most of a cold parse.
 */
const asNumbers = (values: readonly unknown[], convert: (v: unknown) => number): number[] => {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'number') return values.map(convert);
  return values as number[];
};
const ints = (a: AttributeProto | undefined): number[] => asNumbers(a?.ints ?? [], toNum);
const floats = (a: AttributeProto | undefined): number[] => asNumbers(a?.floats ?? [], Number);
const TEXT = new TextDecoder();
const str = (a: AttributeProto | undefined): string | undefined => (a?.s ? TEXT.decode(a.s) : undefined);

/** Node-mode names by their bytes: a forest repeats a handful of names thousands of times. */
const MODE_NAMES = Object.keys(MODE_BY_NAME);
function modeName(bytes: Uint8Array): string {
  for (const name of MODE_NAMES) {
    if (name.length !== bytes.length) continue;
    let same = true;
    for (let i = 0; i < bytes.length && same; i++) same = bytes[i] === name.charCodeAt(i);
    if (same) return name;
  }
  return TEXT.decode(bytes);
}

/**
 * One number per (tree id, node id) pair, for the node index: exact for the ids a servable
 * model has (0 ≤ id < 2^32, 0 ≤ tree id < 2^20); anything else is refused rather than risk two
 * nodes sharing a key. String keys (`${tree}:${id}`) cost most of a cold parse.
 * @throws VigilError InvalidModel for an id outside that range
 */
function key(tree: number, id: number): number {
  if (
    !(
      Number.isInteger(tree) &&
      Number.isInteger(id) &&
      tree >= 0 &&
      id >= 0 &&
      tree < 2 ** 20 &&
      id < 2 ** 32
    )
  ) {
    throw new VigilError(
      'InvalidModel',
      `tree ${tree} node ${id}: ids must be integers in [0, 2^32) (tree ids [0, 2^20))`,
    );
  }
  return tree * 2 ** 32 + id;
}

function tensorValues(a: AttributeProto | undefined): number[] {
  if (!a?.t) return [];
  try {
    return tensorNumbers(a.t, `attribute ${a.name}`);
  } catch (e) {
    throw new VigilError('InvalidModel', (e as Error).message);
  }
}

/** A float attribute or its `_as_tensor` twin, and whether the values are float64. */
function numbersAttr(
  attrs: Map<string, AttributeProto>,
  name: string,
): { values: number[]; double: boolean } {
  const t = attrs.get(`${name}_as_tensor`);
  if (t) return { values: tensorValues(t), double: t.t?.dataType === ELEM_DOUBLE };
  return { values: floats(attrs.get(name)), double: false };
}

/** Leaf weights of one output column of a tree node: `target_*` (regressor) or `class_*` (classifier). */
interface LeafWeights {
  readonly tree: number[];
  readonly node: number[];
  readonly id: number[];
  readonly weight: number[];
}

function targetWeights(attrs: Map<string, AttributeProto>, prefix: 'target' | 'class'): LeafWeights {
  return {
    tree: ints(attrs.get(`${prefix}_treeids`)),
    node: ints(attrs.get(`${prefix}_nodeids`)),
    id: ints(attrs.get(`${prefix}_ids`)),
    weight: numbersAttr(attrs, `${prefix}_weights`).values,
  };
}

function parseRegressor(
  attrs: Map<string, AttributeProto>,
  declaredWidth: number | undefined,
  doubleInput: boolean,
): TreeEnsemble {
  const postTransform = str(attrs.get('post_transform')) ?? 'NONE';
  if (postTransform !== 'NONE')
    throw new UnsupportedModelError(`post_transform '${postTransform}' is not supported on a regressor`);
  const nTargets = toNum(attrs.get('n_targets')?.i ?? 1);
  if (nTargets !== 1)
    throw new UnsupportedModelError(`only single-target ensembles are supported (n_targets=${nTargets})`);
  const aggregate = (str(attrs.get('aggregate_function')) ?? 'SUM') as Aggregate;
  if (!['SUM', 'AVERAGE', 'MIN', 'MAX'].includes(aggregate)) {
    throw new UnsupportedModelError(`aggregate_function '${aggregate}' is not supported`);
  }
  const w = targetWeights(attrs, 'target');
  if (w.id.some((i) => i !== 0))
    throw new UnsupportedModelError('only single-target ensembles are supported');
  const base = numbersAttr(attrs, 'base_values').values[0] ?? 0;
  return parseNodes(attrs, w, () => true, declaredWidth, doubleInput, aggregate, base);
}

/**
 * The shared node arrays of TreeEnsembleRegressor/Classifier (ai.onnx.ml opset 1/3);
 * leaf values are the summed weights for which `keep(id)` holds.
 */
function parseNodes(
  attrs: Map<string, AttributeProto>,
  w: LeafWeights,
  keep: (id: number) => boolean,
  declaredWidth: number | undefined,
  doubleInput: boolean,
  aggregate: Aggregate,
  base: number,
): TreeEnsemble {
  const treeIds = ints(attrs.get('nodes_treeids'));
  const nodeIds = ints(attrs.get('nodes_nodeids'));
  const featureIds = ints(attrs.get('nodes_featureids'));
  const modes = (attrs.get('nodes_modes')?.strings ?? []).map(modeName);
  const thresholds = numbersAttr(attrs, 'nodes_values');
  const values = thresholds.values;
  const trueIds = ints(attrs.get('nodes_truenodeids'));
  const falseIds = ints(attrs.get('nodes_falsenodeids'));
  const missing = ints(attrs.get('nodes_missing_value_tracks_true'));
  const hitrates = numbersAttr(attrs, 'nodes_hitrates').values;
  const n = treeIds.length;
  if ([nodeIds, featureIds, modes, values, trueIds, falseIds].some((a) => a.length !== n)) {
    throw new VigilError('InvalidModel', 'tree-ensemble node attributes have different lengths');
  }
  if ([w.node, w.id, w.weight].some((a) => a.length !== w.tree.length)) {
    throw new VigilError('InvalidModel', 'tree-ensemble leaf-weight attributes have different lengths');
  }
  const b = new EnsembleBuilder();
  const index = new Map<number, number>();
  const trees = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const g = b.add();
    const k = key(treeIds[i], nodeIds[i]);
    if (index.has(k)) throw new VigilError('InvalidModel', `tree ${treeIds[i]} has node ${nodeIds[i]} twice`);
    index.set(k, g);
    const mode = MODE_BY_NAME[modes[i]];
    if (mode === undefined) throw new UnsupportedModelError(`node mode '${modes[i]}' is not supported`);
    b.mode[g] = mode;
    if (mode !== NodeMode.LEAF) {
      b.feature[g] = featureIds[i];
      // float32 attributes are float32 values; a double tensor keeps float64 thresholds.
      b.threshold[g] = thresholds.double ? values[i] : Math.fround(values[i]);
    }
    b.missingTracksTrue[g] = missing[i] ?? 0;
    b.cover[g] = hitrates.length === n ? hitrates[i] : Number.NaN;
    const members = trees.get(treeIds[i]);
    if (members) members.push(g);
    else trees.set(treeIds[i], [g]);
  }
  for (let i = 0; i < n; i++) {
    const g = index.get(key(treeIds[i], nodeIds[i])) as number;
    if (b.mode[g] === NodeMode.LEAF) continue;
    const tc = index.get(key(treeIds[i], trueIds[i]));
    const fc = index.get(key(treeIds[i], falseIds[i]));
    if (tc === undefined || fc === undefined) {
      throw new VigilError('InvalidModel', `tree ${treeIds[i]} node ${nodeIds[i]} points at a missing child`);
    }
    b.trueChild[g] = tc;
    b.falseChild[g] = fc;
  }
  for (let i = 0; i < w.tree.length; i++) {
    if (!keep(w.id[i])) continue;
    const g = index.get(key(w.tree[i], w.node[i]));
    if (g === undefined)
      throw new VigilError('InvalidModel', `leaf weight points at missing node ${w.tree[i]}:${w.node[i]}`);
    b.value[g] += w.weight[i];
  }
  for (const tree of [...trees.keys()].sort((x, y) => x - y)) {
    b.roots.push(findRoot(b, trees.get(tree) as number[], tree));
  }
  const maxFeature = b.feature.reduce((m, f) => Math.max(m, f), -1);
  const built = b.build(declaredWidth ?? maxFeature + 1, aggregate, base);
  return doubleInput ? { ...built, doubleInput } : built;
}

/** The root of a tree is the node no other node of it points at. */
function findRoot(b: EnsembleBuilder, members: readonly number[], tree: number): number {
  const children = new Set<number>();
  for (const g of members) {
    if (b.mode[g] !== NodeMode.LEAF) children.add(b.trueChild[g]).add(b.falseChild[g]);
  }
  const roots = members.filter((g) => !children.has(g));
  if (roots.length !== 1) throw new VigilError('InvalidModel', `tree ${tree} has ${roots.length} roots`);
  // Every node of the tree must hang below that root; a loop elsewhere would leave an
  // orphaned subtree posing as the whole tree.
  const seen = new Set<number>();
  const stack = [roots[0]];
  while (stack.length > 0) {
    const g = stack.pop() as number;
    if (seen.has(g))
      throw new VigilError('InvalidModel', `tree ${tree} reaches a node twice (a cycle or a shared subtree)`);
    seen.add(g);
    if (b.mode[g] !== NodeMode.LEAF) stack.push(b.trueChild[g], b.falseChild[g]);
  }
  if (seen.size !== members.length) {
    throw new VigilError(
      'InvalidModel',
      `tree ${tree} has ${members.length - seen.size} nodes not reachable from its root`,
    );
  }
  return roots[0];
}

function parseTreeEnsemble5(
  attrs: Map<string, AttributeProto>,
  declaredWidth: number | undefined,
  doubleInput: boolean,
): TreeEnsemble {
  const postTransform = toNum(attrs.get('post_transform')?.i ?? 0);
  if (postTransform !== 0)
    throw new UnsupportedModelError(`post_transform ${postTransform} is not supported`);
  const nTargets = toNum(attrs.get('n_targets')?.i ?? 1);
  if (nTargets !== 1)
    throw new UnsupportedModelError(`only single-target ensembles are supported (n_targets=${nTargets})`);
  const aggregate = AGG_V5[toNum(attrs.get('aggregate_function')?.i ?? 1)];
  if (!aggregate) throw new UnsupportedModelError('unknown aggregate_function');
  const featureIds = ints(attrs.get('nodes_featureids'));
  const modes = tensorValues(attrs.get('nodes_modes'));
  const splits = tensorValues(attrs.get('nodes_splits'));
  const splitsDouble = attrs.get('nodes_splits')?.t?.dataType === ELEM_DOUBLE;
  const trueIds = ints(attrs.get('nodes_truenodeids'));
  const trueLeaf = ints(attrs.get('nodes_trueleafs'));
  const falseIds = ints(attrs.get('nodes_falsenodeids'));
  const falseLeaf = ints(attrs.get('nodes_falseleafs'));
  const missing = ints(attrs.get('nodes_missing_value_tracks_true'));
  const hitrates = tensorValues(attrs.get('nodes_hitrates'));
  const leafTargets = ints(attrs.get('leaf_targetids'));
  const leafWeights = tensorValues(attrs.get('leaf_weights'));
  const roots = ints(attrs.get('tree_roots'));
  const n = featureIds.length;
  if ([modes, splits, trueIds, trueLeaf, falseIds, falseLeaf].some((a) => a.length !== n)) {
    throw new VigilError('InvalidModel', 'TreeEnsemble node attributes have different lengths');
  }
  if (leafTargets.some((t) => t !== 0))
    throw new UnsupportedModelError('only single-target ensembles are supported');
  const b = new EnsembleBuilder();
  const interior = new Int32Array(n).fill(-1);
  // Each reference to a leaf gets its own node: a leaf shared by two branches would add
  // both paths' rows to one cover and skew TreeSHAP's cover ratios.
  const leafNode = (k: number): number => {
    if (!Number.isInteger(k) || k < 0 || k >= leafWeights.length)
      throw new VigilError('InvalidModel', `leaf index ${k} out of range`);
    const g = b.add();
    b.value[g] = leafWeights[k];
    return g;
  };
  // Interior nodes first so indices are stable; children are linked after.
  for (let i = 0; i < n; i++) {
    const g = b.add();
    interior[i] = g;
    const code = modes[i];
    if (code === 6)
      throw new UnsupportedModelError('BRANCH_MEMBER (set membership) splits are not supported');
    const mode = MODE_BY_V5[code];
    if (mode === undefined) throw new UnsupportedModelError(`node mode ${code} is not supported`);
    b.mode[g] = mode;
    b.feature[g] = featureIds[i];
    b.threshold[g] = splitsDouble ? splits[i] : Math.fround(splits[i]);
    b.missingTracksTrue[g] = missing[i] ?? 0;
    b.cover[g] = hitrates.length === n ? hitrates[i] : Number.NaN;
  }
  for (let i = 0; i < n; i++) {
    const g = interior[i];
    b.trueChild[g] = trueLeaf[i] ? leafNode(trueIds[i]) : interior[trueIds[i]];
    b.falseChild[g] = falseLeaf[i] ? leafNode(falseIds[i]) : interior[falseIds[i]];
    if (
      b.trueChild[g] === undefined ||
      b.falseChild[g] === undefined ||
      b.trueChild[g] < 0 ||
      b.falseChild[g] < 0
    ) {
      throw new VigilError('InvalidModel', `node ${i} points at a missing child`);
    }
  }
  for (const r of roots) {
    if (!Number.isInteger(r) || r < 0 || r >= n)
      throw new VigilError('InvalidModel', `tree root ${r} is out of range`);
    const g = interior[r];
    // A single-leaf tree is written as a split whose both branches reach one leaf.
    const singleLeaf = trueLeaf[r] === 1 && falseLeaf[r] === 1 && trueIds[r] === falseIds[r];
    b.roots.push(singleLeaf ? b.trueChild[g] : g);
  }
  const maxFeature = b.feature.reduce((m, f) => Math.max(m, f), -1);
  const built = b.build(declaredWidth ?? maxFeature + 1, aggregate, 0);
  return doubleInput ? { ...built, doubleInput } : built;
}

/**
 * A binary TreeEnsembleClassifier, read as onnxruntime computes its positive-class
 * score. With weights for one class id only (skl2onnx's gradient boosting) that column
 * is the positive-class score; with both, class 1's is. `LOGISTIC` over one column
 * (gradient boosting) makes the raw value the margin and the probability σ(margin);
 * `NONE` (random forest: leaf probabilities already divided by the number of trees)
 * makes the raw value the probability itself.
 */
function parseClassifierGraph(graph: GraphProto, node: NodeProto): Omit<ParsedModel, 'outputs' | 'metadata'> {
  const attrs = new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
  const labels =
    ints(attrs.get('classlabels_int64s')).length || (attrs.get('classlabels_strings')?.strings ?? []).length;
  if (labels !== 2)
    throw refusal(graph, `only binary classifiers are supported; this one has ${labels} classes`);
  const w = targetWeights(attrs, 'class');
  const ids = new Set(w.id);
  if ([...ids].some((i) => i !== 0 && i !== 1))
    throw new VigilError('InvalidModel', 'class_ids must be 0 or 1 for two classes');
  const positive = ids.has(1) ? 1 : 0;
  const post = str(attrs.get('post_transform')) ?? 'NONE';
  const boosting = post === 'LOGISTIC';
  if (!boosting && post !== 'NONE') {
    throw refusal(graph, `classifier post_transform '${post}' is not supported (NONE or LOGISTIC)`);
  }
  if (boosting && ids.size !== 1) {
    throw refusal(graph, 'a LOGISTIC classifier must carry one column of margins (one class id)');
  }
  const input = resolveGraphInput(graph, node);
  const bases = numbersAttr(attrs, 'base_values').values;
  const base = bases.length === 2 ? bases[positive] : ids.size === 1 ? (bases[0] ?? 0) : 0;
  const trees = parseNodes(
    attrs,
    w,
    (id) => id === positive,
    input.width,
    input.treesReadDouble,
    'SUM',
    base,
  );
  checkStructure(trees);
  const ensemble = withValidCovers(trees);
  const proba = node.output?.[1] ?? '';
  const tail: Tail = boosting ? { kind: 'logistic' } : { kind: 'affine', a: 1, b: 0 };
  const served: Record<string, ServedOutput> = { [proba]: { tail, tensor: proba, column: 1 } };
  // ZipMap only repackages the probability tensor as maps; it serves the same numbers.
  for (const z of graph.node ?? []) {
    if (isMl(z, 'ZipMap') && z.input?.[0] === proba && z.output?.[0]) {
      served[z.output[0]] = { tail, tensor: proba, column: 1 };
    }
  }
  const rawOutputName = boosting ? `${proba}#margin` : `${proba}#positive`;
  if (!boosting) served[rawOutputName] = { tail, tensor: proba, column: 1 };
  return {
    ensemble,
    inputName: input.name,
    inputType: input.type,
    rawOutputName,
    served,
    pow2Outputs: {},
    op: 'TreeEnsembleClassifier',
    family: boosting ? 'boosting-classifier' : 'forest-classifier',
    explains: boosting ? 'margin' : 'probability',
    coverSource: Number.isFinite(ensemble.cover[0]) ? 'model' : 'none',
  };
}
