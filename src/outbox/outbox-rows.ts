import type { SqlExecutor } from './sql-executor.ts';
import type { OutboxTables } from './outbox-schema.ts';

/** One unpublished outbox row, as the relay reads it. */
export interface OutboxRow {
  readonly id: bigint;
  readonly bucket: number;
  readonly eventId: string;
  readonly eventName: string;
  readonly topic: string;
  readonly key: string;
  readonly keySeq: bigint;
  readonly payload: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly createdAt: Date;
}

/**
 * Reads the oldest unpublished rows. Every call starts again from the index on unpublished rows,
 * with no "last id seen" cursor. An id is handed out at insert but becomes visible only at commit,
 * so a row with a lower id can appear after rows with higher ids were read.
 */
export async function readUnpublished(
  executor: SqlExecutor,
  tables: OutboxTables,
  buckets: readonly number[],
  limit: number,
): Promise<OutboxRow[]> {
  if (buckets.length === 0) return [];
  // Rows of parked keys stay out, so that a parked key with many rows cannot fill every batch.
  // FORCE INDEX: on a table of mostly published rows the optimizer may otherwise walk the primary
  // key in id order past every published row. The index range covers only unpublished rows, so an
  // idle poll reads an empty range.
  const rows = await executor.query(
    `SELECT o.id, o.bucket, o.event_id, o.event_name, o.topic, o.event_key, o.key_seq, o.payload, o.headers, o.created_at
       FROM ${tables.outbox} o FORCE INDEX (outbox_unpublished)
      WHERE o.published_at IS NULL
        AND o.bucket IN (${buckets.map(() => '?').join(', ')})
        AND NOT EXISTS (SELECT 1 FROM ${tables.parked} p WHERE p.topic = o.topic AND p.event_key = o.event_key)
      ORDER BY o.id
      LIMIT ?`,
    [...buckets, limit],
  );
  return rows.map((row) => ({
    id: BigInt(row.id as bigint),
    bucket: Number(row.bucket),
    eventId: row.event_id as string,
    eventName: row.event_name as string,
    topic: row.topic as string,
    key: row.event_key as string,
    keySeq: BigInt(row.key_seq as bigint),
    payload: row.payload as Buffer,
    headers: row.headers ? (JSON.parse(row.headers as string) as Record<string, string>) : {},
    createdAt: row.created_at as Date,
  }));
}

/** A relay's claim to the buckets of the rows it marks. */
export interface MarkingLease {
  readonly relayId: string;
  readonly tokens: ReadonlyMap<number, bigint>;
}

/**
 * Marks rows as published, after Kafka acknowledged every one of them. The statement checks the
 * relay's fencing token of each row's bucket against the lease table, on the database clock, so
 * rows of a bucket whose lease expired or moved are left unmarked. Returns the number marked.
 */
export async function markPublished(
  executor: SqlExecutor,
  tables: OutboxTables,
  rows: readonly Pick<OutboxRow, 'id' | 'bucket'>[],
  lease: MarkingLease,
): Promise<number> {
  if (rows.length === 0) return 0;
  const buckets = [...new Set(rows.map((row) => row.bucket))];
  const tokenPairs = buckets.map(() => '(?, ?)').join(', ');
  // READ COMMITTED for the next statement only (SET TRANSACTION without SESSION): without gap
  // locks it does not deadlock with the publishers' inserts, as it did at REPEATABLE READ under load.
  await executor.execute('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
  const result = await executor.execute(
    `UPDATE ${tables.outbox} o
       JOIN ${tables.leases} l ON l.bucket = o.bucket
        SET o.published_at = CURRENT_TIMESTAMP(6), o.published_by = ?
      WHERE o.published_at IS NULL
        AND o.id IN (${rows.map(() => '?').join(', ')})
        AND l.owner = ?
        AND l.expires_at > CURRENT_TIMESTAMP(6)
        AND (l.bucket, l.fencing_token) IN (${tokenPairs})`,
    [
      lease.relayId,
      ...rows.map((row) => row.id),
      lease.relayId,
      ...buckets.flatMap((bucket) => [bucket, lease.tokens.get(bucket) ?? -1n]),
    ],
  );
  return result.affectedRows;
}

/**
 * Deletes up to `limit` rows published more than `retentionSeconds` ago and returns how many.
 * Unpublished rows are never deleted.
 */
export async function deletePublished(executor: SqlExecutor, tables: OutboxTables, retentionSeconds: number, limit: number): Promise<number> {
  const result = await executor.execute(
    `DELETE FROM ${tables.outbox}
      WHERE published_at IS NOT NULL AND published_at < CURRENT_TIMESTAMP(6) - INTERVAL ? SECOND
      LIMIT ?`,
    [retentionSeconds, limit],
  );
  return result.affectedRows;
}

/** Counts rows not yet published, for the status view and the backlog metric. */
export async function countUnpublished(executor: SqlExecutor, tables: OutboxTables): Promise<number> {
  const [row] = await executor.query(`SELECT COUNT(*) AS backlog FROM ${tables.outbox} WHERE published_at IS NULL`);
  return Number(row?.backlog ?? 0);
}
