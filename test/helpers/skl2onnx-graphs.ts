/**
 * Random scikit-learn-style trees and the ONNX graphs skl2onnx 1.21 writes for them
 * (op for op, as in test/fixtures/byo), plus a per-tree interpreter that computes
 * what scikit-learn would from the trees themselves — the independent reference the
 * folding property tests compare against. Nothing here imports the parser.
 */
import { Rng } from '#core/forest/rng.ts';
import { type AttributeProto, type NodeProto, onnx, type TensorProto } from '#core/onnx/proto.ts';

/** A fitted tree in scikit-learn's array form (`children_left[i] = -1` for a leaf). */
export interface SkTree {
  readonly left: number[];
  readonly right: number[];
  /** Column of the tree's own input (after its Gather). */
  readonly feature: number[];
  readonly threshold: number[];
  /** Leaf value (regression / boosting margin contribution, or P(class 1) for a forest). */
  readonly value: number[];
  /** Training samples per node (n_node_samples). */
  readonly samples: number[];
}

/** A random tree over `nFeatures` columns; thresholds on a coarse grid, leaf sample counts ≥ 1. */
export function randomSkTree(
  rng: Rng,
  nFeatures: number,
  maxDepth: number,
  doubleThresholds = false,
): SkTree {
  const t: SkTree = { left: [], right: [], feature: [], threshold: [], value: [], samples: [] };
  const grow = (depth: number): number => {
    const i = t.left.length;
    t.left.push(-1);
    t.right.push(-1);
    t.feature.push(-2);
    t.threshold.push(-2);
    t.value.push(0);
    t.samples.push(0);
    if (depth >= maxDepth || (depth > 0 && rng.next() < 0.3)) {
      t.value[i] = rng.normal();
      t.samples[i] = 1 + rng.int(rng.next() < 0.3 ? 3 : 40);
      return i;
    }
    t.feature[i] = rng.int(nFeatures);
    // Grid thresholds make ties likely; a double graph gets values float32 cannot hold.
    const g = Math.round(rng.normal() * 8) / 4;
    t.threshold[i] = doubleThresholds ? g - 1e-9 : Math.fround(g);
    const l = grow(depth + 1);
    const r = grow(depth + 1);
    t.left[i] = l;
    t.right[i] = r;
    t.samples[i] = t.samples[l] + t.samples[r];
    return i;
  };
  grow(0);
  return t;
}

/** The leaf a row reaches (sklearn: `x[f] <= threshold` goes left), and the nodes on its path. */
export function walk(
  t: SkTree,
  x: ArrayLike<number>,
  columns?: readonly number[],
): { leaf: number; nodes: number } {
  let n = 0;
  let nodes = 1;
  while (t.left[n] !== -1) {
    const f = columns ? columns[t.feature[n]] : t.feature[n];
    n = x[f] <= t.threshold[n] ? t.left[n] : t.right[n];
    nodes++;
  }
  return { leaf: n, nodes };
}

/** Euler–Mascheroni constant as skl2onnx writes it (a float32 initializer). */
export const GAMMA_F32 = Math.fround(0.5772156649015329);

/** c(n) as the skl2onnx graph computes it (float64 here): 2(ln(n−1) + γ) − 2(n−1)/n for n > 2, 1 for n = 2, else 0. */
export function cOfN(n: number, gamma = GAMMA_F32): number {
  if (n === 2) return 1;
  if (n < 2) return 0;
  return 2 * (Math.log(n - 1) + gamma) - (2 * (n - 1)) / n;
}

const AT = onnx.AttributeProto.AttributeType;
const DT = onnx.TensorProto.DataType;
const aInt = (name: string, i: number): AttributeProto =>
  onnx.AttributeProto.create({ name, type: AT.INT, i });
const aInts = (name: string, ints: number[]): AttributeProto =>
  onnx.AttributeProto.create({ name, type: AT.INTS, ints });
