import type { BigQuery } from '@google-cloud/bigquery';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';

import { BigQueryEventSink, BigQueryStateBackend, RowWriter, TableManager } from '../bigquery/index.ts';
import { InvalidOptionError, LifecycleError } from '../errors.ts';
import type { EventRegistry } from '../events/index.ts';
import { ensureTopics } from '../kafka/index.ts';
import type { Logger } from '../observe/index.ts';
import { TributaryMetrics, silentLogger } from '../observe/index.ts';
import { positiveInteger } from '../options.ts';
import { BatchProcessor } from './batch-processor.ts';
import { sendDeadLetters } from './dead-letters.ts';
import type { DeadLetter } from './dead-letters.ts';
import type { EventSink } from './event-sink.ts';
import { headersToStrings } from './input-record.ts';
import type { InputRecord } from './input-record.ts';
import { KeyValueStore } from './key-value-store.ts';
import type { Topology } from './topology.ts';

export interface RunnerOptions {
  /** Names the consumer group, the dead letter topic and the logs. One application, one id. */
  readonly applicationId: string;
  readonly topology: Topology;
  /** kafkajs client; the runner creates its own consumer and producer from it. */
  readonly kafka: Kafka;
  /** Registry the events are registered in; decodes records written with any registered schema. */
  readonly registry: EventRegistry;
  readonly bigquery: {
    readonly client: BigQuery;
    /** Dataset that contains the event tables and state tables; created when missing. */
    readonly dataset: string;
  };
  /** @defaultValue `<applicationId>.dead-letters` */
  readonly deadLetterTopic?: string;
  /** Clean state entries kept in memory per store. @defaultValue 10000 */
  readonly cacheSize?: number;
  /**
   * Most bytes fetched per partition and batch; smaller batches commit more often.
   * @defaultValue 1048576 (kafkajs's default)
   */
  readonly maxBatchBytes?: number;
  /**
   * Milliseconds without a heartbeat after which Kafka gives a crashed process's partitions to
   * the others. The broker accepts 6000 to 300000 by default.
   * @defaultValue 30000
   */
  readonly sessionTimeoutMs?: number;
  /** Partitions processed at the same time. @defaultValue 1 */
  readonly partitionsConsumedConcurrently?: number;
  readonly logger?: Logger;
  readonly metrics?: TributaryMetrics;
}

type RunnerState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

const applicationIdPattern = /^[A-Za-z0-9._-]{1,200}$/;

/**
 * Runs a topology in a Kafka consumer group. Per batch of one partition it processes the records,
 * writes sink rows and changed state to BigQuery, sends dead letters, and only then commits the
 * offsets, so a crash or rebalance at any point loses nothing. Start more processes with the same
 * application id to share the partitions.
 */
export class Runner {
  readonly applicationId: string;
  readonly deadLetterTopic: string;
  readonly #options: RunnerOptions;
  readonly #logger: Logger;
  readonly #metrics: TributaryMetrics;
  readonly #stores = new Map<string, KeyValueStore<unknown>>();
  readonly #sinks = new Map<string, EventSink>();
  #state: RunnerState = 'idle';
  #consumer: Consumer | undefined;
  #producer: Producer | undefined;
  #processor: BatchProcessor | undefined;

  constructor(options: RunnerOptions) {
    if (!applicationIdPattern.test(options.applicationId ?? '')) {
      throw new InvalidOptionError('applicationId', options.applicationId, "letters, digits, '.', '_' or '-', at most 200 characters");
    }
    positiveInteger('cacheSize', options.cacheSize, 1);
    positiveInteger('partitionsConsumedConcurrently', options.partitionsConsumedConcurrently, 1);
    positiveInteger('maxBatchBytes', options.maxBatchBytes, 1);
    positiveInteger('sessionTimeoutMs', options.sessionTimeoutMs, 1);
    options.topology.validate();
    this.applicationId = options.applicationId;
    this.deadLetterTopic = options.deadLetterTopic ?? `${options.applicationId}.dead-letters`;
    this.#options = options;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'runner', app: options.applicationId });
    this.#metrics = options.metrics ?? new TributaryMetrics();
  }

  get state(): RunnerState {
    return this.#state;
  }

