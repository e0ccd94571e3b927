import type { Dataset } from '@google-cloud/bigquery';

import type { TributaryMetrics } from '../observe/index.ts';
import { sleep } from '../sleep.ts';
import { BigQueryWriteError, errorMessage, isRetriable } from './errors.ts';

export interface RowToInsert {
  /** BigQuery's best-effort de-duplication id; Tributary uses the event id (plus a suffix for state). */
  readonly insertId: string;
  readonly json: Record<string, unknown>;
}

/** A row BigQuery rejected as invalid; it is not retried. */
export interface RejectedRow {
  readonly index: number;
  readonly reason: string;
  readonly message: string;
}

export interface RowWriterOptions {
  /** Rows per insertAll request. @defaultValue 500, BigQuery's recommended batch size */
  readonly maxRowsPerRequest?: number;
  /** Bytes of JSON per request. @defaultValue 5 MB, half of BigQuery's 10 MB request limit */
  readonly maxBytesPerRequest?: number;
  /** Tries per request for transient errors. @defaultValue 6 */
  readonly maxAttempts?: number;
  readonly metrics?: TributaryMetrics;
}

interface InsertErrorDetail {
  row?: unknown;
  errors?: { reason?: string; message?: string }[];
}

interface RowFailure {
  readonly index: number;
  readonly retriable: boolean;
  readonly reason: string;
  readonly message: string;
}

/**
 * Streams rows into BigQuery tables with insertAll, in requests under the size limits. Transient
 * failures (rate limits, backend errors, rows `stopped` because another row was invalid) are
 * retried with exponential back-off. Rows that BigQuery finds `invalid` are returned to the caller,
 * which dead-letters them. So are single rows whose requests keep failing while the table is reachable.
 */
export class RowWriter {
  readonly #dataset: Dataset;
  readonly #maxRows: number;
  readonly #maxBytes: number;
  readonly #maxAttempts: number;
  readonly #metrics: TributaryMetrics | undefined;

  constructor(dataset: Dataset, options: RowWriterOptions = {}) {
    this.#dataset = dataset;
    this.#maxRows = options.maxRowsPerRequest ?? 500;
    this.#maxBytes = options.maxBytesPerRequest ?? 5 * 1024 * 1024;
    this.#maxAttempts = options.maxAttempts ?? 6;
    this.#metrics = options.metrics;
  }

