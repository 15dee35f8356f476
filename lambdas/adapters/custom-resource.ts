/**
 * The CloudFormation side of a Lambda-backed custom resource: the answer is a PUT of a JSON
 * document to the presigned `ResponseURL` of the request. Without one CloudFormation waits an
 * hour and then fails the stack, so the PUT is retried before giving up.
 */

/** The request fields the answer echoes (CloudFormation matches the answer by them). */
export interface CustomResourceRequest {
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
}

/** What the handler decided. `reason` is shown in the stack events (required on FAILED). */
export interface CustomResourceOutcome {
  readonly status: 'SUCCESS' | 'FAILED';
  readonly physicalResourceId: string;
  readonly reason?: string;
  /** Attributes readable with `Fn::GetAtt`. */
  readonly data?: Readonly<Record<string, string>>;
}

/** CloudFormation's limit on the whole response document. */
const MAX_RESPONSE_BYTES = 4096;

/** The response document CloudFormation reads from the presigned URL. */
export function customResourceResponse(req: CustomResourceRequest, out: CustomResourceOutcome): string {
  const doc = {
    Status: out.status,
    Reason: (out.reason ?? out.status).slice(0, 1000),
    PhysicalResourceId: out.physicalResourceId,
    StackId: req.StackId,
    RequestId: req.RequestId,
    LogicalResourceId: req.LogicalResourceId,
    ...(out.data ? { Data: out.data } : {}),
  };
  const body = JSON.stringify(doc);
  if (Buffer.byteLength(body) > MAX_RESPONSE_BYTES)
    throw new Error('custom resource response exceeds 4096 bytes');
  return body;
}

/**
 * Sends the answer, retrying a refused or failed PUT with backoff.
 * @throws Error after the last attempt (the caller logs it; CloudFormation then times out)
 */
export async function sendCustomResourceResponse(
  req: CustomResourceRequest,
  out: CustomResourceOutcome,
  opts: { readonly fetch?: typeof fetch; readonly attempts?: number; readonly backoffMs?: number } = {},
): Promise<void> {
  const send = opts.fetch ?? fetch;
  const attempts = opts.attempts ?? 4;
  const body = customResourceResponse(req, out);
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 500) * 2 ** (i - 1)));
    try {
      // The URL is signed without a content type: sending one would break the signature.
      const res = await send(req.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '' } });
      if (res.ok) return;
      last = new Error(`custom resource response refused: HTTP ${res.status}`);
    } catch (e) {
      last = e;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}
