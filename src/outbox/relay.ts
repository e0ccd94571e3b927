import type { Kafka, Message, Producer } from 'kafkajs';
import { CompressionTypes, Partitioners } from 'kafkajs';
import type { Pool } from 'mariadb';

import { LifecycleError, TributaryError } from '../errors.ts';
import type { Logger } from '../observe/index.ts';
import { TributaryMetrics, silentLogger } from '../observe/index.ts';
import { positiveInteger } from '../options.ts';
import { sleep } from '../sleep.ts';
import { countUnpublished, markPublished, readUnpublished } from './outbox-rows.ts';
import type { OutboxRow } from './outbox-rows.ts';
import { outboxTables } from './outbox-schema.ts';
import type { OutboxTables } from './outbox-schema.ts';
import { mariadbExecutor } from './sql-executor.ts';

export interface RelayOptions {
  /** Pool of the database that contains the outbox. The relay takes one connection at a time. */
  readonly pool: Pool;
  /** kafkajs client; the relay creates its own idempotent producer from it. */
  readonly kafka: Kafka;
  /** @defaultValue 'tributary' */
  readonly tablePrefix?: string;
  /** Rows read and sent per batch. @defaultValue 500 */
  readonly batchSize?: number;
  /** Wait between polls when the outbox is empty, in milliseconds, before jitter. @defaultValue 200 */
  readonly pollIntervalMs?: number;
  /** Maximum wait after a failed batch, in milliseconds; waits grow from 100 ms. @defaultValue 5000 */
  readonly maxBackoffMs?: number;
  readonly logger?: Logger;
  readonly metrics?: TributaryMetrics;
}

/** Sending a batch to Kafka failed; the relay retries the batch, whose rows stay unpublished. */
export class RelaySendError extends TributaryError {
  constructor(problem: string, cause?: unknown) {
    super('RELAY_SEND_FAILED', `Relay batch failed: ${problem}`, { cause, retriable: true });
  }
}

type RelayState = 'idle' | 'running' | 'stopping' | 'stopped';

/**
 * Moves committed outbox rows to Kafka. A row is marked published only after Kafka acknowledged
 * it with acks=all; a crash between the two sends it again (at-least-once).
 *
 * NOTE: one relay at a time per outbox. Running several relays on the same outbox publishes rows
 * more than once and can reorder a key's events.
 */
export class Relay {
  readonly #pool: Pool;
  readonly #kafka: Kafka;
  readonly #tables: OutboxTables;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #maxBackoffMs: number;
  readonly #logger: Logger;
  readonly #metrics: TributaryMetrics;
  #state: RelayState = 'idle';
  #producer: Producer | undefined;
  #loop: Promise<void> | undefined;
  readonly #stopSignal = new AbortController();

  constructor(options: RelayOptions) {
    this.#pool = options.pool;
    this.#kafka = options.kafka;
    this.#tables = outboxTables(options.tablePrefix);
    this.#batchSize = positiveInteger('batchSize', options.batchSize, 500);
    this.#pollIntervalMs = positiveInteger('pollIntervalMs', options.pollIntervalMs, 200);
    this.#maxBackoffMs = positiveInteger('maxBackoffMs', options.maxBackoffMs, 5000);
    this.#logger = (options.logger ?? silentLogger).child({ component: 'relay' });
    this.#metrics = options.metrics ?? new TributaryMetrics();
  }

  /** Connects the producer and starts relaying in the background. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new LifecycleError('Relay', 'start', this.#state);
    this.#state = 'running';
    this.#producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await this.#producer.connect();
    this.#logger.info({ batch_size: this.#batchSize }, 'relay started');
    this.#loop = this.#run();
  }

  /** Finishes the batch in flight, then disconnects. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return this.#loop;
    if (this.#state === 'idle') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping';
    this.#stopSignal.abort();
    await this.#loop;
    await this.#producer?.disconnect();
    this.#state = 'stopped';
    this.#logger.info({}, 'relay stopped');
  }

  /** Number of committed rows not yet published. */
  async backlog(): Promise<number> {
    const connection = await this.#pool.getConnection();
    try {
      return await countUnpublished(mariadbExecutor(connection), this.#tables);
    } finally {
      await connection.release();
    }
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#state === 'running') {
      try {
        const relayed = await this.#relayBatch();
        failures = 0;
        if (relayed < this.#batchSize) await sleep(jitter(this.#pollIntervalMs), this.#stopSignal.signal);
      } catch (error) {
        failures += 1;
        const waitMs = Math.min(this.#maxBackoffMs, 100 * 2 ** Math.min(failures, 10));
        this.#logger.error({ err: error, failures, retry_in_ms: waitMs }, 'relay batch failed; retrying');
        await sleep(jitter(waitMs), this.#stopSignal.signal);
      }
    }
  }

  /** Reads, sends and marks one batch. Returns the number of rows it published. */
  async #relayBatch(): Promise<number> {
    const connection = await this.#pool.getConnection();
    try {
      const executor = mariadbExecutor(connection);
      const rows = await readUnpublished(executor, this.#tables, this.#batchSize);
      if (rows.length === 0) return 0;

      const timer = this.#metrics.relayBatchSeconds.startTimer();
      await this.#send(rows);
      await markPublished(
        executor,
        this.#tables,
        rows.map((row) => row.id),
      );
      timer();
      for (const row of rows) this.#metrics.relayedEvents.inc({ topic: row.topic });
      this.#logger.debug({ rows: rows.length, first_id: rows[0]?.id, last_id: rows.at(-1)?.id }, 'relayed batch');
      return rows.length;
    } finally {
      await connection.release();
    }
  }

  async #send(rows: readonly OutboxRow[]): Promise<void> {
    const messagesByTopic = new Map<string, Message[]>();
    for (const row of rows) {
      let messages = messagesByTopic.get(row.topic);
      if (!messages) messagesByTopic.set(row.topic, (messages = []));
      messages.push(toKafkaMessage(row));
    }
    try {
      await this.#producer!.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [...messagesByTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (error) {
      throw new RelaySendError(`${rows.length} rows could not be sent to Kafka: ${(error as Error).message}`, error);
    }
  }
}

/** Builds the Kafka message of an outbox row; rows of one key keep their id (and key_seq) order. */
function toKafkaMessage(row: OutboxRow): Message {
  return {
    key: row.key,
    value: row.payload,
    headers: {
      ...row.headers,
      event_id: row.eventId,
      event_name: row.eventName,
      key_seq: row.keySeq.toString(),
      created_at: row.createdAt.toISOString(),
    },
  };
}

function jitter(milliseconds: number): number {
  return milliseconds * (0.75 + Math.random() * 0.5);
}