const aFloats = (name: string, floats: number[]): AttributeProto =>
  onnx.AttributeProto.create({ name, type: AT.FLOATS, floats });
const aStr = (name: string, s: string): AttributeProto =>
  onnx.AttributeProto.create({ name, type: AT.STRING, s: new TextEncoder().encode(s) });
const aStrs = (name: string, ss: string[]): AttributeProto =>
  onnx.AttributeProto.create({ name, type: AT.STRINGS, strings: ss.map((s) => new TextEncoder().encode(s)) });
const aTensor = (name: string, t: TensorProto): AttributeProto =>
  onnx.AttributeProto.create({ name, type: AT.TENSOR, t });
const floatInit = (name: string, v: number[], dims = [v.length]): TensorProto =>
  onnx.TensorProto.create({ name, dataType: DT.FLOAT, dims, floatData: v });
const int64Init = (name: string, v: number[]): TensorProto =>
  onnx.TensorProto.create({ name, dataType: DT.INT64, dims: [v.length], int64Data: v });
const node = (
  opType: string,
  input: string[],
  output: string[],
  attribute: AttributeProto[] = [],
  domain = '',
): NodeProto => onnx.NodeProto.create({ opType, input, output, attribute, domain, name: output[0] });
const tensorInfo = (name: string, elemType: number, dims: Array<number | null>) =>
  onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (d === null ? {} : { dimValue: d })) } } },
  });

/** Node attributes shared by TreeEnsembleRegressor/Classifier for a list of trees (nodes_hitrates = 1.0, as skl2onnx). */
function nodeAttrs(trees: readonly SkTree[], doubleThresholds: boolean): AttributeProto[] {
  const a = {
    tree: [] as number[],
    id: [] as number[],
    f: [] as number[],
    mode: [] as string[],
    v: [] as number[],
  };
  const tr: number[] = [];
  const fa: number[] = [];
  trees.forEach((t, k) => {
    for (let i = 0; i < t.left.length; i++) {
      const leaf = t.left[i] === -1;
      a.tree.push(k);
      a.id.push(i);
      a.f.push(leaf ? 0 : t.feature[i]);
      a.mode.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      a.v.push(leaf ? 0 : t.threshold[i]);
      tr.push(leaf ? 0 : t.left[i]);
      fa.push(leaf ? 0 : t.right[i]);
    }
  });
  const values = doubleThresholds
    ? aTensor(
        'nodes_values_as_tensor',
        onnx.TensorProto.create({ dataType: DT.DOUBLE, dims: [a.v.length], doubleData: a.v }),
      )
    : aFloats('nodes_values', a.v);
  return [
    aInts('nodes_falsenodeids', fa),
    aInts('nodes_featureids', a.f),
    aFloats(
      'nodes_hitrates',
      a.v.map(() => 1),
    ),
    aInts(
      'nodes_missing_value_tracks_true',
      a.v.map(() => 0),
    ),
    aStrs('nodes_modes', a.mode),
    aInts('nodes_nodeids', a.id),
    aInts('nodes_treeids', a.tree),
    aInts('nodes_truenodeids', tr),
    values,
  ];
}

function model(
  nodes: NodeProto[],
  inits: TensorProto[],
  inputs: ReturnType<typeof tensorInfo>[],
  outputs: ReturnType<typeof tensorInfo>[],
  mlOpset: number,
): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'skl2onnx',
    producerVersion: '1.21.0',
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: mlOpset },
    ],
    graph: onnx.GraphProto.create({
      name: 'test',
      node: nodes,
      initializer: inits,
      input: inputs,
      output: outputs,
    }),
  });
  return Uint8Array.from(onnx.ModelProto.encode(m).finish());
}

const leaves = (t: SkTree): number[] => t.left.flatMap((l, i) => (l === -1 ? [i] : []));

