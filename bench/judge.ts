/**
 * How the bench judges a goal, the same way in every module (issue 16: "a bench whose claims
 * hold on a busy machine"):
 *
 * - every figure is measured in repeated **rounds** and reported as the median with its spread
 *   (min–max over rounds), never one good run;
 * - a goal stated as a **ratio** against a baseline measured in the same run is judged on the
 *   median ratio, at any load (both sides slow down together);
 * - a goal stated in **absolute** units (µs, ms, s) is judged on the median, and only when the
 *   machine's 1-minute load stayed ≤ `BUSY_LOAD` while it was measured; otherwise the verdict is
 *   "not judged: busy (load x)". A ✔ is never printed that a busy re-run would take back.
 *
 * Modules build rows with `goalRow` (or read `judge` directly) so the README's tables can be
 * regenerated from one run with the ratios, spreads and load they were taken at.
 */
import os from 'node:os';

/** Above this 1-minute load average an absolute (time) goal is not judged. */
export const BUSY_LOAD = 1.5;

/** Repeated measurements of one figure. */
export interface Rounds {
  readonly values: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** The 1-minute load average now. */
export const loadNow = (): number => os.loadavg()[0];

export function summarize(values: readonly number[]): Rounds {
  if (values.length === 0) throw new Error('summarize: no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { values: s, median, min: s[0], max: s[s.length - 1] };
}

/** The load seen while `fn` ran: the highest of the 1-minute averages sampled before and after. */
export async function underLoad<T>(fn: () => Promise<T> | T): Promise<{ result: T; load: number }> {
  const before = loadNow();
  const result = await fn();
  return { result, load: Math.max(before, loadNow()) };
}

/**
 * Runs `measure` `n` times (each call returns one figure, e.g. µs/row of one pass) and
 * summarizes them, with the load seen across all rounds.
 */
export async function rounds(
  n: number,
  measure: (round: number) => Promise<number> | number,
): Promise<Rounds & { readonly load: number }> {
  const values: number[] = [];
  let load = loadNow();
  for (let i = 0; i < n; i++) {
    values.push(await measure(i));
    load = Math.max(load, loadNow());
  }
  return { ...summarize(values), load };
}

/** Element-wise ratio of paired rounds (baseline[i] / subject[i] for `speedup`), summarized. */
export function pairedRatio(numerator: Rounds, denominator: Rounds): Rounds {
  const n = Math.min(numerator.values.length, denominator.values.length);
  if (n === 0) throw new Error('pairedRatio: no rounds');
  // Rounds are sorted by summarize: pair medians with medians by re-pairing in order is not
  // meaningful, so the ratio's spread is bounded conservatively by the extremes.
  return {
    values: [
      numerator.min / denominator.max,
      numerator.median / denominator.median,
      numerator.max / denominator.min,
    ],
    median: numerator.median / denominator.median,
    min: numerator.min / denominator.max,
    max: numerator.max / denominator.min,
  };
}

export type Goal =
  | {
      readonly kind: 'ratio';
      /** e.g. '≥ 3× onnxruntime-web' */
      readonly text: string;
      readonly target: number;
      readonly better: 'higher' | 'lower';
    }
  | {
      readonly kind: 'absolute';
      /** e.g. '≤ 1 µs/row' */
      readonly text: string;
      readonly target: number;
      readonly better: 'higher' | 'lower';
    };

export type Verdict = '✔' | '✗' | `not judged: busy (load ${string})`;

const meets = (goal: Goal, v: number) => (goal.better === 'lower' ? v <= goal.target : v >= goal.target);

/** The verdict on a goal from its rounds (ratio goals at any load; absolute ones only when quiet). */
export function judge(goal: Goal, measured: Rounds, load: number): Verdict {
  if (goal.kind === 'absolute' && load > BUSY_LOAD) return `not judged: busy (load ${load.toFixed(2)})`;
  return meets(goal, measured.median) ? '✔' : '✗';
}

/** `1.23 (1.10–1.31)`: median and the min–max over rounds. */
export function withSpread(r: Rounds, digits = 2): string {
  const f = (v: number) =>
    Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(digits);
  return `${f(r.median)} (${f(r.min)}–${f(r.max)})`;
}

/** Column headers for goal rows, in the order `goalRow` fills them. */
export const GOAL_COLUMNS = ['goal', 'measured: median (min–max)', 'rounds', 'load', 'verdict'] as const;

/** One row of a goal table: the goal, what was measured with its spread, the load and the verdict. */
export function goalRow(goal: Goal, measured: Rounds, load: number, unit = ''): string[] {
  return [
    goal.text,
    `${withSpread(measured)}${unit ? ` ${unit}` : ''}`,
    String(measured.values.length),
    load.toFixed(2),
    judge(goal, measured, load),
  ];
}
