import type { OutboxTables } from './outbox-schema.ts';
import type { SqlExecutor } from './sql-executor.ts';

/** A bucket this relay owns, with the fencing token its lease was granted with. */
export interface OwnedBucket {
  readonly bucket: number;
  readonly token: bigint;
}

export interface LeaseChanges {
  readonly acquired: number[];
  readonly lost: number[];
  readonly released: number[];
}

/**
 * The leases of one relay on buckets of keys. Expiry is measured on the database clock only, so
 * relays with skewed clocks still agree. Each grant bumps the bucket's fencing token, and marking
 * rows as published checks it. So a relay whose lease expired (a long pause, a lost connection)
 * cannot mark anything, even before it learns that it lost the lease.
 *
 * Fair sharing: every relay heartbeats into the relay table. A relay takes at most
 * ceil(buckets / live relays) buckets and hands back any above that, so a new relay gets work.
 */
export class BucketLeases {
  readonly relayId: string;
  readonly #tables: OutboxTables;
  readonly #bucketCount: number;
  readonly #leaseMicros: number;
  readonly #owned = new Map<number, bigint>();
  /** performance.now() after which the leases may have expired, with a safety margin. */
  #validUntil = 0;

  constructor(relayId: string, tables: OutboxTables, bucketCount: number, leaseMs: number) {
    this.relayId = relayId;
    this.#tables = tables;
    this.#bucketCount = bucketCount;
    this.#leaseMicros = leaseMs * 1000;
  }

  /** Buckets this relay may work on now; empty once the leases may have run out. */
  owned(): OwnedBucket[] {
    if (performance.now() > this.#validUntil) return [];
    return [...this.#owned].map(([bucket, token]) => ({ bucket, token }));
  }

  /** Creates the lease rows of every bucket, once. */
  async prepare(executor: SqlExecutor): Promise<void> {
    const values = Array.from({ length: this.#bucketCount }, (_, bucket) => `(${bucket})`).join(', ');
    await executor.execute(`INSERT IGNORE INTO ${this.#tables.leases} (bucket) VALUES ${values}`);
  }

  /**
   * Heartbeats, renews the leases still held, then takes or hands back buckets to reach a fair
   * share. Returns what changed. A lease that could not be renewed is dropped at once.
   */
  async maintain(executor: SqlExecutor, leaseMs: number): Promise<LeaseChanges> {
    const startedAt = performance.now();
    await executor.execute(
      `INSERT INTO ${this.#tables.relays} (relay_id, heartbeat_at) VALUES (?, CURRENT_TIMESTAMP(6))
       ON DUPLICATE KEY UPDATE heartbeat_at = CURRENT_TIMESTAMP(6)`,
      [this.relayId],
    );
    const lost = await this.#renew(executor);
    const share = await this.#fairShare(executor);
    const acquired = this.#owned.size < share ? await this.#acquire(executor, share - this.#owned.size) : [];
    const released = this.#owned.size > share ? await this.#release(executor, this.#owned.size - share) : [];
    // Work stops a third of a lease before the database would let another relay take over.
    this.#validUntil = startedAt + (leaseMs * 2) / 3;
    return { acquired, lost, released };
  }

  /** Hands back every bucket, so other relays take over at once instead of after expiry. */
  async releaseAll(executor: SqlExecutor): Promise<void> {
    await this.#release(executor, this.#owned.size);
    await executor.execute(`DELETE FROM ${this.#tables.relays} WHERE relay_id = ?`, [this.relayId]);
    this.#validUntil = 0;
  }

  /** Forgets the leases without telling the database, after an error left their state unknown. */
  forget(): void {
    this.#owned.clear();
    this.#validUntil = 0;
  }

  async #renew(executor: SqlExecutor): Promise<number[]> {
    if (this.#owned.size === 0) return [];
    await executor.execute(
      `UPDATE ${this.#tables.leases}
          SET expires_at = CURRENT_TIMESTAMP(6) + INTERVAL ? MICROSECOND
        WHERE owner = ? AND expires_at > CURRENT_TIMESTAMP(6)`,
      [this.#leaseMicros, this.relayId],
    );
    const rows = await executor.query(
      `SELECT bucket, fencing_token FROM ${this.#tables.leases} WHERE owner = ? AND expires_at > CURRENT_TIMESTAMP(6)`,
      [this.relayId],
    );
    const still = new Map(rows.map((row) => [Number(row.bucket), BigInt(row.fencing_token as bigint)]));
    const lost: number[] = [];
    for (const [bucket, token] of this.#owned) {
      if (still.get(bucket) !== token) {
        this.#owned.delete(bucket);
        lost.push(bucket);
      }
    }
    return lost;
  }

  async #fairShare(executor: SqlExecutor): Promise<number> {
    const [row] = await executor.query(
      `SELECT COUNT(*) AS live FROM ${this.#tables.relays} WHERE heartbeat_at > CURRENT_TIMESTAMP(6) - INTERVAL ? MICROSECOND`,
      [this.#leaseMicros],
    );
    const live = Math.max(1, Number(row?.live ?? 1));
    return Math.ceil(this.#bucketCount / live);
  }

  async #acquire(executor: SqlExecutor, wanted: number): Promise<number[]> {
    const free = await executor.query(
      `SELECT bucket FROM ${this.#tables.leases}
        WHERE owner IS NULL OR expires_at IS NULL OR expires_at <= CURRENT_TIMESTAMP(6)
        ORDER BY bucket LIMIT ?`,
      [wanted],
    );
    const acquired: number[] = [];
    for (const row of free) {
      const bucket = Number(row.bucket);
      const result = await executor.execute(
        `UPDATE ${this.#tables.leases}
            SET owner = ?, fencing_token = fencing_token + 1, expires_at = CURRENT_TIMESTAMP(6) + INTERVAL ? MICROSECOND
          WHERE bucket = ? AND (owner IS NULL OR expires_at IS NULL OR expires_at <= CURRENT_TIMESTAMP(6))`,
        [this.relayId, this.#leaseMicros, bucket],
      );
      if (result.affectedRows !== 1) continue;
      const [lease] = await executor.query(`SELECT fencing_token FROM ${this.#tables.leases} WHERE bucket = ? AND owner = ?`, [
        bucket,
        this.relayId,
      ]);
      if (!lease) continue;
      this.#owned.set(bucket, BigInt(lease.fencing_token as bigint));
      acquired.push(bucket);
    }
    return acquired;
  }

  async #release(executor: SqlExecutor, count: number): Promise<number[]> {
    const released = [...this.#owned.keys()].sort((a, b) => b - a).slice(0, count);
    for (const bucket of released) {
      await executor.execute(
        `UPDATE ${this.#tables.leases} SET owner = NULL, expires_at = NULL WHERE bucket = ? AND owner = ? AND fencing_token = ?`,
        [bucket, this.relayId, this.#owned.get(bucket)],
      );
      this.#owned.delete(bucket);
    }
    return released;
  }
}
