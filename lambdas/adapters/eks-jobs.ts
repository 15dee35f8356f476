import { createHash, createHmac } from 'node:crypto';
import { request } from 'node:https';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, Provider, SourceData } from '@smithy/types';
import type { Job } from 'kubernetes-models/batch/v1';
import type { JobSubmitter } from '#core/retrain/ports.ts';

/** SHA-256 (or HMAC-SHA-256 with a secret) for SigV4, over node:crypto. */
class Sha256 implements Checksum {
  #h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  readonly #secret?: SourceData;
  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#h = this.#make();
  }
  #make() {
    return this.#secret === undefined
      ? createHash('sha256')
      : createHmac('sha256', Buffer.from(this.#secret as Uint8Array | string));
  }
  update(data: Uint8Array | string): void {
    this.#h.update(typeof data === 'string' ? data : Buffer.from(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#h.digest());
  }
  reset(): void {
    this.#h = this.#make();
  }
}

/**
 * The bearer token EKS accepts for an IAM principal (what `aws eks get-token` prints):
 * `k8s-aws-v1.` + base64url of a presigned STS GetCallerIdentity URL whose signature covers
 * the `x-k8s-aws-id: <cluster name>` header. Valid 15 minutes; presigned for 60 s.
 */
export async function eksToken(opts: {
  readonly clusterName: string;
  readonly region: string;
  readonly credentials?: Provider<AwsCredentialIdentity> | AwsCredentialIdentity;
  readonly now?: Date;
}): Promise<string> {
  const signer = new SignatureV4({
    service: 'sts',
    region: opts.region,
    credentials: opts.credentials ?? defaultProvider(),
    sha256: Sha256,
  });
  const hostname = `sts.${opts.region}.amazonaws.com`;
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, 'x-k8s-aws-id': opts.clusterName },
    },
    { expiresIn: 60, signingDate: opts.now },
  );
  const query = new URLSearchParams(signed.query as Record<string, string>).toString();
  const url = `https://${hostname}/?${query}`;
  return `k8s-aws-v1.${Buffer.from(url).toString('base64url')}`;
}

/**
 * Creates Jobs through the cluster's (private) API endpoint: the function runs inside the
 * cluster's VPC and authenticates with its IAM role, mapped to namespace-scoped edit rights by
 * an EKS access entry. TLS is verified against the cluster's own certificate authority.
 */
export class EksJobSubmitter implements JobSubmitter {
  constructor(
    private readonly opts: {
      readonly clusterName: string;
      readonly endpoint: string;
      /** Base64 PEM, as `DescribeCluster` returns `certificateAuthority.data`. */
      readonly certificateAuthority: string;
      readonly region: string;
    },
  ) {}

  async createJob(namespace: string, job: Job): Promise<void> {
    const token = await eksToken({ clusterName: this.opts.clusterName, region: this.opts.region });
    const body = JSON.stringify(job.toJSON());
    const url = new URL(
      `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`,
      this.opts.endpoint,
    );
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          ca: Buffer.from(this.opts.certificateAuthority, 'base64'),
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
          timeout: 20_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('Kubernetes API timed out'), { name: 'TimeoutError' })),
      );
      req.on('error', reject);
      req.end(body);
    });
    // 409: a retried submission of the same execution's Job; it exists already, which is what we want.
    if (status === 201 || status === 200 || status === 202 || status === 409) return;
    const err = new Error(`Kubernetes API refused the Job (${status}): ${text.slice(0, 500)}`);
    err.name = status === 429 || status >= 500 ? 'ServiceUnavailable' : 'KubernetesApiError';
    throw err;
  }
}
