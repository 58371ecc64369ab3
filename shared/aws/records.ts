/**
 * Reading the records table by status: one Query shape for redrive and status, the
 * reconciler's stuck records and open registrations, and its retention pass.
 */
import type { QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { RECORDS_BY_STATUS_INDEX } from '../records.ts';

/**
 * The items of one status in the byStatus index, oldest first (its sort key is `startedAt`),
 * started within `since` … `until` (ISO 8601, inclusive) when given. Callers add Limit,
 * ExclusiveStartKey or a projection.
 */
export function byStatusQuery(
  table: string,
  status: string,
  range: { since?: string | undefined; until?: string | undefined } = {},
): QueryCommandInput {
  const { since, until } = range;
  const condition =
    since && until
      ? ' AND startedAt BETWEEN :since AND :until'
      : since
        ? ' AND startedAt >= :since'
        : until
          ? ' AND startedAt <= :until'
          : '';
  return {
    TableName: table,
    IndexName: RECORDS_BY_STATUS_INDEX,
    KeyConditionExpression: `#status = :status${condition}`,
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':status': { S: status },
      ...(since && { ':since': { S: since } }),
      ...(until && { ':until': { S: until } }),
    },
  };
}
