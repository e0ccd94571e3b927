import type { OutboxTables } from './outbox-schema.ts';
import type { OutboxRow } from './outbox-rows.ts';
import type { SqlExecutor } from './sql-executor.ts';

/** A key the relay stopped publishing because one of its rows kept failing. */
export interface ParkedKey {
  readonly topic: string;
  readonly key: string;
  /** Outbox id of the row that failed; the key's later rows wait behind it. */
  readonly firstOutboxId: bigint;
  readonly attempts: number;
  readonly error: string;
  readonly parkedAt: Date;
}

/** Parks the row's key: the relay skips all of the key's rows until it is released. */
export async function parkKey(executor: SqlExecutor, tables: OutboxTables, row: OutboxRow, attempts: number, error: string): Promise<void> {
  await executor.execute(
    `INSERT INTO ${tables.parked} (topic, event_key, first_outbox_id, attempts, error) VALUES (?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE attempts = VALUES(attempts), error = VALUES(error)`,
    [row.topic, row.key, row.id, attempts, error.slice(0, 10_000)],
  );
}

export async function listParkedKeys(executor: SqlExecutor, tables: OutboxTables): Promise<ParkedKey[]> {
  const rows = await executor.query(
    `SELECT topic, event_key, first_outbox_id, attempts, error, parked_at FROM ${tables.parked} ORDER BY parked_at`,
  );
  return rows.map((row) => ({
    topic: row.topic as string,
    key: row.event_key as string,
    firstOutboxId: BigInt(row.first_outbox_id as bigint),
    attempts: Number(row.attempts),
    error: row.error as string,
    parkedAt: row.parked_at as Date,
  }));
}

/** Releases a parked key; the relay then publishes its rows again, in order. Returns false if it was not parked. */
export async function releaseParkedKey(executor: SqlExecutor, tables: OutboxTables, topic: string, key: string): Promise<boolean> {
  const result = await executor.execute(`DELETE FROM ${tables.parked} WHERE topic = ? AND event_key = ?`, [topic, key]);
  return result.affectedRows > 0;
}
