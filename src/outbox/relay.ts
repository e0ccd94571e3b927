import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import type { Kafka, Message, Producer } from 'kafkajs';
import { CompressionTypes, Partitioners } from 'kafkajs';
import type { Pool } from 'mariadb';

import { InvalidOptionError, LifecycleError, TributaryError } from '../errors.ts';
import type { Logger } from '../observe/index.ts';
import { TributaryMetrics, silentLogger } from '../observe/index.ts';
import { positiveInteger } from '../options.ts';
import { sleep } from '../sleep.ts';
import { BucketLeases } from './bucket-leases.ts';
import { onOutboxCommit } from './commit-signal.ts';
import { countUnpublished, deletePublished, markPublished, readUnpublished } from './outbox-rows.ts';
import type { OutboxRow } from './outbox-rows.ts';
import { outboxTables } from './outbox-schema.ts';
import type { OutboxTables } from './outbox-schema.ts';
import { parkKey } from './parked-keys.ts';
import { mariadbExecutor } from './sql-executor.ts';
import type { SqlExecutor } from './sql-executor.ts';

export interface RelayOptions {
  /** Pool of the database that contains the outbox. The relay takes one connection at a time. */
  readonly pool: Pool;
  /** kafkajs client; the relay creates its own idempotent producer from it. */
  readonly kafka: Kafka;
  /** @defaultValue 'tributary' */
  readonly tablePrefix?: string;
  /** Buckets keys hash into; must equal the publishers' `bucketCount`. @defaultValue 64 */
  readonly bucketCount?: number;
  /** Rows read and sent per batch. @defaultValue 500 */
  readonly batchSize?: number;
  /** Wait between polls when there is nothing to send, in milliseconds, before jitter. @defaultValue 200 */
  readonly pollIntervalMs?: number;
  /** Lease duration on the database clock, in milliseconds; renewed every third of it. @defaultValue 10000 */
  readonly leaseMs?: number;
  /** Failed sends of the same row before its key is parked. @defaultValue 5 */
  readonly maxAttempts?: number;
  /** Published rows older than this many seconds are deleted. @defaultValue 604800 (7 days) */
  readonly retentionSeconds?: number;
  /** Maximum wait after a failed batch, in milliseconds; waits grow from 100 ms. @defaultValue 5000 */
  readonly maxBackoffMs?: number;
  /** Identifies this relay in the lease table and in `published_by`. @defaultValue host-pid-random */
  readonly relayId?: string;
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

const cleanupBatchRows = 1000;
/** MariaDB error numbers of a deadlock (ER_LOCK_DEADLOCK) and a lock wait timeout (ER_LOCK_WAIT_TIMEOUT). */
const lockDeadlock = 1213;
const lockWaitTimeout = 1205;
const markAttempts = 10;
const cleanupIntervalMs = 60_000;

/**
 * Moves committed outbox rows to Kafka. Several relays share the work: each leases buckets of keys
 * (see BucketLeases), reads the unpublished rows of its buckets in id order, which is each key's
 * `key_seq` order, sends them with an idempotent producer and acks=all, and marks them published
 * only after Kafka acknowledged them. A crash between the two sends the rows again (at-least-once).
 *
 * A row that keeps failing parks its key: the key's later rows wait, other keys go on, and
 * releasing the key (`tributary parked release`) resumes it in order.
 */
export class Relay {
  readonly relayId: string;
  readonly #pool: Pool;
  readonly #kafka: Kafka;
  readonly #tables: OutboxTables;
  readonly #bucketCount: number;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #leaseMs: number;
  readonly #maxAttempts: number;
  readonly #retentionSeconds: number;
  readonly #maxBackoffMs: number;
  readonly #logger: Logger;
  readonly #metrics: TributaryMetrics;
  readonly #leases: BucketLeases;
  /** Failed sends per outbox row id, for parking. Kept in memory: a restarted relay counts again. */
  readonly #failures = new Map<bigint, number>();
  #state: RelayState = 'idle';
  #producer: Producer | undefined;
  #loop: Promise<void> | undefined;
  #wake = new AbortController();
  readonly #stopSignal = new AbortController();
  #nextLeaseCheck = 0;
  #nextCleanup = 0;
  #unsubscribe: (() => void) | undefined;

