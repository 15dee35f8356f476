/** The v1 API from the console: same origin, the key from session storage, errors with the API's code. */

const KEY = 'vigil.apiKey';

export const getKey = (): string => sessionStorage.getItem(KEY) ?? '';
export const setKey = (k: string): void =>
  k ? sessionStorage.setItem(KEY, k) : sessionStorage.removeItem(KEY);

/** An error as the API reports it: `{ error: { code, message } }` plus the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
  /** The route needs an admin-scoped key and this one is not (the API's own refusal). */
  get needsAdmin(): boolean {
    return this.status === 403 && this.details?.requiredScope === 'admin';
  }
  /** API Gateway's (and the twin's) answer for a route this deployment does not have. */
  get noRoute(): boolean {
    return this.status === 404 && this.code === 'NotFound' && this.message.startsWith('No route');
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  const key = getKey();
  if (key) headers['x-api-key'] = key;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  } catch (e) {
    throw new ApiError(0, 'NetworkError', (e as Error).message);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(
      res.status,
      'BadResponse',
      `the API answered ${res.status} with a body that is not JSON`,
    );
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })
      .error;
    throw new ApiError(
      res.status,
      err?.code ?? `HTTP${res.status}`,
      err?.message ?? res.statusText,
      err?.details,
    );
  }
  return body as T;
}

/** What the key in use may do: `admin`, `score`, or `unknown` (the probe could not tell). */
export type KeyScope = 'admin' | 'score' | 'unknown';

let probed: { key: string; scope: Promise<KeyScope> } | undefined;
/**
 * The scope of the key in use, asked of the API once per key: an admin-only read (the model's
 * newest capture) answers 200 to an admin key and 403 naming `requiredScope: admin` to any
 * other. The console hides admin actions from a score key; the API refuses them either way.
 */
export function keyScope(model: string): Promise<KeyScope> {
  const key = getKey();
  if (probed?.key !== key) {
    const scope = api(`/v1/models/${encodeURIComponent(model)}/captures?limit=1`).then(
      (): KeyScope => 'admin',
      (e): KeyScope => (e instanceof ApiError && e.needsAdmin ? 'score' : 'unknown'),
    );
    probed = { key, scope };
  }
  return probed.scope;
}

export interface CapturedRow {
  at: string;
  version: number;
  requestId: string;
  index: number;
  features: Record<string, number>;
  score: number;
  anomaly: boolean;
}

export interface ReleaseReadings {
  modelVersion: number;
  functionVersion: string;
  invocations: number;
  errors: number;
  serverErrors: number;
  dependencyErrors: number;
  p99DurationMs?: number;
  rowsScored: number;
  anomalies: number;
}
export interface Release {
  model: string;
  releaseId: string;
  candidateVersion: number;
  baselineVersion: number;
  /** How green is expected to differ from blue (the candidate's evaluation); absent on older releases. */
  expected?: { anomalyRateRatio: number; scoreKsD: number; source: string; detail: string };
  policy: string;
  phase: string;
  weight: number;
  step: number;
  startedAt: string;
  updatedAt: string;
  endedAt?: string;
  startedBy: string;
  outcome?: { reason: string; breaches?: Array<{ signal: string; [k: string]: unknown }> };
  judgements: Array<{
    at: string;
    step: number;
    phase: string;
    weight: number;
    window: { from: string; to: string };
    blue?: ReleaseReadings;
    green?: ReleaseReadings;
    /** `expectedRatio`/`expectedD`/`limitD` are absent on judgements recorded before expected differences. */
    anomalyRate?: {
      blue: number;
      green: number;
      ratio: number;
      expectedRatio?: number;
      z: number;
      pValue: number;
    };
    scoreKs?: {
      d: number;
      pValue: number;
      nBlue: number;
      nGreen: number;
      expectedD?: number;
      limitD?: number;
    };
    decision: string;
    breaches: Array<{ signal: string; value: number; limit: number; detail?: string }>;
  }>;
}
export interface RetrainingRun {
  executionArn: string;
  name: string;
  status: string;
  step?: string;
  trigger?: string;
  startDate: string;
  stopDate?: string;
  error?: string;
  cause?: string;
}

/** One top-level state an execution entered (`GET …/retraining/{executionName}`). */
export interface ExecutionStep {
  name: string;
  type: string;
  enteredAt: string;
  exitedAt?: string;
  outcome: 'running' | 'succeeded' | 'failed' | 'caught' | 'aborted' | 'timed-out';
  error?: string;
  cause?: string;
  next?: string;
  retries: number;
}
export interface RetrainingRunDetail extends RetrainingRun {
  steps: ExecutionStep[];
  historyTruncated: boolean;
}

export interface ModelSummary {
  name: string;
  createdAt: string;
  latestVersion: number;
  aliases: Record<string, number>;
}
export interface ModelVersion {
  name: string;
  version: number;
  approval: string;
  registeredAt: string;
  registeredBy: string;
  metrics: Record<string, number>;
  lineage: {
    parentVersion?: number;
    dataWindow?: { from: string; to: string } | null;
    driftReportId?: string;
  };
  summary: { algorithm?: string; threshold?: number; features?: string[] };
}
export interface Describe {
  model: string;
  aliases: Record<string, number>;
  revisions: Record<string, number>;
  versions: ModelVersion[];
}
export interface HistoryEvent {
  id: string;
  at: string;
  type: string;
  actor: string;
  reason?: string;
  version?: number;
  alias?: string;
  from?: number;
  to?: number;
}
export interface TestOutcome {
  drift?: boolean;
  voting?: boolean;
  skipped?: string;
  [k: string]: unknown;
}
export interface FeatureReport {
  status: string;
  n: number;
  nReference: number;
  tests: Record<string, TestOutcome>;
  votes: number;
  voters: string[];
  minVotes: number;
  /** Absent on reports written before the KS-or-consensus rule. */
  rule?: {
    kind: 'ks-or-consensus' | 'consensus';
    alpha: number;
    consensusAlpha: number;
    consensusVotes: number;
  };
  effect: { wassersteinNormalized: number; ksStatistic: number; floorMet: boolean };
  drifted: boolean;
  /** Both distributions, compact (reports stored before it existed have none). */
  distribution?: {
    probabilities: number[];
    reference: number[];
    current: number[];
    edges: number[];
    countsReference: number[];
    countsCurrent: number[];
  };
}
export interface DriftReport {
  model: string;
  version: number;
  window: { from: string; to: string };
  n: number;
  status: string;
  features: Record<string, FeatureReport>;
  driftedShare: number;
  drift: boolean | null;
}
export interface PackageDocument {
  model: string;
  version: number;
  manifest: {
    features: string[];
    threshold: number;
    reference: { features: Record<string, { sample: number[] }> };
  };
  onnx: string;
}
