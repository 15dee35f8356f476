import { S3Client } from '@aws-sdk/client-s3';

/**
 * S3 client settings a presigning client needs: with the SDK's default (`WHEN_SUPPORTED`) a
 * presigned PutObject URL carries the CRC32 of an *empty* body, so every real upload would fail
 * its checksum. The artifact store shares the client and loses nothing (S3 still verifies
 * Content-MD5-less PUTs by SigV4 payload hashing).
 */
export const PRESIGN_CLIENT_CONFIG = { requestChecksumCalculation: 'WHEN_REQUIRED' } as const;

/**
 * The S3 client of the artifact store and the package staging area, in its own module so that
 * only bundles that build one of them import the S3 SDK (the composition root reaches it from
 * its `store` and `staging` accessors only).
 */
export const s3Client = (): S3Client => new S3Client(PRESIGN_CLIENT_CONFIG);
