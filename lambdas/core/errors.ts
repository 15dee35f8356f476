/**
 * Typed domain errors. Core code throws these; exactly one place
 * (`lambdas/runtime/http.ts`) maps them to HTTP responses.
 */
export type ErrorCode =
  | 'BadRequest'
  | 'MalformedJson'
  | 'InvalidFeature'
  | 'InvalidBody'
  | 'EmptyBatch'
  | 'BatchTooLarge'
  | 'PayloadTooLarge'
  | 'Unauthorized'
  | 'Forbidden'
  | 'ModelNotFound'
  | 'VersionNotFound'
  | 'NotFound'
  | 'Conflict'
  | 'NotApproved'
  | 'InvalidModel'
  | 'UnsupportedModel'
  | 'IntegrityError'
  | 'InsufficientData'
  | 'TooManyRequests'
  | 'ServiceUnavailable';

const STATUS: Record<ErrorCode, number> = {
  BadRequest: 400,
  MalformedJson: 400,
  InvalidFeature: 400,
  InvalidBody: 400,
  EmptyBatch: 400,
  BatchTooLarge: 413,
  PayloadTooLarge: 413,
  Unauthorized: 401,
  Forbidden: 403,
  ModelNotFound: 404,
  VersionNotFound: 404,
  NotFound: 404,
  Conflict: 409,
  NotApproved: 409,
  InvalidModel: 422,
  UnsupportedModel: 422,
  IntegrityError: 422,
  InsufficientData: 422,
  TooManyRequests: 429,
  ServiceUnavailable: 503,
};

/** Base class of every error Vigil means to show to a caller. */
export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = `${code}Error`;
    this.code = code;
    this.status = STATUS[code];
    this.details = details;
  }
}

export class InvalidFeatureError extends VigilError {
  constructor(message: string, details: { row?: number; field?: string; [k: string]: unknown }) {
    super('InvalidFeature', message, details);
  }
}

export class ModelNotFoundError extends VigilError {
  constructor(model: string) {
    super('ModelNotFound', `Model '${model}' does not exist`, { model });
  }
}

export class VersionNotFoundError extends VigilError {
  constructor(model: string, version: number | string) {
    super('VersionNotFound', `Model '${model}' has no version ${version}`, { model, version });
  }
}

export class ConflictError extends VigilError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('Conflict', message, details);
  }
}

export class UnsupportedModelError extends VigilError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('UnsupportedModel', message, details);
  }
}

export class IntegrityError extends VigilError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('IntegrityError', message, details);
  }
}

/**
 * A dependency (DynamoDB, S3, Secrets Manager …) was unreachable or throttled after the SDK's
 * own retries. Not a bug in Vigil and not the caller's fault: a 503 with `Retry-After`, counted
 * as `DependencyErrors` (never `ServerErrors`, which rolls canaries back).
 */
export class DependencyUnavailableError extends VigilError {
  /** Seconds a client should wait before trying again. */
  readonly retryAfterSeconds: number;
  constructor(reason: string, retryAfterSeconds = 5) {
    super(
      'ServiceUnavailable',
      `A storage dependency is unavailable (throttled or unreachable); retry after ${retryAfterSeconds} s`,
      { retryAfterSeconds },
    );
    this.retryAfterSeconds = retryAfterSeconds;
    // The real reason is for the log only: it can name hosts, tables or endpoints.
    this.cause = reason;
  }
}

export const isVigilError = (e: unknown): e is VigilError => e instanceof VigilError;