  /** Inserts the rows and returns those BigQuery rejected as invalid. */
  async insert(tableId: string, rows: readonly RowToInsert[]): Promise<RejectedRow[]> {
    const rejected: RejectedRow[] = [];
    for (const chunk of this.#chunks(rows)) {
      rejected.push(...(await this.#insertChunk(tableId, rows, chunk)));
    }
    this.#metrics?.bigQueryRows.inc({ table: tableId }, rows.length - rejected.length);
    return rejected;
  }

  /** Splits row indexes into requests that respect the row and byte limits. */
  *#chunks(rows: readonly RowToInsert[]): Generator<number[]> {
    let chunk: number[] = [];
    let bytes = 0;
    for (let index = 0; index < rows.length; index++) {
      const size = Buffer.byteLength(JSON.stringify(rows[index]!.json)) + 100;
      if (size > this.#maxBytes) {
        throw new BigQueryWriteError('(any)', `row ${rows[index]!.insertId} is ${size} bytes, over the ${this.#maxBytes}-byte request limit.`);
      }
      if (chunk.length > 0 && (chunk.length >= this.#maxRows || bytes + size > this.#maxBytes)) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(index);
      bytes += size;
    }
    if (chunk.length > 0) yield chunk;
  }

  async #insertChunk(tableId: string, rows: readonly RowToInsert[], chunk: readonly number[]): Promise<RejectedRow[]> {
    const table = this.#dataset.table(tableId);
    // Rows are blamed only while the table stays reachable; an outage throws, and the runner
    // processes the whole batch again later.
    const outcome = await this.#insertIsolating(table, rows, chunk, tableId, this.#maxAttempts);
    return [...outcome.rejected, ...outcome.failedRequests];
  }

  /**
   * Inserts the rows. When a whole request keeps failing, it splits the request in halves until the
   * failing rows are alone, because some emulators fail the request for one invalid row.
   */
  async #insertIsolating(
    table: ReturnType<Dataset['table']>,
    rows: readonly RowToInsert[],
    indexes: readonly number[],
    tableId: string,
    attempts: number,
  ): Promise<{ rejected: RejectedRow[]; failedRequests: RejectedRow[] }> {
    const rejected: RejectedRow[] = [];
    let pending = [...indexes];
    for (let attempt = 1; pending.length > 0; attempt++) {
      let failures: RowFailure[];
      try {
        failures = await this.#tryInsert(table, rows, pending);
      } catch (error) {
        if (attempt < attempts && isRetriable(error)) {
          await sleep(backoffMs(attempt));
          continue;
        }
        if (!(await this.#tableReachable(table))) {
          throw new BigQueryWriteError(tableId, `BigQuery is unreachable: ${errorMessage(error)}`, { cause: error, retriable: true });
        }
        if (pending.length === 1) {
          return { rejected, failedRequests: [{ index: pending[0]!, reason: 'request', message: errorMessage(error) }] };
        }
        const middle = Math.ceil(pending.length / 2);
        const halves = [pending.slice(0, middle), pending.slice(middle)];
        const failedRequests: RejectedRow[] = [];
        for (const half of halves) {
          const outcome = await this.#insertIsolating(table, rows, half, tableId, 2);
          rejected.push(...outcome.rejected);
          failedRequests.push(...outcome.failedRequests);
        }
        return { rejected, failedRequests };
      }

      const retry: number[] = [];
      for (const failure of failures) {
        if (failure.retriable) retry.push(failure.index);
        else rejected.push({ index: failure.index, reason: failure.reason, message: failure.message });
      }
      if (retry.length > 0 && attempt >= attempts) {
        throw new BigQueryWriteError(tableId, `${retry.length} rows still failing after ${attempt} attempts.`, { retriable: true });
      }
      if (retry.length > 0) await sleep(backoffMs(attempt));
      pending = retry;
    }
    return { rejected, failedRequests: [] };
  }

  /** Sends one request. Returns the rows BigQuery reported as failed; throws when the request failed. */
  async #tryInsert(table: ReturnType<Dataset['table']>, rows: readonly RowToInsert[], pending: readonly number[]): Promise<RowFailure[]> {
    try {
      await table.insert(
        pending.map((index) => ({ insertId: rows[index]!.insertId, json: rows[index]!.json })),
        { raw: true, skipInvalidRows: false, ignoreUnknownValues: false },
      );
      return [];
    } catch (error) {
      const details = (error as { name?: string; errors?: InsertErrorDetail[] }).errors;
      if ((error as { name?: string }).name === 'PartialFailureError' && Array.isArray(details)) {
        return details.map((detail) => this.#rowFailure(rows, pending, detail));
      }
      throw error;
    }
  }

  /** Asks for the table's metadata, three times, because a failed insert may leave a broken connection behind. */
  async #tableReachable(table: ReturnType<Dataset['table']>): Promise<boolean> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await table.getMetadata();
        return true;
      } catch {
        await sleep(backoffMs(attempt));
      }
    }
    return false;
  }

  #rowFailure(rows: readonly RowToInsert[], pending: readonly number[], detail: InsertErrorDetail): RowFailure {
    const sent = detail.row as { insertId?: string } | undefined;
    const index = pending.find((candidate) => rows[candidate]!.insertId === sent?.insertId) ?? pending[0]!;
    const reasons = detail.errors ?? [];
    const invalid = reasons.find((reason) => reason.reason === 'invalid');
    if (invalid) return { index, retriable: false, reason: 'invalid', message: invalid.message ?? 'invalid row' };
    const first = reasons[0];
    return { index, retriable: true, reason: first?.reason ?? 'unknown', message: first?.message ?? '' };
  }
}

function backoffMs(attempt: number): number {
  return Math.min(10_000, 200 * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
}