/** Nodes on the root → node path of every node (sklearn's node_indicator row sum). */
function pathNodes(t: SkTree): number[] {
  const out = new Array<number>(t.left.length).fill(0);
  const stack: Array<[number, number]> = [[0, 1]];
  while (stack.length > 0) {
    const [n, d] = stack.pop() as [number, number];
    out[n] = d;
    if (t.left[n] !== -1) stack.push([t.left[n], d + 1], [t.right[n], d + 1]);
  }
  return out;
}

/** An isolation forest: trees, each reading `columns[k]` of the input, and ψ = max_samples. */
export interface SkIsolationForest {
  readonly trees: readonly SkTree[];
  readonly columns: ReadonlyArray<readonly number[]>;
  readonly maxSamples: number;
  readonly offset: number;
  readonly nFeatures: number;
}

/** What scikit-learn computes: E[h(x)] (mean of depth + c(n_leaf)) and score_samples = −2^(−E[h]/c(ψ)). */
export function isolationReference(
  f: SkIsolationForest,
  x: ArrayLike<number>,
): { meanPath: number; scoreSamples: number } {
  let sum = 0;
  f.trees.forEach((t, k) => {
    const { leaf, nodes } = walk(t, x, f.columns[k]);
    sum += nodes - 1 + cOfN(t.samples[leaf]);
  });
  const denom = Math.fround(f.trees.length * cOfN(f.maxSamples));
  return { meanPath: sum / f.trees.length, scoreSamples: -(2 ** (-sum / denom)) };
}

/** The graph skl2onnx writes for IsolationForest with `score_samples`, op for op (see the f_iforest fixture). */
export function isolationForestGraph(f: SkIsolationForest): Uint8Array {
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [
    floatInit('two', [2]),
    int64Init('shape', [-1, 1]),
    floatInit('m1', [-1]),
    floatInit('one', [1]),
    floatInit('gamma', [GAMMA_F32]),
    floatInit('zero', [0]),
    floatInit('m2', [-2]),
    floatInit('denom', [Math.fround(f.trees.length * cOfN(f.maxSamples))], [1, 1]),
    floatInit('negoffset', [-f.offset]),
  ];
  const depthOuts: string[] = [];
  f.trees.forEach((t, k) => {
    const p = (s: string) => `${s}_${k}`;
    inits.push(int64Init(p('cols'), [...f.columns[k]]));
    nodes.push(node('Gather', ['X', p('cols')], [p('g')], [aInt('axis', 1)]));
    const ls = leaves(t);
    nodes.push(
      node(
        'TreeEnsembleRegressor',
        [p('g')],
        [p('y')],
        [
          aInt('n_targets', 1),
          ...nodeAttrs([t], false),
          aStr('post_transform', 'NONE'),
          aInts(
            'target_ids',
            ls.map(() => 0),
          ),
          aInts('target_nodeids', ls),
          aInts(
            'target_treeids',
            ls.map(() => 0),
          ),
          aFloats('target_weights', ls),
        ],
        'ai.onnx.ml',
      ),
    );
    const pn = pathNodes(t);
    nodes.push(
      node('Cast', [p('y')], [p('yi')], [aInt('to', DT.INT64)]),
      node('Cast', [p('y')], [p('yj')], [aInt('to', DT.INT64)]),
      node(
        'LabelEncoder',
        [p('yi')],
        [p('ns0')],
        [
          aInts('keys_int64s', ls),
          aFloats(
            'values_floats',
            ls.map((l) => t.samples[l]),
          ),
        ],
        'ai.onnx.ml',
      ),
      node(
        'LabelEncoder',
        [p('yj')],
        [p('pl0')],
        [
          aInts('keys_int64s', ls),
          aFloats(
            'values_floats',
            ls.map((l) => pn[l]),
          ),
        ],
        'ai.onnx.ml',
      ),
      node('Reshape', [p('ns0'), 'shape'], [p('ns')]),
      node('Reshape', [p('pl0'), 'shape'], [p('pl')]),
      node('Equal', [p('ns'), 'two'], [p('eq2b')]),
      node('Greater', [p('ns'), 'two'], [p('gt2b')]),
      node('Cast', [p('eq2b')], [p('eq2')], [aInt('to', DT.FLOAT)]),
      node('Cast', [p('gt2b')], [p('gt2')], [aInt('to', DT.FLOAT)]),
      node('Mul', [p('gt2'), p('ns')], [p('nn')]),
      node('Add', [p('nn'), 'm1'], [p('nm1')]),
      node('Max', [p('nn'), 'one'], [p('nmax')]),
      node('Max', [p('nm1'), 'one'], [p('nm1max')]),
      node('Max', [p('nm1'), 'zero'], [p('nm1max0')]),
      node('Div', [p('nm1max0'), p('nmax')], [p('ratio')]),
      node('Log', [p('nm1max')], [p('log')]),
      node('Add', [p('log'), 'gamma'], [p('logg')]),
      node('Mul', [p('ratio'), 'm2'], [p('ratio2')]),
      node('Mul', [p('logg'), 'two'], [p('logg2')]),
      node('Add', [p('logg2'), p('ratio2')], [p('c1')]),
      node('Mul', [p('c1'), p('gt2')], [p('c2')]),
      node('Add', [p('eq2'), p('c2')], [p('c')]),
      node('Add', [p('pl'), p('c')], [p('d1')]),
      node('Add', [p('d1'), 'm1'], [p('depth')]),
    );
    depthOuts.push(p('depth'));
  });
  nodes.push(
    node('Sum', depthOuts, ['sum']),
    node('Div', ['sum', 'denom'], ['q']),
    node('Neg', ['q'], ['nq']),
    node('Pow', ['two', 'nq'], ['pw']),
    node('Neg', ['pw'], ['score_samples']),
    node('Add', ['score_samples', 'negoffset'], ['scores']),
    node('Less', ['scores', 'zero'], ['lt']),
    node('Cast', ['lt'], ['label'], [aInt('to', DT.INT64)]),
  );
  return model(
    nodes,
    inits,
    [tensorInfo('X', DT.FLOAT, [null, f.nFeatures])],
    [
      tensorInfo('label', DT.INT64, [null, 1]),
      tensorInfo('scores', DT.FLOAT, [null, 1]),
      tensorInfo('score_samples', DT.FLOAT, [null, 1]),
    ],
    2,
  );
}

