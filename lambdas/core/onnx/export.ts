import { averagePathLength } from '#core/forest/isolation.ts';
import { NodeMode, type TreeEnsemble } from '#core/trees.ts';
import { type AttributeProto, type NodeProto, onnx, type TensorProto } from './proto.ts';

/** Which ONNX operator carries the trees. */
export type TreeOpFormat = 'TreeEnsembleRegressor3' | 'TreeEnsemble5';

export interface ExportOptions {
  /** @default 'TreeEnsembleRegressor3' (ai.onnx.ml opset 3) */
  readonly format?: TreeOpFormat;
  /** @default 'input' */
  readonly inputName?: string;
  /** Output of the tree ensemble itself. @default 'raw' */
  readonly rawOutputName?: string;
  /**
   * Adds `score = 2^(−raw/c(ψ))` after the trees (the isolation-forest score)
   * as output `scoreOutputName`.
   */
  readonly isolationScore?: { readonly psi: number; readonly scoreOutputName?: string };
  /** Written into the model's metadata_props. */
  readonly metadata?: Record<string, string>;
  /** @default 'vigil' */
  readonly producerName?: string;
}

const MODE_NAMES = ['LEAF', 'BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ'];
/** ai.onnx.ml TreeEnsemble (opset 5) mode codes for NodeMode 1..6. */
const V5_MODE = [255, 0, 1, 2, 3, 4, 5];
const V5_AGG: Record<TreeEnsemble['aggregate'], number> = { AVERAGE: 0, SUM: 1, MIN: 2, MAX: 3 };

/**
 * Serialises a tree ensemble to an ONNX model (bytes). Node covers become
 * `nodes_hitrates`, which runtimes ignore and Vigil reads back as TreeSHAP
 * covers. Output is deterministic: same ensemble and options, same bytes.
 */
export function exportOnnx(t: TreeEnsemble, opts: ExportOptions = {}): Uint8Array {
  const format = opts.format ?? 'TreeEnsembleRegressor3';
  const inputName = opts.inputName ?? 'input';
  const rawName = opts.rawOutputName ?? 'raw';
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const outputs = [valueInfo(rawName, ['N', 1])];

  if (format === 'TreeEnsembleRegressor3') {
    nodes.push(treeEnsembleRegressor3(t, inputName, rawName));
  } else {
    const treeOut = t.base === 0 ? rawName : `${rawName}_trees`;
    nodes.push(treeEnsemble5(t, inputName, treeOut));
    if (t.base !== 0) {
      initializers.push(floatTensor('raw_base', [t.base]));
      nodes.push(
        onnx.NodeProto.create({
          opType: 'Add',
          input: [treeOut, 'raw_base'],
          output: [rawName],
          name: 'AddBase',
        }),
      );
    }
  }
  if (opts.isolationScore) {
    const scoreName = opts.isolationScore.scoreOutputName ?? 'score';
    const c = averagePathLength(opts.isolationScore.psi);
    initializers.push(floatTensor('neg_inv_c', [-1 / c]), floatTensor('two', [2]));
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Mul',
        input: [rawName, 'neg_inv_c'],
        output: ['exponent'],
        name: 'Scale',
      }),
      onnx.NodeProto.create({
        opType: 'Pow',
        input: ['two', 'exponent'],
        output: [scoreName],
        name: 'Score',
      }),
    );
    outputs.push(valueInfo(scoreName, ['N', 1]));
  }
  const graph = onnx.GraphProto.create({
    name: 'vigil_tree_ensemble',
    node: nodes,
    initializer: initializers,
    input: [valueInfo(inputName, ['N', t.nFeatures])],
    output: outputs,
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: opts.producerName ?? 'vigil',
    producerVersion: '1',
    opsetImport: [
      { domain: '', version: 13 },
      { domain: 'ai.onnx.ml', version: format === 'TreeEnsembleRegressor3' ? 3 : 5 },
    ],
    graph,
    metadataProps: Object.entries(opts.metadata ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, value]) => ({ key, value })),
  });
  // protobufjs hands back a Node Buffer; callers get a plain Uint8Array.
  return Uint8Array.from(onnx.ModelProto.encode(model).finish());
}