  constructor(options: RelayOptions) {
    this.#pool = options.pool;
    this.#kafka = options.kafka;
    this.#tables = outboxTables(options.tablePrefix);
    this.#bucketCount = positiveInteger('bucketCount', options.bucketCount, 64);
    if (this.#bucketCount > 65535) throw new InvalidOptionError('bucketCount', options.bucketCount, 'an integer from 1 to 65535');
    this.#batchSize = positiveInteger('batchSize', options.batchSize, 500);
    this.#pollIntervalMs = positiveInteger('pollIntervalMs', options.pollIntervalMs, 200);
    this.#leaseMs = positiveInteger('leaseMs', options.leaseMs, 10_000);
    this.#maxAttempts = positiveInteger('maxAttempts', options.maxAttempts, 5);
    this.#retentionSeconds = positiveInteger('retentionSeconds', options.retentionSeconds, 7 * 24 * 3600);
    this.#maxBackoffMs = positiveInteger('maxBackoffMs', options.maxBackoffMs, 5000);
    this.relayId = options.relayId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'relay', relay_id: this.relayId });
    this.#metrics = options.metrics ?? new TributaryMetrics();
    this.#leases = new BucketLeases(this.relayId, this.#tables, this.#bucketCount, this.#leaseMs);
  }

  /** Connects the producer, creates the lease rows and starts relaying in the background. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new LifecycleError('Relay', 'start', this.#state);
    this.#state = 'running';
    await this.#withConnection(async (executor) => {
      await this.#checkBucketCount(executor);
      await this.#leases.prepare(executor);
    });
    await this.#connectProducer();
    this.#unsubscribe = onOutboxCommit(() => this.#wake.abort());
    this.#logger.info({ batch_size: this.#batchSize, buckets: this.#bucketCount, lease_ms: this.#leaseMs }, 'relay started');
    this.#loop = this.#run();
  }

  /** Finishes the batch in flight, hands its buckets back, then disconnects. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return this.#loop;
    if (this.#state === 'idle') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping';
    this.#stopSignal.abort();
    this.#wake.abort();
    await this.#loop;
    this.#unsubscribe?.();
    await this.#withConnection((executor) => this.#leases.releaseAll(executor)).catch((error: unknown) =>
      this.#logger.warn({ err: error }, 'could not hand back the bucket leases; they expire by themselves'),
    );
    await this.#producer?.disconnect();
    this.#state = 'stopped';
    this.#logger.info({}, 'relay stopped');
  }

  /** Rows in buckets this relay's bucket count does not have would never be sent: refuse to start. */
  async #checkBucketCount(executor: SqlExecutor): Promise<void> {
    const [row] = await executor.query(
      `SELECT COUNT(*) AS stray FROM ${this.#tables.outbox} WHERE published_at IS NULL AND bucket >= ?`,
      [this.#bucketCount],
    );
    if (Number(row?.stray ?? 0) > 0) {
      this.#state = 'stopped';
      throw new InvalidOptionError(
        'bucketCount',
        this.#bucketCount,
        `the bucket count the publishers use: ${row!.stray} unpublished rows are in buckets at or above it`,
      );
    }
  }

  /** Buckets this relay holds a lease on right now. */
  ownedBuckets(): number[] {
    return this.#leases.owned().map((owned) => owned.bucket);
  }

