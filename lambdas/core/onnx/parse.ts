import { UnsupportedModelError, VigilError } from '#core/errors.ts';
import { EnsembleBuilder } from '#core/forest/train.ts';
import { type Aggregate, NodeMode, type TreeEnsemble } from '#core/trees.ts';
import { type AttributeProto, type GraphProto, type ModelProto, type NodeProto, onnx } from './proto.ts';

export interface ParsedModel {
  readonly ensemble: TreeEnsemble;
  /** Graph input the trees read (float [N, nFeatures]). */
  readonly inputName: string;
  /**
   * Element type of that input: decides which request values a model accepts (a value the
   * type cannot represent is refused as a 400 naming the field). `float32` unless the graph
   * declares `double`.
   */
  readonly inputType: 'float32' | 'float64';
  /** Output of the tree-ensemble node: the raw value TreeSHAP explains. */
  readonly rawOutputName: string;
  /** All graph outputs, in order. */
  readonly outputs: readonly string[];
  /**
   * Outputs computed as `2^(raw · k)` by `Mul(raw, k)` → `Pow(2, ·)` with constant k (the
   * isolation-forest score, k = −1/c(ψ)), by output name. The fast path reproduces exactly
   * these from the graph itself, never from manifest parameters.
   */
  readonly pow2Outputs: Readonly<Record<string, number>>;
  /** The operator that carried the trees. */
  readonly op: 'TreeEnsembleRegressor' | 'TreeEnsemble';
  readonly metadata: Readonly<Record<string, string>>;
}

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

/**
 * Reads the tree ensemble out of an ONNX model: `ai.onnx.ml`
 * `TreeEnsembleRegressor` (opset 1/3) or `TreeEnsemble` (opset 5), single
 * target, no post transform. Anything else is refused with a clear error.
 */
export function parseOnnx(bytes: Uint8Array): ParsedModel {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new VigilError('InvalidModel', `model.onnx is not a valid ONNX protobuf: ${(e as Error).message}`);
  }
  const graph = model.graph;
  if (!graph) throw new VigilError('InvalidModel', 'model.onnx has no graph');
  const treeNodes = (graph.node ?? []).filter(
    (n) =>
      (n.domain ?? '') === 'ai.onnx.ml' &&
      (n.opType === 'TreeEnsembleRegressor' || n.opType === 'TreeEnsemble'),
  );
  if (treeNodes.length !== 1) {
    throw new UnsupportedModelError(
      `expected exactly one ai.onnx.ml TreeEnsembleRegressor or TreeEnsemble node, found ${treeNodes.length}`,
    );
  }
  const node = treeNodes[0];
  const inputName = resolveGraphInput(graph, node);
  const inputInfo = (graph.input ?? []).find((i) => i.name === inputName);
  const dims = inputInfo?.type?.tensorType?.shape?.dim ?? [];
  const declaredWidth = dims.length === 2 && dims[1].dimValue != null ? toNum(dims[1].dimValue) : undefined;
  const attrs = new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
  const trees =
    node.opType === 'TreeEnsemble'
      ? parseTreeEnsemble5(attrs, declaredWidth)
      : parseRegressor(attrs, declaredWidth);
  checkStructure(trees);
  const folded = foldConstantAdd(graph, node.output?.[0] ?? '');
  const ensemble = folded ? { ...trees, base: trees.base + folded.value } : trees;
  const rawOutputName = folded?.output ?? node.output?.[0] ?? '';
  return {
    ensemble,
    inputName,
    inputType:
      inputInfo?.type?.tensorType?.elemType === onnx.TensorProto.DataType.DOUBLE ? 'float64' : 'float32',
    rawOutputName,
    pow2Outputs: pow2Tails(graph, rawOutputName),
    outputs: (graph.output ?? []).map((o) => o.name ?? ''),
    op: node.opType as ParsedModel['op'],
    metadata: Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
  };
}

