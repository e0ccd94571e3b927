import { randomUUID } from 'node:crypto';

import { LRUCache } from 'lru-cache';
import type { Pool, PoolConnection } from 'mariadb';

import { InvalidOptionError, TributaryError } from '../errors.ts';
import type { AnyEventDefinition, EventInput, EventRegistry } from '../events/index.ts';
import { validatePayload } from '../events/index.ts';
import { bucketOf } from './bucket.ts';
import { signalOutboxCommit } from './commit-signal.ts';
import { outboxTables } from './outbox-schema.ts';
import type { OutboxTables } from './outbox-schema.ts';
import { toSqlExecutor } from './sql-executor.ts';
import type { SqlExecutor, SqlResult, TransactionHandle } from './sql-executor.ts';

/** MariaDB's ER_LOCK_WAIT_TIMEOUT. */
const lockWaitTimeoutErrno = 1205;

/** Rows per multi-row INSERT in `publishMany`. */
const bulkInsertRows = 1000;

/** Maximum key length the outbox stores, in characters (the width of the `event_key` column). */
export const maxKeyLength = 512;

export interface OutboxOptions {
  /** Registry in which every published event is registered before its first publish. */
  readonly registry: EventRegistry;
  /**
   * Prefix of the outbox table names.
   * @defaultValue 'tributary'
   */
  readonly tablePrefix?: string;
  /**
   * Number of buckets keys hash into. Every relay and every publisher must use the same number.
   * @defaultValue 64
   */
  readonly bucketCount?: number;
  /**
   * Pool on which the outbox creates a key's counter row, in a short transaction of its own, the
   * first time it publishes the key. Without it the counter row is created inside the caller's
   * transaction. There, InnoDB's gap locks can deadlock two transactions that publish new keys at
   * the same time: MariaDB then rolls one back with error 1213, and the caller must retry it.
   *
   * The first publish of each key borrows a connection for one statement while the caller's
   * transaction keeps its own, so give a pool with spare connections, or a small pool of its own.
   */
  readonly pool?: Pool;
}

export interface PublishOptions {
  /** Extra Kafka headers for this event. Names starting with `tributary.` are reserved. */
  readonly headers?: Readonly<Record<string, string>>;
  /** W3C trace context of the request that published the event; sent as the `traceparent` header. */
  readonly traceparent?: string;
}

export interface PublishedEvent {
  readonly eventId: string;
  readonly key: string;
  readonly keySeq: bigint;
}

/** Writing an outbox row failed; the caller's transaction should be rolled back. */
export class OutboxWriteError extends TributaryError {
  constructor(eventName: string, problem: string, cause?: unknown) {
    super('OUTBOX_WRITE_FAILED', `Publishing ${eventName} failed: ${problem}`, { cause });
  }
}

/**
 * The write side of the transactional outbox: `publish` stores an event in the caller's own
 * database transaction, so the event exists if and only if the transaction commits.
 */
export class Outbox {
  readonly tables: OutboxTables;
  readonly bucketCount: number;
  readonly #registry: EventRegistry;
  readonly #pool: Pool | undefined;
  /** Keys whose counter row exists; rows are never deleted, so an entry never goes stale. */
  readonly #knownKeys = new LRUCache<string, true>({ max: 100_000 });

  constructor(options: OutboxOptions) {
    this.#registry = options.registry;
    this.#pool = options.pool;
    this.tables = outboxTables(options.tablePrefix);
    this.bucketCount = options.bucketCount ?? 64;
    if (!Number.isInteger(this.bucketCount) || this.bucketCount < 1 || this.bucketCount > 65535) {
      throw new InvalidOptionError('bucketCount', options.bucketCount, 'an integer from 1 to 65535');
    }
  }

