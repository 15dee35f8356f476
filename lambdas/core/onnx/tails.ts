import { graphConstants } from './graph-eval.ts';
import type { GraphProto } from './proto.ts';

/**
 * How a graph output follows from the raw ensemble value r:
 * `affine` a·r + b; `pow2` mult·2^(k·r) + add (isolation-forest scores: Vigil's
 * `2^(−E[h]/c(ψ))`, scikit-learn's `score_samples = −2^(…)` and `decision_function`);
 * `logistic` 1/(1 + e^(−r)) (a boosted classifier's positive-class probability).
 */
export type Tail =
  | { readonly kind: 'affine'; readonly a: number; readonly b: number }
  | { readonly kind: 'pow2'; readonly mult: number; readonly k: number; readonly add: number }
  | { readonly kind: 'logistic' };

export interface ServedOutput {
  readonly tail: Tail;
  /** Graph tensor onnxruntime-web returns the value in … */
  readonly tensor: string;
  /** … and its column (1 for a classifier's positive-class probability). */
  readonly column: number;
}

/** The output value for raw value `r`. */
export function applyTail(t: Tail, r: number): number {
  switch (t.kind) {
    case 'affine':
      return t.a * r + t.b;
    case 'pow2':
      return t.mult * 2 ** (t.k * r) + t.add;
    default:
      return 1 / (1 + Math.exp(-r));
  }
}

/** The raw value an output value `y` came from (inverse of `applyTail`; every tail is monotone). */
export function invertTail(t: Tail, y: number): number {
  switch (t.kind) {
    case 'affine':
      return (y - t.b) / t.a;
    case 'pow2':
      return Math.log2((y - t.add) / t.mult) / t.k;
    default:
      return Math.log(y / (1 - y));
  }
}

/** Whether a larger raw value gives a larger output. */
export function tailIncreasing(t: Tail): boolean {
  if (t.kind === 'affine') return t.a > 0;
  if (t.kind === 'pow2') return t.mult * t.k > 0;
  return true;
}

const SAME_VALUE = new Set(['Identity', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten']);

/**
 * Follows elementwise ops with one scalar-constant operand from `start` (whose value
 * is `form` of the raw value) and returns every graph output reached, with its form.
 * Recognised: Add, Sub, Mul, Div by a constant, Neg, Pow(base, ·), shape-only ops and
 * a Cast to float/double; any other consumer ends that branch.
 */
export function tailsFrom(graph: GraphProto, start: string, form: Tail): Record<string, ServedOutput> {
  const consts = graphConstants(graph);
  const scalar = (name: string | undefined): number | undefined => {
    const c = name === undefined ? undefined : consts.get(name);
    return c && c.length === 1 ? c[0] : undefined;
  };
  const known = new Map<string, Tail>([[start, form]]);
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  for (const n of graph.node ?? []) {
    if ((n.domain ?? '') !== '') continue;
    const ins = n.input ?? [];
    const out = n.output?.[0];
    if (!out) continue;
    const i = ins.findIndex((x) => known.has(x));
    if (i < 0) continue;
    const f = known.get(ins[i]) as Tail;
    const other = ins.length === 2 ? scalar(ins[1 - i]) : undefined;
    const next = step(n.opType ?? '', f, i, other, ins.length, n.attribute?.find((a) => a.name === 'to')?.i);
    if (next) known.set(out, next);
  }
  const served: Record<string, ServedOutput> = {};
  for (const [name, tail] of known) if (outputs.has(name)) served[name] = { tail, tensor: name, column: 0 };
  return served;
}

function step(
  op: string,
  f: Tail,
  at: number,
  c: number | undefined,
  arity: number,
  castTo: unknown,
): Tail | undefined {
  if (SAME_VALUE.has(op)) return at === 0 ? f : undefined;
  if (op === 'Cast') return Number(castTo) === 1 || Number(castTo) === 11 ? f : undefined;
  if (f.kind === 'logistic') return undefined;
  const scale = (m: number): Tail =>
    f.kind === 'affine'
      ? { kind: 'affine', a: f.a * m, b: f.b * m }
      : { ...f, mult: f.mult * m, add: f.add * m };
  const shift = (d: number): Tail => (f.kind === 'affine' ? { ...f, b: f.b + d } : { ...f, add: f.add + d });
  if (op === 'Neg' && arity === 1) return scale(-1);
  if (c === undefined) return undefined;
  switch (op) {
    case 'Add':
      return shift(c);
    case 'Sub':
      return at === 0
        ? shift(-c)
        : (() => {
            const neg = scale(-1);
            return neg.kind === 'affine'
              ? { ...neg, b: neg.b + c }
              : neg.kind === 'pow2'
                ? { ...neg, add: neg.add + c }
                : undefined;
          })();
    case 'Mul':
      return scale(c);
    case 'Div':
      return at === 0 ? scale(1 / c) : undefined;
    case 'Pow':
      // base^(a·r + b) = base^b · 2^(a·log2(base)·r)
      if (at !== 1 || f.kind !== 'affine' || !(c > 0)) return undefined;
      return { kind: 'pow2', mult: c ** f.b, k: f.a * Math.log2(c), add: 0 };
    default:
      return undefined;
  }
}
