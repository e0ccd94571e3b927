import { TributaryError } from '../errors.ts';

/** Writing rows to a BigQuery table failed after the retries. */
export class BigQueryWriteError extends TributaryError {
  constructor(table: string, problem: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super('BIGQUERY_WRITE_FAILED', `Writing to BigQuery table ${table} failed: ${problem}`, options);
  }
}

/** A BigQuery query or table operation failed. */
export class BigQueryQueryError extends TributaryError {
  constructor(action: string, cause: unknown) {
    super('BIGQUERY_QUERY_FAILED', `BigQuery ${action} failed: ${errorMessage(cause)}`, { cause, retriable: isRetriable(cause) });
  }
}

/** Error reasons BigQuery documents as transient. */
const retriableReasons = new Set(['backendError', 'internalError', 'rateLimitExceeded', 'quotaExceeded', 'timeout']);

/** True when a BigQuery client error is worth retrying: 429, 5xx, or a transient reason. */
export function isRetriable(error: unknown): boolean {
  const candidate = error as { code?: unknown; errors?: { reason?: string }[] } | null;
  const code = Number(candidate?.code);
  if (code === 429 || (code >= 500 && code < 600)) return true;
  if (candidate?.errors?.some((detail) => retriableReasons.has(detail.reason ?? ''))) return true;
  const networkCode = (error as { code?: unknown })?.code;
  return typeof networkCode === 'string' && ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'].includes(networkCode);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
