import { S3Client } from '@aws-sdk/client-s3';

/**
 * The S3 client of the artifact store, in its own module so that only bundles that build the
 * store import the S3 SDK (the composition root reaches it from its `store` accessor only).
 */
export const s3Client = (): S3Client => new S3Client({});
