import { UnsupportedModelError } from '#core/errors.ts';
import { DataType } from './data-type.ts';
import type { AttributeProto, GraphProto, NodeProto, TensorProto } from './proto.ts';

/**
 * A scalar interpreter for the elementwise post-processing that converters hang
 * after a tree ensemble (skl2onnx's isolation forest: leaf id → LabelEncoder →
 * the c(n) correction). Folding evaluates that subgraph once per leaf, in
 * float64, so the folded ensemble's leaf values are what the graph computes,
 * read from the graph itself and never re-derived from a formula.
 */

export const toNum = (v: unknown): number =>
  typeof v === 'number'
    ? v
    : typeof v === 'object' && v && 'toNumber' in v
      ? (v as { toNumber(): number }).toNumber()
      : Number(v);

const DT = DataType;

/** The numbers a tensor holds (float, double, int32/64, uint8, bool; raw or typed fields). */
export function tensorNumbers(t: TensorProto, what = t.name ?? 'tensor'): number[] {
  if (t.floatData && t.floatData.length > 0) return t.floatData.map(Number);
  if (t.doubleData && t.doubleData.length > 0) return t.doubleData.map(Number);
  if (t.int32Data && t.int32Data.length > 0) return t.int32Data.map(Number);
  if (t.int64Data && t.int64Data.length > 0) return t.int64Data.map(toNum);
  const raw = t.rawData;
  if (!raw || raw.length === 0) return [];
  const width: Record<number, number> = {
    [DT.FLOAT]: 4,
    [DT.DOUBLE]: 8,
    [DT.INT64]: 8,
    [DT.INT32]: 4,
    [DT.UINT8]: 1,
    [DT.BOOL]: 1,
  };
  const w = width[t.dataType ?? 0];
  if (w === undefined)
    throw new UnsupportedModelError(`unsupported tensor data type ${t.dataType} in ${what}`);
  if (raw.byteLength % w !== 0) {
    throw new UnsupportedModelError(`${what} has ${raw.byteLength} bytes, not a whole number of values`);
  }
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  switch (t.dataType) {
    case DT.FLOAT:
      return Array.from(new Float32Array(buf));
    case DT.DOUBLE:
      return Array.from(new Float64Array(buf));
    case DT.INT64:
      return Array.from(new BigInt64Array(buf), Number);
    case DT.INT32:
      return Array.from(new Int32Array(buf));
    default:
      return Array.from(new Uint8Array(buf));
  }
}

/** Constant tensors of the graph (initializers and `Constant` nodes), by name. */
export function graphConstants(graph: GraphProto): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const init of graph.initializer ?? []) {
    try {
      if (init.name) out.set(init.name, tensorNumbers(init));
    } catch {
      // A constant of a type no folded op reads (e.g. strings): leave it out.
    }
  }
  for (const n of graph.node ?? []) {
    if (n.opType !== 'Constant' || (n.domain ?? '') !== '') continue;
    const a = (n.attribute ?? []).find(
      (x) => x.name === 'value' || x.name === 'value_float' || x.name === 'value_int',
    );
    const name = n.output?.[0];
    if (!a || !name) continue;
    if (a.t) out.set(name, tensorNumbers(a.t));
    else if (a.name === 'value_float') out.set(name, [Number(a.f ?? 0)]);
    else out.set(name, [toNum(a.i ?? 0)]);
  }
  return out;
}

const attr = (n: NodeProto, name: string): AttributeProto | undefined =>
  (n.attribute ?? []).find((a) => a.name === name);

/** Elementwise ops the interpreter evaluates on scalars. */
export const SCALAR_OPS = new Set([
  'Identity',
  'Reshape',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Cast',
  'LabelEncoder',
  'Equal',
  'Greater',
  'Less',
  'GreaterOrEqual',
  'LessOrEqual',
  'Not',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Max',
  'Min',
  'Log',
  'Exp',
  'Neg',
  'Abs',
  'Sqrt',
  'Pow',
  'Reciprocal',
  'Where',
]);

const bool = (v: boolean): number => (v ? 1 : 0);

