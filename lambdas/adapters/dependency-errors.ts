/**
 * Classifies errors thrown by the AWS SDK (and the sockets under it) so that callers decide
 * *before* retrying, and so that the one HTTP error mapping tells a dependency outage (503)
 * from a bug (500).
 *
 * - `retryable`: throttling, a 5xx from the service, a timeout or a network error. Retrying later
 *   (or elsewhere: the capture spool) can succeed.
 * - `fatal`: the request itself is refused (validation, access denied, a missing table, a value
 *   the SDK will not marshal). The same request fails the same way every time.
 */
export type ErrorClass = 'retryable' | 'fatal';

/** Service error names that mean "slow down", whatever the HTTP status says. */
const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'RequestThrottled',
  'RequestThrottledException',
  'TransactionInProgressException',
  'LimitExceededException',
]);

/** Transient service-side conditions. */
const TRANSIENT = new Set([
  'InternalServerError',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'RequestTimeTooSkewed',
]);

/** Socket-level failures: the dependency could not be reached at all. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

interface SdkLike {
  readonly name?: string;
  readonly code?: string;
  readonly $fault?: 'client' | 'server';
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly cause?: unknown;
}

/** Whether `e` (or the error it wraps) is worth retrying later. */
export function classifyError(e: unknown): ErrorClass {
  for (const err of causes(e)) {
    if (isRetryable(err)) return 'retryable';
  }
  return 'fatal';
}

function isRetryable(err: SdkLike): boolean {
  if (err.$retryable) return true;
  if (err.name && (THROTTLING.has(err.name) || TRANSIENT.has(err.name))) return true;
  if (err.code && NETWORK_CODES.has(err.code)) return true;
  const status = err.$metadata?.httpStatusCode;
  if (status === 429 || (status !== undefined && status >= 500)) return true;
  return err.$fault === 'server';
}

/**
 * Whether `e` means a dependency is unavailable (throttled after the SDK's retries, down or
 * unreachable): the answer is 503, not 500. Walks `cause` so a wrapped failure (a model package
 * that could not be fetched because S3 was down) is recognised too.
 */
export const isDependencyFailure = (e: unknown): boolean => classifyError(e) === 'retryable';

/** The real reason in one short line for the log: name, code and message, never the stack. */
export function describeError(e: unknown): string {
  const err = (e ?? {}) as SdkLike & { message?: string };
  const parts = [err.name, err.code].filter((p) => p && p !== 'Error');
  const message = typeof err.message === 'string' ? err.message.slice(0, 300) : String(e).slice(0, 300);
  return parts.length ? `${parts.join('/')}: ${message}` : message || 'unknown error';
}

/** `e` and the chain of `cause`s below it (bounded, cycles ignored). */
function* causes(e: unknown): Generator<SdkLike> {
  const seen = new Set<unknown>();
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur && typeof cur === 'object' && !seen.has(cur); depth++) {
    seen.add(cur);
    yield cur as SdkLike;
    cur = (cur as SdkLike).cause;
  }
}