/** A binary classifier: boosting (margins, LOGISTIC, base = prior log-odds) or a forest (P(class 1) per leaf, averaged). */
export interface SkClassifier {
  readonly kind: 'boosting' | 'forest';
  readonly trees: readonly SkTree[];
  readonly base: number;
  readonly nFeatures: number;
}

/** scikit-learn's positive-class probability (and the boosting margin) from the trees. */
export function classifierReference(
  c: SkClassifier,
  x: ArrayLike<number>,
): { raw: number; probability: number } {
  let s = 0;
  for (const t of c.trees)
    s +=
      c.kind === 'boosting'
        ? Math.fround(t.value[walk(t, x).leaf])
        : Math.fround(t.value[walk(t, x).leaf] / c.trees.length);
  if (c.kind === 'forest') return { raw: s, probability: s };
  const margin = s + Math.fround(c.base);
  return { raw: margin, probability: 1 / (1 + Math.exp(-margin)) };
}

/**
 * TreeEnsembleClassifier + Cast + ZipMap as skl2onnx writes them: boosting puts every
 * margin under class id 0 with post_transform LOGISTIC; a forest writes both classes'
 * leaf probabilities divided by the number of trees, post_transform NONE.
 */
export function classifierGraph(c: SkClassifier): Uint8Array {
  const ids: number[] = [];
  const tids: number[] = [];
  const nids: number[] = [];
  const w: number[] = [];
  c.trees.forEach((t, k) => {
    for (const l of leaves(t)) {
      if (c.kind === 'boosting') {
        tids.push(k);
        nids.push(l);
        ids.push(0);
        w.push(t.value[l]);
      } else {
        for (const cls of [0, 1]) {
          tids.push(k);
          nids.push(l);
          ids.push(cls);
          w.push((cls === 1 ? t.value[l] : 1 - t.value[l]) / c.trees.length);
        }
      }
    }
  });
  const tec = node(
    'TreeEnsembleClassifier',
    ['X'],
    ['label', 'proba'],
    [
      ...(c.kind === 'boosting' ? [aFloats('base_values', [c.base])] : []),
      aInts('class_ids', ids),
      aInts('class_nodeids', nids),
      aInts('class_treeids', tids),
      aFloats('class_weights', w),
      aInts('classlabels_int64s', [0, 1]),
      ...nodeAttrs(c.trees, false),
      aStr('post_transform', c.kind === 'boosting' ? 'LOGISTIC' : 'NONE'),
    ],
    'ai.onnx.ml',
  );
  const probaOut = onnx.ValueInfoProto.create({
    name: 'output_probability',
    type: {
      sequenceType: {
        elemType: { mapType: { keyType: DT.INT64, valueType: { tensorType: { elemType: DT.FLOAT } } } },
      },
    },
  });
  return model(
    [
      tec,
      node('Cast', ['label'], ['output_label'], [aInt('to', DT.INT64)]),
      node('ZipMap', ['proba'], ['output_probability'], [aInts('classlabels_int64s', [0, 1])], 'ai.onnx.ml'),
    ],
    [],
    [tensorInfo('X', DT.FLOAT, [null, c.nFeatures])],
    [tensorInfo('output_label', DT.INT64, [null]), probaOut],
    1,
  );
}

