import { EnsembleBuilder } from '#core/forest/train.ts';
import { NodeMode, type TreeEnsemble } from '#core/trees.ts';
import { checkStructure, coversAreCounts, type ParsedModel, pow2Of, resolveGraphInput } from './ensemble.ts';
import { evalScalarChain, graphConstants, SCALAR_OPS, toNum } from './graph-eval.ts';
import type { GraphProto, NodeProto } from './proto.ts';
import { tailsFrom } from './tails.ts';

const COMPARISONS = new Set(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual']);
const PASS_THROUGH = new Set(['Identity', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Cast']);

/**
 * Folds scikit-learn's IsolationForest as skl2onnx writes it into one ensemble,
 * recognised by structure (never by node names): per tree, `Gather(X, columns)` →
 * `TreeEnsembleRegressor` whose leaf weights are leaf ids → elementwise ops on that
 * one value (two `LabelEncoder`s: leaf → n_node_samples and leaf → nodes on the path,
 * then the c(n) correction) → one input of a `Sum` over all trees, followed by
 * `Div → Neg → Pow(2, ·) → Neg` (score_samples) and `Add(−offset_)` (decision_function).
 *
 * The folded ensemble averages, per tree, the value the graph computes for each leaf
 * (evaluated from the graph's own ops in float64: depth + c(n), i.e. E[h(x)] after
 * averaging), reads the columns each tree's Gather picks, and takes its covers from the
 * leaf sample counts (the LabelEncoder whose output is compared, as c(n) needs).
 *
 * @returns the parsed model, or why the graph cannot be folded
 */
export function foldIsolationForest(
  graph: GraphProto,
  parseTree: (node: NodeProto, width: number | undefined, doubleInput: boolean) => TreeEnsemble,
): Omit<ParsedModel, 'outputs' | 'metadata' | 'op'> | string {
  const nodes = graph.node ?? [];
  const ters = nodes.filter((n) => (n.domain ?? '') === 'ai.onnx.ml' && n.opType === 'TreeEnsembleRegressor');
  if (
    ters.length !==
    nodes.filter((n) => (n.domain ?? '') === 'ai.onnx.ml' && n.opType?.startsWith('TreeEnsemble')).length
  ) {
    return 'several tree-ensemble nodes of different kinds';
  }
  const sums = nodes.filter((n) => n.opType === 'Sum' && (n.input ?? []).length === ters.length);
  if (sums.length !== 1) {
    return `${ters.length} tree-ensemble nodes but no Sum over exactly their ${ters.length} outputs (not the isolation-forest pattern)`;
  }
  const sum = sums[0];
  const sumInputs = new Set(sum.input ?? []);
  const consts = graphConstants(graph);
  const producer = new Map<string, NodeProto>();
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) producer.set(o, n);
    for (const x of n.input ?? []) consumers.set(x, [...(consumers.get(x) ?? []), i]);
  });
  const b = new EnsembleBuilder();
  let input: ReturnType<typeof resolveGraphInput> | undefined;
  let counted = true;
  const usedSumInputs = new Set<string>();

  for (const [k, ter] of ters.entries()) {
    // Columns: a Gather(X, constant indices, axis=1) in front of the trees, or X itself.
    const treeIn = ter.input?.[0] ?? '';
    const gather = producer.get(treeIn);
    let columns: number[] | undefined;
    let resolved: ReturnType<typeof resolveGraphInput>;
    try {
      if (gather?.opType === 'Gather') {
        const axis = toNum(gather.attribute?.find((a) => a.name === 'axis')?.i ?? 0);
        columns = consts.get(gather.input?.[1] ?? '');
        if (axis !== 1 || !columns) return `tree ${k}: its Gather must pick constant columns (axis 1)`;
        resolved = resolveGraphInput(graph, gather, gather.input?.[0]);
      } else resolved = resolveGraphInput(graph, ter);
    } catch (e) {
      return (e as Error).message;
    }
    if (input && (input.name !== resolved.name || input.treesReadDouble !== resolved.treesReadDouble)) {
      return 'the trees read different graph inputs';
    }
    input = resolved;
    let tree: TreeEnsemble;
    try {
      tree = parseTree(ter, columns?.length, resolved.treesReadDouble);
      checkStructure(tree);
    } catch (e) {
      return `tree ${k}: ${(e as Error).message}`;
    }
    if (tree.roots.length !== 1) return `tree-ensemble node ${k} holds ${tree.roots.length} trees, not one`;

    // The ops between this tree and the Sum: everything downstream of its output, in graph order.
    const start = ter.output?.[0] ?? '';
    const reach = new Set([start]);
    const picked = new Set<number>();
    const queue = [start];
    while (queue.length > 0) {
      for (const i of consumers.get(queue.pop() as string) ?? []) {
        const n = nodes[i];
        if (n === sum || picked.has(i)) continue;
        if (!SCALAR_OPS.has(n.opType ?? ''))
          return `tree ${k}: op ${n.opType} after the trees cannot be folded`;
        picked.add(i);
        for (const o of n.output ?? []) if (!reach.has(o)) reach.add(o) && queue.push(o);
      }
    }
    const chain = [...picked].sort((x, y) => x - y).map((i) => nodes[i]);
    const into = [...sumInputs].filter((i) => reach.has(i));
    if (into.length !== 1 || usedSumInputs.has(into[0]))
      return `tree ${k} does not feed exactly one input of the Sum`;
    usedSumInputs.add(into[0]);
    const counts = sampleCountOutput(chain, producer);
    if (counts === undefined) counted = false;

    const offset = b.size;
    const order = localOrder(tree);
    const local = new Map(order.map((n, i) => [n, offset + i]));
    const leaves = order.filter((n) => tree.mode[n] === NodeMode.LEAF);
    let leafValue: number[];
    let leafCount: number[] | undefined;
    try {
      const outs = evalScalarChain(
        chain,
        consts,
        start,
        leaves.map((n) => tree.value[n] + tree.base),
        counts === undefined ? [into[0]] : [into[0], counts],
      );
      leafValue = outs[0];
      leafCount = outs[1];
    } catch (e) {
      return `tree ${k}: ${(e as Error).message}`;
    }
    const leafIndex = new Map(leaves.map((n, i) => [n, i]));
    for (const n of order) {
      const g = b.add();
      if (tree.mode[n] === NodeMode.LEAF) {
        const i = leafIndex.get(n) as number;
        b.value[g] = leafValue[i];
        b.cover[g] = leafCount ? leafCount[i] : Number.NaN;
        continue;
      }
      b.mode[g] = tree.mode[n];
      b.threshold[g] = tree.threshold[n];
      b.missingTracksTrue[g] = tree.missingTracksTrue[n];
      const f = tree.feature[n];
      const mapped = columns ? columns[f] : f;
      if (!Number.isInteger(mapped)) return `tree ${k} splits on Gather column ${f}, which does not exist`;
      b.feature[g] = mapped as number;
      b.trueChild[g] = local.get(tree.trueChild[n]) as number;
      b.falseChild[g] = local.get(tree.falseChild[n]) as number;
    }
    b.roots.push(offset);
  }
  if (!input) return 'no trees';
  const width = input.width ?? Math.max(...b.feature) + 1;
  const built = b.build(width, 'AVERAGE', 0);
  const trees = input.treesReadDouble ? { ...built, doubleInput: true } : built;
  try {
    checkStructure(trees);
  } catch (e) {
    return (e as Error).message;
  }
  const withCounts = counted ? sumCovers(trees) : trees;
  const ensemble = coversAreCounts(withCounts)
    ? withCounts
    : { ...trees, cover: trees.cover.fill(Number.NaN) };
  const sumOut = sum.output?.[0] ?? '';
  const rawOutputName = `${sumOut}#mean`;
  // The Sum is nTrees × the mean the ensemble averages.
  const served = tailsFrom(graph, sumOut, { kind: 'affine', a: ters.length, b: 0 });
  const scores = Object.values(served).filter((s) => s.tail.kind === 'pow2');
  if (scores.length === 0) return 'no score output of the form ±2^(−Sum/c) after the Sum';
  // decision_function = score_samples − offset_, written as Add(score_samples, −offset_).
  const decision = scores.find((s) => s.tail.kind === 'pow2' && s.tail.mult < 0 && s.tail.add !== 0);
  const sklearnOffset = decision?.tail.kind === 'pow2' ? -decision.tail.add : undefined;
  served[rawOutputName] = { tail: { kind: 'affine', a: 1, b: 0 }, tensor: rawOutputName, column: 0 };
  return {
    ensemble,
    inputName: input.name,
    inputType: input.type,
    rawOutputName,
    served,
    pow2Outputs: pow2Of(served),
    family: 'isolation-forest',
    explains: 'path-length',
    coverSource: Number.isFinite(ensemble.cover[0]) ? 'model' : 'none',
    ...(sklearnOffset !== undefined ? { sklearnOffset } : {}),
  };
}