/** Nodes of each tree in depth-first order, with tree-local ids. */
function treeNodes(t: TreeEnsemble): number[][] {
  return Array.from(t.roots, (root) => {
    const order: number[] = [];
    const stack = [root];
    while (stack.length > 0) {
      const n = stack.pop() as number;
      order.push(n);
      if (t.mode[n] !== NodeMode.LEAF) stack.push(t.falseChild[n], t.trueChild[n]);
    }
    return order;
  });
}

const allCoversKnown = (t: TreeEnsemble): boolean => t.cover.every((c) => Number.isFinite(c));

function treeEnsembleRegressor3(t: TreeEnsemble, input: string, output: string): NodeProto {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missing: number[] = [];
  const hitrates: number[] = [];
  const targetTree: number[] = [];
  const targetNode: number[] = [];
  const targetWeights: number[] = [];
  treeNodes(t).forEach((order, tree) => {
    const local = new Map(order.map((n, i) => [n, i]));
    order.forEach((n, i) => {
      const leaf = t.mode[n] === NodeMode.LEAF;
      treeIds.push(tree);
      nodeIds.push(i);
      featureIds.push(leaf ? 0 : t.feature[n]);
      modes.push(MODE_NAMES[t.mode[n]]);
      values.push(leaf ? 0 : t.threshold[n]);
      trueIds.push(leaf ? 0 : (local.get(t.trueChild[n]) as number));
      falseIds.push(leaf ? 0 : (local.get(t.falseChild[n]) as number));
      missing.push(t.missingTracksTrue[n]);
      hitrates.push(t.cover[n]);
      if (leaf) {
        targetTree.push(tree);
        targetNode.push(i);
        targetWeights.push(t.value[n]);
      }
    });
  });
  const attrs: AttributeProto[] = [
    attrString('aggregate_function', t.aggregate),
    attrFloats('base_values', [t.base]),
    attrInt('n_targets', 1),
    attrInts('nodes_falsenodeids', falseIds),
    attrInts('nodes_featureids', featureIds),
    ...(allCoversKnown(t) ? [attrFloats('nodes_hitrates', hitrates)] : []),
    attrInts('nodes_missing_value_tracks_true', missing),
    attrStrings('nodes_modes', modes),
    attrInts('nodes_nodeids', nodeIds),
    attrInts('nodes_treeids', treeIds),
    attrInts('nodes_truenodeids', trueIds),
    attrFloats('nodes_values', values),
    attrString('post_transform', 'NONE'),
    attrInts('target_ids', new Array(targetTree.length).fill(0)),
    attrInts('target_nodeids', targetNode),
    attrInts('target_treeids', targetTree),
    attrFloats('target_weights', targetWeights),
  ];
  return onnx.NodeProto.create({
    opType: 'TreeEnsembleRegressor',
    domain: 'ai.onnx.ml',
    input: [input],
    output: [output],
    name: 'TreeEnsembleRegressor',
    attribute: attrs,
  });
}