  /**
   * Validates the payload and writes the event into the outbox inside the caller's transaction.
   * Throws InvalidPayloadError, naming the field, before anything is written.
   *
   * The per-key counter row is locked until the transaction ends, so concurrent publishers of the
   * same key queue behind each other and `key_seq` follows commit order with no gaps.
   */
  async publish<E extends AnyEventDefinition>(
    tx: TransactionHandle,
    event: E,
    payload: EventInput<E>,
    options: PublishOptions = {},
  ): Promise<PublishedEvent> {
    const untypedEvent: AnyEventDefinition = event;
    const executor = toSqlExecutor(tx);
    validatePayload(untypedEvent, payload);
    const key = this.#keyOf(untypedEvent, payload);
    const value = this.#registry.encode(untypedEvent, payload);

    const keySeq = await this.#nextKeySeq(executor, untypedEvent, key);
    const eventId = randomUUID();
    await this.#insertRows(executor, [
      [
        eventId,
        event.name,
        event.topic,
        key,
        bucketOf(event.topic, key, this.bucketCount),
        keySeq,
        this.#registry.schemaId(untypedEvent),
        value,
        encodeHeaders(options),
      ],
    ]);
    return { eventId, key, keySeq };
  }

  /**
   * Publishes many events of one type in the caller's transaction, with one multi-row INSERT per
   * 1,000 events. Counter rows are locked in sorted key order, so two such transactions over keys
   * whose counter rows exist do not deadlock each other (new keys: see the `pool` option).
   */
  async publishMany<E extends AnyEventDefinition>(
    tx: TransactionHandle,
    event: E,
    payloads: readonly EventInput<E>[],
    options: PublishOptions = {},
  ): Promise<PublishedEvent[]> {
    const untypedEvent: AnyEventDefinition = event;
    const executor = toSqlExecutor(tx);
    const prepared = payloads.map((payload) => {
      validatePayload(untypedEvent, payload);
      return { key: this.#keyOf(untypedEvent, payload), value: this.#registry.encode(untypedEvent, payload) };
    });

    const byKey = new Map<string, number[]>();
    prepared.forEach((item, index) => {
      const indexes = byKey.get(item.key);
      if (indexes) indexes.push(index);
      else byKey.set(item.key, [index]);
    });
    const keys = [...byKey.keys()].sort();

    const published: PublishedEvent[] = new Array(prepared.length);
    const rows: unknown[][] = [];
    const schemaId = this.#registry.schemaId(untypedEvent);
    const headers = encodeHeaders(options);
    const lastSeqs = await this.#reserveKeySeqs(
      executor,
      untypedEvent,
      keys.map((key) => ({ key, count: byKey.get(key)!.length })),
    );
    for (const key of keys) {
      const indexes = byKey.get(key)!;
      const lastSeq = lastSeqs.get(key)!;
      indexes.forEach((payloadIndex, position) => {
        const keySeq = lastSeq - BigInt(indexes.length - 1 - position);
        const eventId = randomUUID();
        published[payloadIndex] = { eventId, key, keySeq };
        const bucket = bucketOf(untypedEvent.topic, key, this.bucketCount);
        rows.push([eventId, untypedEvent.name, untypedEvent.topic, key, bucket, keySeq, schemaId, prepared[payloadIndex]!.value, headers]);
      });
    }

    await this.#insertRows(executor, rows);
    return published;
  }

  /** Inserts outbox rows (values in column order), one multi-row INSERT per 1,000 rows. */
  async #insertRows(executor: SqlExecutor, rows: readonly unknown[][]): Promise<void> {
    for (let start = 0; start < rows.length; start += bulkInsertRows) {
      const chunk = rows.slice(start, start + bulkInsertRows);
      await executor.execute(
        `INSERT INTO ${this.tables.outbox}
           (event_id, event_name, topic, event_key, bucket, key_seq, schema_id, payload, headers)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flat(),
      );
    }
  }

  /**
   * Runs `work` in a transaction on a connection from the pool and commits it, or rolls it back
   * when `work` throws. After the commit it wakes the relays of this process, so events leave
   * without waiting for the next poll.
   */
  async transaction<T>(pool: Pool, work: (tx: PoolConnection) => Promise<T>): Promise<T> {
    const connection = await pool.getConnection();
    try {
      await connection.beginTransaction();
      let result: T;
      try {
        result = await work(connection);
        await connection.commit();
      } catch (error) {
        await connection.rollback().catch(() => undefined);
        throw error;
      }
      signalOutboxCommit();
      return result;
    } finally {
      await connection.release();
    }
  }

  /**
   * Creates the key's counter row in a statement of its own, so no lock of it outlives the
   * statement. A lock wait of over one second ends the attempt, because a locked row exists.
   */
  async #ensureKeyRow(topic: string, key: string): Promise<void> {
    const id = `${topic}\u0000${key}`;
    if (this.#knownKeys.has(id)) return;
    const pool = this.#pool!;
    const existing: unknown[] = await pool.query(`SELECT 1 FROM ${this.tables.keys} WHERE topic = ? AND event_key = ?`, [topic, key]);
    if (existing.length === 0) {
      try {
        await pool.query(
          `SET STATEMENT innodb_lock_wait_timeout = 1 FOR
           INSERT IGNORE INTO ${this.tables.keys} (topic, event_key, last_seq) VALUES (?, ?, 0)`,
          [topic, key],
        );
      } catch (error) {
        if ((error as { errno?: number }).errno !== lockWaitTimeoutErrno) throw error;
      }
    }
    this.#knownKeys.set(id, true);
  }

  #keyOf(event: AnyEventDefinition, payload: unknown): string {
    let key: unknown;
    try {
      key = (event.key as (payload: unknown) => unknown)(payload);
    } catch (error) {
      throw new OutboxWriteError(event.name, `its key function threw: ${(error as Error).message}`, error);
    }
    if (typeof key !== 'string' || key.length === 0 || key.length > maxKeyLength) {
      throw new OutboxWriteError(
        event.name,
        `its key function returned ${JSON.stringify(key)}; a key must be a non-empty string of at most ${maxKeyLength} characters.`,
      );
    }
    return key;
  }

  /**
   * Reserves sequence numbers for many keys, given in sorted order, and returns each key's last
   * one. With a pool, one UPDATE per 1,000 keys bumps the existing counter rows and locks them in
   * primary key order. Every other key goes through `#nextKeySeq` one by one.
   */
  async #reserveKeySeqs(
    executor: SqlExecutor,
    event: AnyEventDefinition,
    requests: readonly { key: string; count: number }[],
  ): Promise<Map<string, bigint>> {
    const lastSeqs = new Map<string, bigint>();
    if (this.#pool) {
      for (const request of requests) await this.#ensureKeyRow(event.topic, request.key);
      for (let start = 0; start < requests.length; start += bulkInsertRows) {
        const chunk = requests.slice(start, start + bulkInsertRows);
        const cases = chunk.map(() => 'WHEN ? THEN ?').join(' ');
        const keyList = chunk.map(() => '?').join(', ');
        await executor.execute(
          `UPDATE ${this.tables.keys} SET last_seq = last_seq + CASE event_key ${cases} END
            WHERE topic = ? AND event_key IN (${keyList})`,
          [...chunk.flatMap((request) => [request.key, request.count]), event.topic, ...chunk.map((request) => request.key)],
        );
        // The rows are locked by this transaction now, so this read returns the values just written.
        const current = await executor.query(
          `SELECT event_key, last_seq FROM ${this.tables.keys} WHERE topic = ? AND event_key IN (${keyList})`,
          [event.topic, ...chunk.map((request) => request.key)],
        );
        for (const row of current) lastSeqs.set(row.event_key as string, BigInt(row.last_seq as bigint));
      }
    }
    for (const request of requests) {
      if (!lastSeqs.has(request.key)) lastSeqs.set(request.key, await this.#nextKeySeq(executor, event, request.key, request.count));
    }
    return lastSeqs;
  }

  /** Reserves `count` sequence numbers of the key and returns the last one. */
  async #nextKeySeq(executor: SqlExecutor, event: AnyEventDefinition, key: string, count = 1): Promise<bigint> {
    // LAST_INSERT_ID(expr) makes the server return the new counter value with the statement's
    // result, which saves a SELECT round trip. The row stays locked until the transaction ends.
    let result: SqlResult | undefined;
    if (this.#pool) {
      await this.#ensureKeyRow(event.topic, key);
      // An UPDATE of an existing row by its primary key locks that row only, no gap.
      result = await executor.execute(
        `UPDATE ${this.tables.keys} SET last_seq = LAST_INSERT_ID(last_seq + ?) WHERE topic = ? AND event_key = ?`,
        [count, event.topic, key],
      );
    }
    // Without a pool, or when the row's creation did not commit, create it in the caller's transaction.
    if (result === undefined || result.affectedRows === 0) {
      result = await executor.execute(
        `INSERT INTO ${this.tables.keys} (topic, event_key, last_seq) VALUES (?, ?, LAST_INSERT_ID(?))
         ON DUPLICATE KEY UPDATE last_seq = LAST_INSERT_ID(last_seq + ?)`,
        [event.topic, key, count, count],
      );
    }
    if (result.insertId < 1n) {
      throw new OutboxWriteError(event.name, 'the database did not return the key sequence number.');
    }
    return result.insertId;
  }
}

function encodeHeaders(options: PublishOptions): string | null {
  const headers: Record<string, string> = { ...options.headers };
  for (const name of Object.keys(headers)) {
    if (name.startsWith('tributary.')) {
      throw new InvalidOptionError(`headers.${name}`, name, 'a header name that does not start with "tributary." (reserved)');
    }
  }
  if (options.traceparent !== undefined) headers.traceparent = options.traceparent;
  return Object.keys(headers).length === 0 ? null : JSON.stringify(headers);
}
