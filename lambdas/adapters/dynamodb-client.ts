import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Builds a DocumentClient. With `endpoint` (the local twin's dynalite) it uses
 * dummy static credentials so no credential chain is consulted.
 */
export function documentClient(endpoint?: string): DynamoDBDocumentClient {
  const client = endpoint
    ? new DynamoDBClient({
        endpoint,
        region: 'local',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 5,
      })
    : new DynamoDBClient({ maxAttempts: 5 });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    // Every number Vigil stores started as a JS double (captures write them as NumberValue, the
    // shortest round-trip decimal), so parsing DynamoDB's decimal string gives that very double
    // back, also above 2^53 (where the default would try BigInt and fail on "1e+16").
    unmarshallOptions: { wrapNumbers: (s: string) => Number(s) },
  });
}
