import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TABLE_KEYS } from '#contracts';
import type { DriftReport, FeatureReport } from '#core/drift/report.ts';
import type { DriftReportStore, ReportDetail, StoredDriftReport } from '#core/ports.ts';

export interface DynamoDriftReportStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /**
   * Most bytes of the serialised report kept in one item. DynamoDB's item
   * limit is 400 KB including the keys and summary attributes, hence the margin.
   * @default 350_000
   */
  readonly maxReportBytes?: number;
}

/** `REPORT#<iso>#<id>`: sorts by evaluation time, unique per report. */
export const reportSortKey = (createdAt: string, id: string): string =>
  `REPORT#${new Date(createdAt).toISOString()}#${id}`;

/**
 * Fields of a test result worth keeping when the full numbers do not fit (voting is config; a
 * distance's threshold is not: it comes from its null distribution at the window's size).
 */
const HEADLINE = [
  'statistic',
  'pvalue',
  'pvalueAdjusted',
  'normalized',
  'value',
  'threshold',
  'drift',
  'skipped',
] as const;

/** Numbers to 4 significant digits, recursively: enough to read a report, a third of the bytes. */
function round4<T>(v: T): T {
  if (typeof v === 'number') return (Number.isFinite(v) ? Number(v.toPrecision(4)) : v) as T;
  if (Array.isArray(v)) return v.map(round4) as T;
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round4(x)])) as T;
  }
  return v;
}

type StoredFeatures = StoredDriftReport['features'];

function summarizeTests(features: DriftReport['features']): StoredFeatures {
  const out: StoredFeatures = {};
  for (const [name, f] of Object.entries(features)) {
    const tests: Record<string, Record<string, unknown>> = {};
    for (const [t, r] of Object.entries(f.tests)) {
      const kept: Record<string, unknown> = {};
      for (const k of HEADLINE) if (k in r) kept[k] = (r as Record<string, unknown>)[k];
      tests[t] = kept;
    }
    out[name] = round4({ ...f, tests: tests as FeatureReport['tests'] });
  }
  return out;
}

function verdicts(features: DriftReport['features']): StoredFeatures {
  const out: StoredFeatures = {};
  for (const [name, f] of Object.entries(features)) {
    // Verdicts are the fallback for very wide reports: the distributions go with the tests, and the
    // rule's detail (levels, consensus count) stays in the fuller levels (drifted and votes are the verdict).
    const { tests: _tests, voters: _voters, distribution: _distribution, rule: _rule, ...rest } = f;
    out[name] = round4(rest);
  }
  return out;
}

/** JSON with NaN/±Infinity as null (JSON has no such numbers; DynamoDB refuses them as N). */
const serialise = (v: unknown): string => JSON.stringify(v);
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Fits a report into `maxBytes` of JSON, keeping as much detail as fits:
 * full → test headlines → verdicts → verdicts of the most drifted features.
 * 50 features fit in full (a few KB each); thousands of features degrade.
 */
export function fitReport(
  report: DriftReport,
  meta: { id: string; createdAt: string },
  maxBytes: number,
): { stored: StoredDriftReport; json: string } {
  const attempt = (detail: ReportDetail, features: StoredFeatures, omitted = 0) => {
    const stored: StoredDriftReport = { ...report, ...meta, detail, omittedFeatures: omitted, features };
    return { stored, json: serialise(stored) };
  };
  for (const [detail, features] of [
    ['full', report.features],
    ['summary', summarizeTests(report.features)],
  ] as const) {
    const r = attempt(detail, features);
    if (bytes(r.json) <= maxBytes) return r;
  }
  const all = verdicts(report.features);
  const r = attempt('verdicts', all);
  if (bytes(r.json) <= maxBytes) return r;
  // Keep the features that matter most to a reader: drifted first, then by vote share.
  const ranked = Object.entries(all).sort(
    ([, a], [, b]) => Number(b.drifted) - Number(a.drifted) || (b.score ?? 0) - (a.score ?? 0),
  );
  const base = bytes(attempt('partial', {}, ranked.length).json);
  const kept: StoredFeatures = {};
  let size = base;
  for (const [name, f] of ranked) {
    const add = bytes(serialise({ [name]: f })) + 1;
    if (size + add > maxBytes) break;
    kept[name] = f;
    size += add;
  }
  return attempt('partial', kept, ranked.length - Object.keys(kept).length);
}

/**
 * `DriftReportStore` over the DynamoDB drift table: `PK=MODEL#<name>`,
 * `SK=REPORT#<iso>#<id>`, the report as a JSON string (reports hold NaN for
 * undefined statistics, which a DynamoDB number cannot) beside top-level
 * summary attributes (status, drift, driftedShare, version, detail).
 */
export class DynamoDriftReportStore implements DriftReportStore {
  readonly #o: Required<DynamoDriftReportStoreOptions>;

  constructor(opts: DynamoDriftReportStoreOptions) {
    this.#o = { maxReportBytes: 350_000, ...opts };
  }

  async put(
    report: DriftReport,
    opts: { readonly id?: string; readonly createdAt?: string } = {},
  ): Promise<StoredDriftReport> {
    const id = opts.id ?? randomUUID();
    const createdAt = new Date(opts.createdAt ?? Date.now()).toISOString();
    const { stored, json } = fitReport(report, { id, createdAt }, this.#o.maxReportBytes);
    await this.#o.client.send(
      new PutCommand({
        TableName: this.#o.tableName,
        Item: {
          [TABLE_KEYS.partitionKey]: `MODEL#${report.model}`,
          [TABLE_KEYS.sortKey]: reportSortKey(createdAt, id),
          id,
          model: report.model,
          version: report.version,
          createdAt,
          status: report.status,
          drift: report.drift,
          driftedShare: report.driftedShare,
          detail: stored.detail,
          report: json,
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
      }),
    );
    // Hand back what a reader will see (NaN → null), not the in-memory object.
    return JSON.parse(json) as StoredDriftReport;
  }

  async list(model: string, opts: { readonly limit?: number } = {}): Promise<StoredDriftReport[]> {
    const limit = Math.max(1, Math.floor(opts.limit ?? 10));
    const out: StoredDriftReport[] = [];
    let key: Record<string, unknown> | undefined;
    do {
      const res = await this.#o.client.send(
        new QueryCommand({
          TableName: this.#o.tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#sk': TABLE_KEYS.sortKey },
          ExpressionAttributeValues: { ':pk': `MODEL#${model}`, ':prefix': 'REPORT#' },
          ScanIndexForward: false,
          Limit: limit - out.length,
          ExclusiveStartKey: key,
        }),
      );
      for (const item of res.Items ?? []) {
        if (typeof item.report === 'string') out.push(JSON.parse(item.report) as StoredDriftReport);
      }
      key = res.LastEvaluatedKey;
      // A 1 MB page can end before `limit` items when reports are large: keep reading.
    } while (key && out.length < limit);
    return out;
  }
}