/** Inputs of a shape-only op that are shapes/axes, not data. */
const SHAPE_ONLY = new Set(['Identity', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten']);

/**
 * Evaluates `node` on scalar inputs (`inputs[i]` is the value of `node.input[i]`;
 * shape operands of Reshape/Squeeze/Unsqueeze are ignored).
 * @throws UnsupportedModelError for an op outside SCALAR_OPS
 */
export function evalScalarNode(node: NodeProto, inputs: readonly number[]): number {
  const a = inputs[0];
  const b = inputs[1];
  switch (node.opType) {
    case 'Identity':
    case 'Reshape':
    case 'Squeeze':
    case 'Unsqueeze':
    case 'Flatten':
      return a;
    case 'Cast': {
      const to = toNum(attr(node, 'to')?.i ?? 0);
      if (to === DT.INT64 || to === DT.INT32) return Math.trunc(a);
      if (to === DT.BOOL) return bool(a !== 0);
      return a;
    }
    case 'LabelEncoder':
      return labelEncode(node, a);
    case 'Equal':
      return bool(a === b);
    case 'Greater':
      return bool(a > b);
    case 'Less':
      return bool(a < b);
    case 'GreaterOrEqual':
      return bool(a >= b);
    case 'LessOrEqual':
      return bool(a <= b);
    case 'Not':
      return bool(a === 0);
    case 'Add':
      return a + b;
    case 'Sub':
      return a - b;
    case 'Mul':
      return a * b;
    case 'Div':
      return a / b;
    case 'Max':
      return Math.max(...inputs);
    case 'Min':
      return Math.min(...inputs);
    case 'Log':
      return Math.log(a);
    case 'Exp':
      return Math.exp(a);
    case 'Neg':
      return -a;
    case 'Abs':
      return Math.abs(a);
    case 'Sqrt':
      return Math.sqrt(a);
    case 'Pow':
      return a ** b;
    case 'Reciprocal':
      return 1 / a;
    case 'Where':
      return a !== 0 ? b : inputs[2];
    default:
      throw new UnsupportedModelError(`op ${node.opType} cannot be folded into the trees`);
  }
}

const labelTables = new WeakMap<NodeProto, { map: Map<number, number>; fallback: number }>();

function labelEncode(node: NodeProto, key: number): number {
  let table = labelTables.get(node);
  if (!table) {
    const keys =
      attr(node, 'keys_int64s')?.ints?.map(toNum) ?? attr(node, 'keys_floats')?.floats?.map(Number) ?? [];
    const valuesF = attr(node, 'values_floats')?.floats?.map(Number);
    const valuesI = attr(node, 'values_int64s')?.ints?.map(toNum);
    const values = valuesF && valuesF.length > 0 ? valuesF : (valuesI ?? []);
    if (keys.length === 0 || keys.length !== values.length) {
      throw new UnsupportedModelError(
        'LabelEncoder needs numeric keys and values of equal length to be folded',
      );
    }
    const fallback =
      valuesF && valuesF.length > 0
        ? Number(attr(node, 'default_float')?.f ?? -0)
        : toNum(attr(node, 'default_int64')?.i ?? -1);
    table = { map: new Map(keys.map((k, i) => [k, values[i]])), fallback };
    labelTables.set(node, table);
  }
  return table.map.get(key) ?? table.fallback;
}

/**
 * The values `targets` take when `start` holds each of `values`, evaluating `nodes`
 * (in graph order, which ONNX guarantees is topological) on scalars, all values at
 * once; every other operand must be a one-element constant.
 * @returns one array per target, aligned with `values`
 * @throws UnsupportedModelError when an operand is neither computed nor a scalar constant
 */
export function evalScalarChain(
  nodes: readonly NodeProto[],
  consts: ReadonlyMap<string, number[]>,
  start: string,
  values: readonly number[],
  targets: readonly string[],
): number[][] {
  const m = values.length;
  const env = new Map<string, readonly number[]>([[start, values]]);
  for (const n of nodes) {
    const ins = n.input ?? [];
    const operands: Array<readonly number[] | number> = [];
    for (let i = 0; i < ins.length; i++) {
      if (SHAPE_ONLY.has(n.opType ?? '') && i > 0) continue;
      const name = ins[i];
      if (name === '') continue;
      const v = env.get(name);
      if (v !== undefined) {
        operands.push(v);
        continue;
      }
      const c = consts.get(name);
      if (c?.length !== 1) {
        throw new UnsupportedModelError(
          `input '${name}' of ${n.opType} is neither the tree's value nor a scalar constant`,
        );
      }
      operands.push(c[0]);
    }
    const out = n.output?.[0];
    if (!out) continue;
    const result = new Array<number>(m);
    const args = new Array<number>(operands.length);
    for (let j = 0; j < m; j++) {
      for (let k = 0; k < operands.length; k++) {
        const o = operands[k];
        args[k] = typeof o === 'number' ? o : o[j];
      }
      result[j] = evalScalarNode(n, args);
    }
    env.set(out, result);
  }
  return targets.map((t) => {
    const r = env.get(t);
    if (r === undefined) throw new UnsupportedModelError(`'${t}' does not follow from the tree's output`);
    return [...r];
  });
}
