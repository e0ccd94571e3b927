import type { BigQuery, Query } from '@google-cloud/bigquery';

import { BigQueryQueryError } from './errors.ts';

/**
 * Runs a query as a job and returns its rows. Unlike `bigquery.query()`, a failed job always
 * throws here: some emulators answer `query()` for invalid SQL with an empty result and no error,
 * which would read as "no rows" (for a state store, as "no state").
 */
export async function runQuery(bigquery: BigQuery, query: Query, action: string): Promise<Record<string, unknown>[]> {
  try {
    const [job] = await bigquery.createQueryJob(query);
    const [rows] = await job.getQueryResults();
    return rows as Record<string, unknown>[];
  } catch (error) {
    throw new BigQueryQueryError(action, error);
  }
}