function treeEnsemble5(t: TreeEnsemble, input: string, output: string): NodeProto {
  const featureIds: number[] = [];
  const modes: number[] = [];
  const splits: number[] = [];
  const trueIds: number[] = [];
  const trueLeaf: number[] = [];
  const falseIds: number[] = [];
  const falseLeaf: number[] = [];
  const missing: number[] = [];
  const hitrates: number[] = [];
  const leafWeights: number[] = [];
  const roots: number[] = [];
  const coversKnown = allCoversKnown(t);
  // Interior nodes and leaves live in separate index spaces in opset 5.
  for (const order of treeNodes(t)) {
    const interior = new Map<number, number>();
    const leaves = new Map<number, number>();
    for (const n of order) {
      if (t.mode[n] === NodeMode.LEAF) leaves.set(n, leaves.size + leafWeights.length);
      else interior.set(n, interior.size + featureIds.length);
    }
    const base = featureIds.length;
    const leafBase = leafWeights.length;
    const rootNode = order[0];
    if (t.mode[rootNode] === NodeMode.LEAF) {
      // A single-leaf tree: a split whose both branches reach the same leaf.
      roots.push(base);
      featureIds.push(0);
      modes.push(0);
      splits.push(0);
      trueIds.push(leafBase);
      trueLeaf.push(1);
      falseIds.push(leafBase);
      falseLeaf.push(1);
      missing.push(0);
      hitrates.push(t.cover[rootNode]);
      leafWeights.push(t.value[rootNode]);
      continue;
    }
    roots.push(base);
    for (const n of order) {
      if (t.mode[n] === NodeMode.LEAF) {
        // Same DFS order as the numbering above, so index = leafBase + k.
        leafWeights.push(t.value[n]);
        continue;
      }
      const tc = t.trueChild[n];
      const fc = t.falseChild[n];
      const tl = t.mode[tc] === NodeMode.LEAF;
      const fl = t.mode[fc] === NodeMode.LEAF;
      featureIds.push(t.feature[n]);
      modes.push(V5_MODE[t.mode[n]]);
      splits.push(t.threshold[n]);
      trueIds.push(tl ? (leaves.get(tc) as number) : (interior.get(tc) as number));
      trueLeaf.push(tl ? 1 : 0);
      falseIds.push(fl ? (leaves.get(fc) as number) : (interior.get(fc) as number));
      falseLeaf.push(fl ? 1 : 0);
      missing.push(t.missingTracksTrue[n]);
      hitrates.push(t.cover[n]);
    }
  }
  const attrs: AttributeProto[] = [
    attrInt('aggregate_function', V5_AGG[t.aggregate]),
    attrInts('leaf_targetids', new Array(leafWeights.length).fill(0)),
    attrTensor('leaf_weights', floatTensor('leaf_weights', leafWeights)),
    attrInt('n_targets', 1),
    attrInts('nodes_falseleafs', falseLeaf),
    attrInts('nodes_falsenodeids', falseIds),
    attrInts('nodes_featureids', featureIds),
    ...(coversKnown ? [attrTensor('nodes_hitrates', floatTensor('nodes_hitrates', hitrates))] : []),
    attrInts('nodes_missing_value_tracks_true', missing),
    attrTensor('nodes_modes', uint8Tensor('nodes_modes', modes)),
    attrTensor('nodes_splits', floatTensor('nodes_splits', splits)),
    attrInts('nodes_trueleafs', trueLeaf),
    attrInts('nodes_truenodeids', trueIds),
    attrInt('post_transform', 0),
    attrInts('tree_roots', roots),
  ];
  return onnx.NodeProto.create({
    opType: 'TreeEnsemble',
    domain: 'ai.onnx.ml',
    input: [input],
    output: [output],
    name: 'TreeEnsemble',
    attribute: attrs,
  });
}

const AT = onnx.AttributeProto.AttributeType;
const attrInt = (name: string, i: number): AttributeProto =>
  onnx.AttributeProto.create({ name, type: AT.INT, i });
const attrInts = (name: string, ints: number[]): AttributeProto =>
  onnx.AttributeProto.create({ name, type: AT.INTS, ints });
const attrFloats = (name: string, floats: number[]): AttributeProto =>
  onnx.AttributeProto.create({ name, type: AT.FLOATS, floats });
const attrString = (name: string, s: string): AttributeProto =>
  onnx.AttributeProto.create({ name, type: AT.STRING, s: new TextEncoder().encode(s) });
const attrStrings = (name: string, strings: string[]): AttributeProto =>
  onnx.AttributeProto.create({
    name,
    type: AT.STRINGS,
    strings: strings.map((s) => new TextEncoder().encode(s)),
  });
const attrTensor = (name: string, t: TensorProto): AttributeProto =>
  onnx.AttributeProto.create({ name, type: AT.TENSOR, t });

function floatTensor(name: string, values: number[]): TensorProto {
  return onnx.TensorProto.create({
    name,
    dataType: onnx.TensorProto.DataType.FLOAT,
    dims: [values.length],
    floatData: values,
  });
}

function uint8Tensor(name: string, values: number[]): TensorProto {
  return onnx.TensorProto.create({
    name,
    dataType: onnx.TensorProto.DataType.UINT8,
    dims: [values.length],
    rawData: Uint8Array.from(values),
  });
}

function valueInfo(name: string, dims: Array<string | number>) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
}
