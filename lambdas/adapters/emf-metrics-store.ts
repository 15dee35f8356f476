import { LAMBDA_METRICS, METRIC_DIMENSIONS, METRICS, modelVersionDimension } from '#contracts';
import type { ReleaseMetricsReader } from '#core/release/ports.ts';
import type { VersionReadings, VersionRef } from '#core/release/types.ts';

/** One value of one metric under one dimension set, at a time. */
interface Point {
  readonly t: number;
  readonly name: string;
  readonly dims: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Dimensions every Vigil record carries that a per-version query does not name. */
const AMBIENT = [METRIC_DIMENSIONS.service, METRIC_DIMENSIONS.environment] as const;
const LAMBDA_AMBIENT = [LAMBDA_METRICS.dimensions.functionName, LAMBDA_METRICS.dimensions.resource] as const;

/**
 * CloudWatch's local stand-in for a release's judgement: the EMF records the handlers write
 * (each value kept under each of its record's dimension sets, as CloudWatch extracts them) and the
 * Lambda-like `Invocations` / `Errors` / `Duration` the twin's router records per invocation under
 * `ExecutedVersion`. Reads sum counts and take an exact nearest-rank p99 over a window.
 *
 * In memory and bounded (`maxPoints`, oldest dropped first): the twin feeds it as lines are
 * written, so a judgement never waits on a log file being flushed.
 */
export class EmfMetricsStore implements ReleaseMetricsReader {
  #points: Point[] = [];
  readonly #maxPoints: number;
  readonly #now: () => number;
  readonly #keepSet: (names: readonly string[]) => boolean;

  constructor(
    opts: {
      readonly maxPoints?: number;
      readonly now?: () => number;
      /** Which dimension sets of an ingested record to keep (the twin keeps the per-version ones). @default all */
      readonly keepSet?: (names: readonly string[]) => boolean;
    } = {},
  ) {
    this.#maxPoints = opts.maxPoints ?? 200_000;
    this.#now = opts.now ?? Date.now;
    this.#keepSet = opts.keepSet ?? (() => true);
  }

  /** Takes one EMF record (object or JSON line); anything that is not EMF is ignored. */
  ingest(record: unknown): void {
    let r = record;
    if (typeof r === 'string') {
      if (!r.startsWith('{"_aws"')) return;
      try {
        r = JSON.parse(r);
      } catch {
        return;
      }
    }
    const rec = r as Record<string, unknown> & {
      _aws?: {
        Timestamp?: number;
        CloudWatchMetrics?: Array<{ Dimensions?: string[][]; Metrics?: Array<{ Name?: string }> }>;
      };
    };
    const aws = rec?._aws;
    if (!aws || !Array.isArray(aws.CloudWatchMetrics)) return;
    const t = typeof aws.Timestamp === 'number' ? aws.Timestamp : this.#now();
    for (const directive of aws.CloudWatchMetrics) {
      const sets = directive.Dimensions?.length ? directive.Dimensions : [[]];
      for (const m of directive.Metrics ?? []) {
        if (!m.Name) continue;
        const raw = rec[m.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
        for (const names of sets) {
          if (!this.#keepSet(names)) continue;
          const dims: Record<string, string> = {};
          for (const n of names) if (typeof rec[n] === 'string') dims[n] = rec[n] as string;
          for (const value of values) this.#push({ t, name: m.Name, dims, value });
        }
      }
    }
  }

  /** Records one value directly (the twin's router: Lambda's own metrics). */
  record(name: string, dims: Readonly<Record<string, string>>, value: number, at = this.#now()): void {
    this.#push({ t: at, name, dims: { ...dims }, value });
  }

  /**
   * Values of `name` in [from, to) whose dimension set holds `dims` and nothing else beyond
   * `ambient` (CloudWatch names a metric by its exact dimension set).
   */
  values(
    name: string,
    dims: Readonly<Record<string, string>>,
    from: Date,
    to: Date,
    ambient: readonly string[] = AMBIENT,
  ): number[] {
    const lo = from.getTime();
    const hi = to.getTime();
    const keys = Object.keys(dims);
    const out: number[] = [];
    for (const p of this.#points) {
      if (p.name !== name || p.t < lo || p.t >= hi) continue;
      if (!keys.every((k) => p.dims[k] === dims[k])) continue;
      if (!Object.keys(p.dims).every((k) => k in dims || ambient.includes(k))) continue;
      out.push(p.value);
    }
    return out;
  }

  async read(query: {
    readonly model: string;
    readonly blue: VersionRef;
    readonly green: VersionRef;
    readonly from: Date;
    readonly to: Date;
  }): Promise<{ readonly blue: VersionReadings; readonly green: VersionReadings }> {
    return {
      blue: this.#readings(query.model, query.blue, query.from, query.to),
      green: this.#readings(query.model, query.green, query.from, query.to),
    };
  }

  #readings(model: string, v: VersionRef, from: Date, to: Date): VersionReadings {
    const byVersion = { [METRIC_DIMENSIONS.modelVersion]: modelVersionDimension(model, v.modelVersion) };
    const byExecuted = { [LAMBDA_METRICS.dimensions.executedVersion]: v.functionVersion };
    const sum = (name: string) => this.values(name, byVersion, from, to).reduce((a, b) => a + b, 0);
    const lambda = (name: string) => this.values(name, byExecuted, from, to, LAMBDA_AMBIENT);
    const durations = lambda(LAMBDA_METRICS.duration);
    const p99 = nearestRank(durations, 0.99);
    return {
      ...v,
      invocations: lambda(LAMBDA_METRICS.invocations).reduce((a, b) => a + b, 0),
      errors: lambda(LAMBDA_METRICS.errors).reduce((a, b) => a + b, 0),
      serverErrors: sum(METRICS.serverErrors),
      dependencyErrors: sum(METRICS.dependencyErrors),
      ...(p99 !== undefined ? { p99DurationMs: p99 } : {}),
      rowsScored: sum(METRICS.rowsScored),
      anomalies: sum(METRICS.anomalies),
      captureErrors: sum(METRICS.capturesParked) + sum(METRICS.capturesLost),
    };
  }

  #push(p: Point): void {
    this.#points.push(p);
    // Drop the oldest tenth at once: amortised O(1) per point.
    if (this.#points.length > this.#maxPoints)
      this.#points = this.#points.slice(Math.ceil(this.#maxPoints / 10));
  }
}

/** The nearest-rank percentile (the smallest value with at least q of the values at or below it). */
export function nearestRank(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1];
}