  /** Number of committed rows not yet published, over all buckets. */
  async backlog(): Promise<number> {
    return this.#withConnection((executor) => countUnpublished(executor, this.#tables));
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#state === 'running') {
      try {
        await this.#maintain();
        const relayed = await this.#withConnection((executor) => this.#relayBatch(executor));
        failures = 0;
        if (relayed < this.#batchSize) await this.#idle();
      } catch (error) {
        failures += 1;
        const waitMs = Math.min(this.#maxBackoffMs, 100 * 2 ** Math.min(failures, 10));
        this.#logger.error({ err: error, failures, retry_in_ms: waitMs }, 'relay batch failed; retrying');
        await sleep(jitter(waitMs), this.#stopSignal.signal);
      }
    }
  }

  /** Waits for the poll interval, the next lease check, or a local commit, whichever comes first. */
  async #idle(): Promise<void> {
    // A commit signalled while the last batch ran has already aborted the signal: poll at once.
    if (!this.#wake.signal.aborted) {
      const untilLeaseCheck = Math.max(0, this.#nextLeaseCheck - performance.now());
      await sleep(Math.min(jitter(this.#pollIntervalMs), untilLeaseCheck), this.#wake.signal);
    }
    if (this.#wake.signal.aborted && this.#state === 'running') this.#wake = new AbortController();
  }

  async #maintain(): Promise<void> {
    const now = performance.now();
    if (now >= this.#nextLeaseCheck) {
      this.#nextLeaseCheck = now + this.#leaseMs / 3;
      try {
        const changes = await this.#withConnection((executor) => this.#leases.maintain(executor, this.#leaseMs));
        if (changes.acquired.length + changes.lost.length + changes.released.length > 0) {
          this.#logger.info({ ...changes, owned: this.ownedBuckets().length }, 'bucket leases changed');
        }
      } catch (error) {
        // Unknown lease state: stop work on every bucket until a maintenance round succeeds.
        this.#leases.forget();
        throw error;
      }
    }
    if (now >= this.#nextCleanup) {
      this.#nextCleanup = now + cleanupIntervalMs;
      const deleted = await this.#withConnection((executor) => deletePublished(executor, this.#tables, this.#retentionSeconds, cleanupBatchRows));
      if (deleted > 0) this.#logger.debug({ deleted }, 'deleted published rows past retention');
    }
  }

  /** Reads, sends and marks one batch. Returns the number of rows read. */
  async #relayBatch(executor: SqlExecutor): Promise<number> {
    const owned = this.#leases.owned();
    const rows = await readUnpublished(
      executor,
      this.#tables,
      owned.map((lease) => lease.bucket),
      this.#batchSize,
    );
    if (rows.length === 0) return 0;

    const timer = this.#metrics.relayBatchSeconds.startTimer();
    const tokens = new Map(owned.map((lease) => [lease.bucket, lease.token]));
    try {
      await this.#send(rows);
      await this.#mark(executor, rows, tokens);
    } catch (error) {
      if (!(error instanceof RelaySendError)) throw error;
      // Some row in the batch cannot be sent: send row by row, so the others go through and the
      // failing row is found and, after enough attempts, its key parked.
      this.#logger.warn({ err: error, rows: rows.length }, 'batch send failed; sending row by row');
      await this.#reconnectProducer();
      await this.#sendKeyByKey(executor, rows, tokens);
    } finally {
      timer();
    }
    return rows.length;
  }

  /**
   * Sends each key's rows one at a time, in order, marking each after its acknowledgement. A key
   * stops at its first failing row, which is the one counted (and parked) for the failure. When
   * nothing went through and every error was transient, Kafka itself is unavailable: nothing is
   * counted, and the batch waits for the relay's back-off.
   */
  async #sendKeyByKey(executor: SqlExecutor, rows: readonly OutboxRow[], tokens: ReadonlyMap<number, bigint>): Promise<void> {
    const failures: { row: OutboxRow; error: RelaySendError }[] = [];
    let sent = 0;
    for (const keyRows of groupByKey(rows)) {
      for (const row of keyRows) {
        try {
          await this.#send([row]);
        } catch (error) {
          if (!(error instanceof RelaySendError)) throw error;
          failures.push({ row, error });
          await this.#reconnectProducer();
          break;
        }
        await this.#mark(executor, [row], tokens);
        sent += 1;
      }
    }
    if (sent === 0 && failures.every((failure) => isTransient(failure.error))) {
      throw new RelaySendError(`Kafka is unavailable: ${failures[0]?.error.message ?? 'no row could be sent'}`, failures[0]?.error);
    }
    for (const failure of failures) await this.#recordFailure(executor, failure.row, failure.error);
  }

  async #recordFailure(executor: SqlExecutor, head: OutboxRow, error: RelaySendError): Promise<void> {
    const attempts = (this.#failures.get(head.id) ?? 0) + 1;
    this.#failures.set(head.id, attempts);
    const fields = { event_id: head.eventId, topic: head.topic, key: head.key, key_seq: head.keySeq, attempts, err: error };
    if (attempts < this.#maxAttempts) {
      this.#logger.warn(fields, 'send failed; the key will be tried again');
      return;
    }
    await parkKey(executor, this.#tables, head, attempts, (error.cause as Error | undefined)?.message ?? error.message);
    this.#failures.delete(head.id);
    this.#metrics.parkedKeys.inc({ topic: head.topic });
    this.#logger.error(fields, 'key parked after repeated send failures; release it with `tributary parked release`');
  }

  async #mark(executor: SqlExecutor, rows: readonly OutboxRow[], tokens: ReadonlyMap<number, bigint>): Promise<void> {
    const marked = await this.#markWithRetries(executor, rows, tokens);
    for (const row of rows) this.#metrics.relayedEvents.inc({ topic: row.topic });
    if (marked < rows.length) {
      // The lease of some bucket expired or moved while the batch was out: another relay owns those
      // rows now and publishes them again. Check the leases before anything else.
      this.#logger.warn({ rows: rows.length, marked }, 'lease lost during a batch; its unmarked rows are left to the new owner');
      this.#nextLeaseCheck = 0;
    }
  }

  /**
   * Marks the rows, retrying deadlocks and lock wait timeouts: the rows are already in Kafka, and
   * giving up here would send them all again.
   */
  async #markWithRetries(executor: SqlExecutor, rows: readonly OutboxRow[], tokens: ReadonlyMap<number, bigint>): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await markPublished(executor, this.#tables, rows, { relayId: this.relayId, tokens });
      } catch (error) {
        const errno = (error as { errno?: number }).errno;
        if (attempt >= markAttempts || (errno !== lockDeadlock && errno !== lockWaitTimeout)) throw error;
        this.#logger.warn({ err: error, attempt, rows: rows.length }, 'marking rows as published failed on a lock; retrying');
        await sleep(jitter(20 * attempt));
      }
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

  async #connectProducer(): Promise<void> {
    this.#producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      // An idempotent kafkajs producer retries without end by default. The relay needs the
      // failure to reach it, so that it can send row by row and park a key that keeps failing.
      retry: { retries: 3, maxRetryTime: 5000 },
    });
    await this.#producer.connect();
  }

  /** A failed idempotent send can leave the producer's sequence numbers out of step; start afresh. */
  async #reconnectProducer(): Promise<void> {
    await this.#producer?.disconnect().catch(() => undefined);
    await this.#connectProducer();
  }

  async #withConnection<T>(work: (executor: SqlExecutor) => Promise<T>): Promise<T> {
    const connection = await this.#pool.getConnection();
    try {
      return await work(mariadbExecutor(connection));
    } finally {
      await connection.release();
    }
  }
}

/** True when kafkajs marked the send's error (or the error under its retries) as retriable. */
function isTransient(error: RelaySendError): boolean {
  const cause = error.cause as { retriable?: boolean; originalError?: { retriable?: boolean } } | undefined;
  return (cause?.originalError?.retriable ?? cause?.retriable) === true;
}

/** Splits rows into one list per topic and key, each in id (and so key_seq) order. */
function groupByKey(rows: readonly OutboxRow[]): OutboxRow[][] {
  const groups = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const id = `${row.topic}\u0000${row.key}`;
    const group = groups.get(id);
    if (group) group.push(row);
    else groups.set(id, [row]);
  }
  return [...groups.values()];
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