  /** Creates missing tables, views and topics, joins the consumer group and starts processing. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new LifecycleError('Runner', 'start', this.#state);
    this.#state = 'starting';
    try {
      await this.#openOutputs();
      await ensureTopics(this.#options.kafka, [{ topic: this.deadLetterTopic }]);
      await this.#connect();
      this.#state = 'running';
      this.#logger.info({ topics: this.#options.topology.topics }, 'runner started');
    } catch (error) {
      this.#state = 'stopped';
      await this.#disconnect();
      throw error;
    }
  }

  /** Lets the batch in flight finish and commit, then leaves the consumer group. */
  async stop(): Promise<void> {
    if (this.#state !== 'running' && this.#state !== 'starting') return;
    this.#state = 'stopping';
    await this.#disconnect();
    this.#state = 'stopped';
    this.#logger.info({}, 'runner stopped');
  }

  async #openOutputs(): Promise<void> {
    const { client, dataset } = this.#options.bigquery;
    const manager = new TableManager(client, dataset, this.#logger);
    const writer = new RowWriter(manager.dataset, { metrics: this.#metrics });
    for (const pipeline of this.#options.topology.pipelines) {
      if (pipeline.kind === 'sink' && !this.#sinks.has(pipeline.sink.table)) {
        const sink = new BigQueryEventSink(pipeline.sink.table, pipeline.event, manager, writer);
        await sink.open();
        this.#sinks.set(sink.name, sink);
      }
      if (pipeline.kind === 'aggregate' && !this.#stores.has(pipeline.store.name)) {
        const backend = new BigQueryStateBackend(pipeline.store, client, manager, writer);
        const store = new KeyValueStore(pipeline.store.name, backend, { cacheSize: this.#options.cacheSize });
        await store.open();
        this.#stores.set(store.name, store);
      }
    }
    this.#processor = new BatchProcessor(this.#options.topology.pipelines, this.#options.registry, this.#sinks, this.#stores);
  }

  async #connect(): Promise<void> {
    const { kafka } = this.#options;
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.#producer.connect();

    this.#consumer = kafka.consumer({
      groupId: this.applicationId,
      readUncommitted: false,
      maxBytesPerPartition: this.#options.maxBatchBytes ?? 1_048_576,
      sessionTimeout: this.#options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.max(100, Math.floor((this.#options.sessionTimeoutMs ?? 30_000) / 10)),
    });
    // After a rebalance another process may have changed keys this one cached: read them again.
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, (event) => {
      for (const store of this.#stores.values()) store.reset();
      this.#logger.info({ assignment: event.payload.memberAssignment }, 'joined consumer group');
    });
    this.#consumer.on(this.#consumer.events.CRASH, (event) => {
      this.#logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
    });
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: this.#options.topology.topics, fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.#handleBatch(payload),
    });
  }

  async #handleBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0 || !isRunning() || isStale()) return;
    const timer = this.#metrics.runnerBatchSeconds.startTimer();
    const records: InputRecord[] = batch.messages.map((message) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: Number(message.offset),
      key: message.key,
      value: message.value,
      headers: headersToStrings(message.headers),
      timestamp: Number(message.timestamp),
    }));
    const position = { topic: batch.topic, partition: batch.partition, first_offset: records[0]!.offset, last_offset: records.at(-1)!.offset };

    try {
      const result = await this.#processor!.process(records);
      await sendDeadLetters(this.#producer!, this.deadLetterTopic, this.applicationId, result.deadLetters);
      const lastOffset = records.at(-1)!.offset;
      await this.#consumer!.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(lastOffset + 1) }]);
      // Committing does not move kafkajs's fetch position; resolving does, so the batch is not fetched again.
      resolveOffset(String(lastOffset));
      this.#record(batch.topic, result.processed, result.skipped, result.deadLetters);
      this.#logger.debug({ ...position, records: records.length, skipped: result.skipped }, 'batch committed');
    } catch (error) {
      // Nothing of this batch is committed; drop unwritten state so the retry reads BigQuery again.
      for (const store of this.#stores.values()) store.reset();
      this.#logger.error({ ...position, err: error }, 'batch failed; it will be processed again');
      throw error;
    } finally {
      timer();
    }
    await heartbeat();
  }

  #record(topic: string, processed: number, skipped: number, deadLetters: readonly DeadLetter[]): void {
    this.#metrics.runnerRecords.inc({ topic, outcome: 'processed' }, processed);
    if (skipped > 0) this.#metrics.runnerRecords.inc({ topic, outcome: 'skipped' }, skipped);
    for (const letter of deadLetters) {
      this.#metrics.deadLetters.inc({ topic, code: letter.code });
      this.#logger.warn(
        {
          event_id: letter.record.headers.event_id,
          topic: letter.record.topic,
          partition: letter.record.partition,
          offset: letter.record.offset,
          stage: letter.stage,
          code: letter.code,
          reason: letter.reason,
        },
        'record sent to the dead letter topic',
      );
    }
  }

  async #disconnect(): Promise<void> {
    await this.#consumer?.disconnect().catch((error: unknown) => this.#logger.warn({ err: error }, 'consumer disconnect failed'));
    await this.#producer?.disconnect().catch((error: unknown) => this.#logger.warn({ err: error }, 'producer disconnect failed'));
  }
}