/** One-element float constants of the graph (initializers), by name. */
function scalarInitializers(graph: GraphProto): Map<string, number> {
  const out = new Map<string, number>();
  for (const init of graph.initializer ?? []) {
    try {
      const v = tensorValues({ name: init.name, t: init });
      if (v.length === 1 && init.name) out.set(init.name, v[0]);
    } catch {
      // Not a numeric scalar: not a constant this matcher cares about.
    }
  }
  return out;
}

/** Finds `Pow(2, Mul(raw, k))` tails (either Mul operand order) on the raw output. */
function pow2Tails(graph: GraphProto, raw: string): Record<string, number> {
  const consts = scalarInitializers(graph);
  const nodes = graph.node ?? [];
  const out: Record<string, number> = {};
  for (const mul of nodes) {
    if (
      mul.opType !== 'Mul' ||
      (mul.domain ?? '') !== '' ||
      !mul.input?.includes(raw) ||
      mul.input.length !== 2
    )
      continue;
    const k = consts.get(mul.input[0] === raw ? mul.input[1] : mul.input[0]);
    const product = mul.output?.[0];
    if (k === undefined || !product) continue;
    for (const pow of nodes) {
      if (pow.opType !== 'Pow' || (pow.domain ?? '') !== '' || pow.input?.[1] !== product) continue;
      if (consts.get(pow.input?.[0] ?? '') === 2 && pow.output?.[0]) out[pow.output[0]] = k;
    }
  }
  return out;
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

/** The trees must read a graph input directly (or through a Cast). */
function resolveGraphInput(graph: GraphProto, node: NodeProto): string {
  const inputs = new Set((graph.input ?? []).map((i) => i.name));
  let name = node.input?.[0] ?? '';
  if (!inputs.has(name)) {
    const producer = (graph.node ?? []).find((n) => n.output?.includes(name));
    if (producer?.opType === 'Cast' && inputs.has(producer.input?.[0] ?? ''))
      name = producer.input?.[0] ?? '';
    else
      throw new UnsupportedModelError(
        'the tree ensemble must read a graph input directly (pre-processing ops are not supported)',
      );
  }
  return name;
}

const toNum = (v: unknown): number =>
  typeof v === 'number'
    ? v
    : typeof v === 'object' && v && 'toNumber' in v
      ? (v as { toNumber(): number }).toNumber()
      : Number(v);

const ints = (a: AttributeProto | undefined): number[] => (a?.ints ?? []).map(toNum);
const floats = (a: AttributeProto | undefined): number[] => (a?.floats ?? []).map(Number);
const str = (a: AttributeProto | undefined): string | undefined =>
  a?.s ? new TextDecoder().decode(a.s) : undefined;

function tensorValues(a: AttributeProto | undefined): number[] {
  const t = a?.t;
  if (!t) return [];
  if (t.floatData && t.floatData.length > 0) return t.floatData.map(Number);
  if (t.doubleData && t.doubleData.length > 0) return t.doubleData.map(Number);
  if (t.int32Data && t.int32Data.length > 0) return t.int32Data.map(Number);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const width =
      t.dataType === onnx.TensorProto.DataType.DOUBLE
        ? 8
        : t.dataType === onnx.TensorProto.DataType.UINT8
          ? 1
          : 4;
    if (raw.byteLength % width !== 0) {
      throw new VigilError(
        'InvalidModel',
        `tensor attribute ${a?.name} has ${raw.byteLength} bytes, not a whole number of values`,
      );
    }
    const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
    switch (t.dataType) {
      case onnx.TensorProto.DataType.FLOAT:
        return Array.from(new Float32Array(buf));
      case onnx.TensorProto.DataType.DOUBLE:
        return Array.from(new Float64Array(buf));
      case onnx.TensorProto.DataType.UINT8:
        return Array.from(new Uint8Array(buf));
      default:
        throw new UnsupportedModelError(`unsupported tensor data type ${t.dataType} in attribute ${a?.name}`);
    }
  }
  return [];
}

