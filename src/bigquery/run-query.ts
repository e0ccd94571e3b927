import type { BigQuery, Query } from '@google-cloud/bigquery';

import { BigQueryQueryError } from './errors.ts';

/**
 * Runs a query as a job and returns its rows. Unlike `bigquery.query()`, a failed job always
 * throws here. Some emulators return an empty result and no error from `query()` for invalid SQL,
 * which a state store would read as "no state".
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