/** A single-tree-per-estimator regressor graph (one TreeEnsembleRegressor, SUM + base), float or double input. */
export function regressorGraph(
  trees: readonly SkTree[],
  nFeatures: number,
  base: number,
  double: boolean,
): Uint8Array {
  const tids: number[] = [];
  const nids: number[] = [];
  const w: number[] = [];
  trees.forEach((t, k) => {
    for (const l of leaves(t)) {
      tids.push(k);
      nids.push(l);
      w.push(t.value[l]);
    }
  });
  const weights = double
    ? aTensor(
        'target_weights_as_tensor',
        onnx.TensorProto.create({ dataType: DT.DOUBLE, dims: [w.length], doubleData: w }),
      )
    : aFloats('target_weights', w);
  const bases = double
    ? aTensor(
        'base_values_as_tensor',
        onnx.TensorProto.create({ dataType: DT.DOUBLE, dims: [1], doubleData: [base] }),
      )
    : aFloats('base_values', [base]);
  const ter = node(
    'TreeEnsembleRegressor',
    ['X'],
    ['variable'],
    [
      aStr('aggregate_function', 'SUM'),
      bases,
      aInt('n_targets', 1),
      ...nodeAttrs(trees, double),
      aStr('post_transform', 'NONE'),
      aInts(
        'target_ids',
        w.map(() => 0),
      ),
      aInts('target_nodeids', nids),
      aInts('target_treeids', tids),
      weights,
    ],
    'ai.onnx.ml',
  );
  const elem = double ? DT.DOUBLE : DT.FLOAT;
  return model(
    [ter],
    [],
    [tensorInfo('X', elem, [null, nFeatures])],
    [tensorInfo('variable', DT.FLOAT, [null, 1])],
    double ? 3 : 1,
  );
}

/** Random rows on the trees' threshold grid (ties happen) plus noise. */
export function randomRows(rng: Rng, rows: number, nFeatures: number): Float64Array {
  const x = new Float64Array(rows * nFeatures);
  for (let i = 0; i < x.length; i++)
    x[i] = rng.next() < 0.5 ? Math.round(rng.normal() * 8) / 4 : rng.normal() * 2;
  return x;
}

export { Rng };
