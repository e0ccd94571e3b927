import { randomUUID } from 'node:crypto';

import { InvalidOptionError, TributaryError } from '../errors.ts';
import type { AnyEventDefinition, EventInput, EventRegistry } from '../events/index.ts';
import { validatePayload } from '../events/index.ts';
import { bucketOf } from './bucket.ts';
import { outboxTables } from './outbox-schema.ts';
import type { OutboxTables } from './outbox-schema.ts';
import { toSqlExecutor } from './sql-executor.ts';
import type { SqlExecutor, TransactionHandle } from './sql-executor.ts';

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

  constructor(options: OutboxOptions) {
    this.#registry = options.registry;
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
    await executor.execute(
      `INSERT INTO ${this.tables.outbox}
         (event_id, event_name, topic, event_key, bucket, key_seq, schema_id, payload, headers)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    );
    return { eventId, key, keySeq };
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

  async #nextKeySeq(executor: SqlExecutor, event: AnyEventDefinition, key: string): Promise<bigint> {
    // LAST_INSERT_ID(expr) makes the server return the new counter value with the statement's
    // result, which saves a SELECT round trip. The row stays locked until the transaction ends.
    const result = await executor.execute(
      `INSERT INTO ${this.tables.keys} (topic, event_key, last_seq) VALUES (?, ?, LAST_INSERT_ID(1))
       ON DUPLICATE KEY UPDATE last_seq = LAST_INSERT_ID(last_seq + 1)`,
      [event.topic, key],
    );
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
