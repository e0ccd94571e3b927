import type { SqlExecutor } from './sql-executor.ts';
import type { OutboxTables } from './outbox-schema.ts';

/** One unpublished outbox row, as the relay reads it. */
export interface OutboxRow {
  readonly id: bigint;
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
export async function readUnpublished(executor: SqlExecutor, tables: OutboxTables, limit: number): Promise<OutboxRow[]> {
  const rows = await executor.query(
    `SELECT id, event_id, event_name, topic, event_key, key_seq, payload, headers, created_at
       FROM ${tables.outbox}
      WHERE published_at IS NULL
      ORDER BY id
      LIMIT ?`,
    [limit],
  );
  return rows.map((row) => ({
    id: BigInt(row.id as bigint),
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

/** Marks rows as published. Called only after Kafka acknowledged every one of them. */
export async function markPublished(executor: SqlExecutor, tables: OutboxTables, ids: readonly bigint[]): Promise<number> {
  if (ids.length === 0) return 0;
  const placeholders = ids.map(() => '?').join(', ');
  const result = await executor.execute(
    `UPDATE ${tables.outbox} SET published_at = CURRENT_TIMESTAMP(6) WHERE published_at IS NULL AND id IN (${placeholders})`,
    ids,
  );
  return result.affectedRows;
}

/** Counts rows not yet published, for the status view and the backlog metric. */
export async function countUnpublished(executor: SqlExecutor, tables: OutboxTables): Promise<number> {
  const [row] = await executor.query(`SELECT COUNT(*) AS backlog FROM ${tables.outbox} WHERE published_at IS NULL`);
  return Number(row?.backlog ?? 0);
}
