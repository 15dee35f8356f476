import { CAPTURE_LAYOUT } from '#contracts';
import { ConflictError, VigilError } from '#core/errors.ts';
import {
  type CaptureStatus,
  decideLabel,
  type Label,
  type LabelOutcome,
  type LabelRecord,
} from '#core/feedback/labels.ts';
import type { CaptureLookup, FeedbackStore } from '#core/feedback/ports.ts';
import { type QualityReport, qualityReport } from '#core/feedback/quality.ts';
import type { CapturedRow, CaptureReader } from '#core/ports.ts';
import type { ModelRegistry } from '#core/registry/types.ts';

/** What the feedback use cases need; the handler wires it from the root, tests pass their own. */
export interface FeedbackDeps {
  readonly labels: FeedbackStore;
  /** Finds a request's captures (DynamoDB path). Absent: the caller must name the model. */
  readonly lookup?: CaptureLookup;
  readonly captures: CaptureReader;
  readonly registry: Pick<ModelRegistry, 'listVersions' | 'getVersion'>;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** A label as `POST /v1/feedback` takes it (validated at the edge). */
export interface FeedbackInput {
  readonly requestId: string;
  /** Row of the request. @default 0 */
  readonly index?: number;
  readonly label: Label;
  /** Needed when the prediction cannot be found among the captures. */
  readonly model?: string;
  readonly version?: number;
  /** The API key id that sends it. */
  readonly by?: string;
}

export interface FeedbackResult {
  readonly outcome: LabelOutcome;
  readonly label: LabelRecord;
  /** The label this one replaced (`changed` only). */
  readonly previous?: Label;
}

/** Writers racing on one row: re-read and decide this many times before answering 409. */
const MAX_ATTEMPTS = 4;

/**
 * `POST /v1/feedback`: records a label for one prediction row, idempotently (`decideLabel`).
 *
 * How the label learns who made the prediction: the captures of `requestId` are looked up by the
 * captures table's request index. When some row of the request was captured, model and version
 * come from the captures (a `model`/`version` in the request must agree: 409 otherwise) and the
 * label is `captured` when its own row is among them, else `not-captured`. When nothing of the
 * request was captured (sampling kept none of it), or the capture path has no request index
 * (Firehose), the request must name `model` (400 otherwise), which must exist (404), and may name
 * `version`, which must exist too (404).
 */
export const recordFeedback =
  (deps: FeedbackDeps) =>
  async (input: FeedbackInput): Promise<FeedbackResult> => {
    const now = deps.now ?? (() => new Date());
    const index = input.index ?? 0;
    const found = deps.lookup ? await deps.lookup.findRequest(input.requestId) : undefined;
    let model: string;
    let version: number | undefined;
    let capture: CaptureStatus;
    let predictedAt: string | undefined;
    const first = found?.[0];
    if (first) {
      model = first.model;
      if (input.model !== undefined && input.model !== model) {
        throw new ConflictError(
          `Request ${input.requestId} was scored by model '${model}', not '${input.model}'`,
          { requestId: input.requestId, model },
        );
      }
      const row = found.find((r) => r.index === index);
      // Every row of a request is scored by one version; a sibling row's capture says which.
      version = (row ?? first).version;
      if (input.version !== undefined && input.version !== version) {
        throw new ConflictError(
          `Request ${input.requestId} was scored by version ${version} of '${model}', not ${input.version}`,
          { requestId: input.requestId, model, version },
        );
      }
      capture = row ? 'captured' : 'not-captured';
      predictedAt = row?.at;
    } else {
      if (input.model === undefined) {
        throw new VigilError(
          'InvalidBody',
          deps.lookup
            ? `Request ${input.requestId} was not captured, so its model is unknown: send 'model' (and 'version' if known)`
            : `Captures here cannot be looked up by request: send 'model' (and 'version' if known)`,
          { requestId: input.requestId, field: 'model' },
        );
      }
      model = input.model;
      version = input.version;
      // 404s: an unknown model, or a version it does not have.
      if (version !== undefined) await deps.registry.getVersion(model, version);
      else await deps.registry.listVersions(model);
      capture = deps.lookup ? 'not-captured' : 'unchecked';
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const existing = await deps.labels.get(model, input.requestId, index);
      const decision = decideLabel(existing, {
        model,
        requestId: input.requestId,
        index,
        label: input.label,
        capture,
        at: now().toISOString(),
        ...(version !== undefined ? { version } : {}),
        ...(predictedAt !== undefined ? { predictedAt } : {}),
        ...(input.by !== undefined ? { by: input.by } : {}),
      });
      if (decision.outcome === 'unchanged') return { outcome: 'unchanged', label: decision.record };
      if (await deps.labels.put(decision.record, existing?.revision ?? null)) {
        return {
          outcome: decision.outcome,
          label: decision.record,
          ...(existing && decision.outcome === 'changed' ? { previous: existing.label } : {}),
        };
      }
    }
    throw new ConflictError(
      `The label of ${input.requestId}#${index} kept changing while it was written; send it again`,
      { requestId: input.requestId, index },
    );
  };

/**
 * `GET /v1/models/{model}/quality?window=…`: labelled precision, recall, ROC AUC, average
 * precision and label counts per version over the window (`qualityReport`).
 *
 * Captures are read only where labels need them: the hours of labelled captured predictions in
 * the window; the whole window only when some label could not be checked against captures when
 * it was given (the Firehose path), since its prediction time is unknown.
 * @throws ModelNotFoundError for a model the registry does not know
 */
export const modelQuality =
  (deps: FeedbackDeps) =>
  async (model: string, windowMs: number): Promise<{ model: string } & QualityReport> => {
    const now = deps.now ?? (() => new Date());
    await deps.registry.listVersions(model);
    const to = now();
    const from = new Date(to.getTime() - windowMs);
    const labels = await deps.labels.list(model);
    const captures: CapturedRow[] = [];
    const inWindow = (at: string) => {
      const t = new Date(at).getTime();
      return t >= from.getTime() && t < to.getTime();
    };
    if (labels.some((l) => l.capture === 'unchecked')) {
      captures.push(...(await deps.captures.readWindow(model, from, to)));
    } else {
      const hours = new Set<string>();
      for (const l of labels) {
        if (l.capture === 'captured' && l.predictedAt && inWindow(l.predictedAt))
          hours.add(CAPTURE_LAYOUT.hour(l.predictedAt));
      }
      for (const h of [...hours].sort()) {
        const start = new Date(`${h}:00:00.000Z`);
        const end = new Date(start.getTime() + 3_600_000);
        captures.push(
          ...(await deps.captures.readWindow(model, start < from ? from : start, end > to ? to : end)),
        );
      }
    }
    return { model, ...qualityReport(labels, captures, { from, to }) };
  };