/** The output of the LabelEncoder whose value is compared (c(n) tests n = 2, n > 2): the leaf's sample count. */
function sampleCountOutput(
  chain: readonly NodeProto[],
  producer: Map<string, NodeProto>,
): string | undefined {
  const found = new Set<string>();
  const inChain = new Set(chain);
  for (const n of chain) {
    if (!COMPARISONS.has(n.opType ?? '')) continue;
    for (const i of n.input ?? []) {
      let p = producer.get(i);
      while (p && PASS_THROUGH.has(p.opType ?? '')) p = producer.get(p.input?.[0] ?? '');
      if (p?.opType === 'LabelEncoder' && inChain.has(p) && p.output?.[0]) found.add(p.output[0]);
    }
  }
  return found.size === 1 ? [...found][0] : undefined;
}

/** Nodes of a one-tree ensemble, root first (parents before children). */
function localOrder(t: TreeEnsemble): number[] {
  const order: number[] = [];
  const stack = [t.roots[0]];
  while (stack.length > 0) {
    const n = stack.pop() as number;
    order.push(n);
    if (t.mode[n] !== NodeMode.LEAF) stack.push(t.falseChild[n], t.trueChild[n]);
  }
  return order;
}

/** Interior covers as the sum of their children's (leaf counts given); parents precede children. */
function sumCovers(t: TreeEnsemble): TreeEnsemble {
  const cover = Float64Array.from(t.cover);
  for (let n = cover.length - 1; n >= 0; n--) {
    if (t.mode[n] !== NodeMode.LEAF) cover[n] = cover[t.trueChild[n]] + cover[t.falseChild[n]];
  }
  return { ...t, cover };
}