function parseRegressor(attrs: Map<string, AttributeProto>, declaredWidth?: number): TreeEnsemble {
  const postTransform = str(attrs.get('post_transform')) ?? 'NONE';
  if (postTransform !== 'NONE')
    throw new UnsupportedModelError(`post_transform '${postTransform}' is not supported`);
  const nTargets = toNum(attrs.get('n_targets')?.i ?? 1);
  if (nTargets !== 1)
    throw new UnsupportedModelError(`only single-target ensembles are supported (n_targets=${nTargets})`);
  const treeIds = ints(attrs.get('nodes_treeids'));
  const nodeIds = ints(attrs.get('nodes_nodeids'));
  const featureIds = ints(attrs.get('nodes_featureids'));
  const modes = (attrs.get('nodes_modes')?.strings ?? []).map((s) => new TextDecoder().decode(s));
  const values = attrs.has('nodes_values_as_tensor')
    ? tensorValues(attrs.get('nodes_values_as_tensor'))
    : floats(attrs.get('nodes_values'));
  const trueIds = ints(attrs.get('nodes_truenodeids'));
  const falseIds = ints(attrs.get('nodes_falsenodeids'));
  const missing = ints(attrs.get('nodes_missing_value_tracks_true'));
  const hitrates = attrs.has('nodes_hitrates_as_tensor')
    ? tensorValues(attrs.get('nodes_hitrates_as_tensor'))
    : floats(attrs.get('nodes_hitrates'));
  const n = treeIds.length;
  if ([nodeIds, featureIds, modes, values, trueIds, falseIds].some((a) => a.length !== n)) {
    throw new VigilError('InvalidModel', 'TreeEnsembleRegressor node attributes have different lengths');
  }
  const aggregate = (str(attrs.get('aggregate_function')) ?? 'SUM') as Aggregate;
  if (!['SUM', 'AVERAGE', 'MIN', 'MAX'].includes(aggregate)) {
    throw new UnsupportedModelError(`aggregate_function '${aggregate}' is not supported`);
  }
  const baseValues = attrs.has('base_values_as_tensor')
    ? tensorValues(attrs.get('base_values_as_tensor'))
    : floats(attrs.get('base_values'));

  const b = new EnsembleBuilder();
  const key = (tree: number, id: number) => `${tree}:${id}`;
  const index = new Map<string, number>();
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
      b.threshold[g] = Math.fround(values[i]);
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
  const tTree = ints(attrs.get('target_treeids'));
  const tNode = ints(attrs.get('target_nodeids'));
  const tIds = ints(attrs.get('target_ids'));
  const tWeights = attrs.has('target_weights_as_tensor')
    ? tensorValues(attrs.get('target_weights_as_tensor'))
    : floats(attrs.get('target_weights'));
  for (let i = 0; i < tTree.length; i++) {
    if (tIds[i] !== 0) throw new UnsupportedModelError('only single-target ensembles are supported');
    const g = index.get(key(tTree[i], tNode[i]));
    if (g === undefined)
      throw new VigilError('InvalidModel', `target points at missing node ${tTree[i]}:${tNode[i]}`);
    b.value[g] += tWeights[i];
  }
  for (const tree of [...trees.keys()].sort((x, y) => x - y)) {
    b.roots.push(findRoot(b, trees.get(tree) as number[], tree));
  }
  const maxFeature = b.feature.reduce((m, f) => Math.max(m, f), -1);
  return b.build(declaredWidth ?? maxFeature + 1, aggregate, baseValues[0] ?? 0);
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

function parseTreeEnsemble5(attrs: Map<string, AttributeProto>, declaredWidth?: number): TreeEnsemble {
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
    b.threshold[g] = Math.fround(splits[i]);
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
  return b.build(declaredWidth ?? maxFeature + 1, aggregate, 0);
}
