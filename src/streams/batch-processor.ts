import type { AnyEventDefinition } from '../events/index.ts';
import { TributaryError } from '../errors.ts';
import type { DeadLetter } from './dead-letters.ts';
import type { EventSink, SinkRecord } from './event-sink.ts';
import type { InputRecord } from './input-record.ts';
import type { KeyValueStore } from './key-value-store.ts';
import type { AggregatePipeline, Pipeline, RecordContext } from './topology.ts';

/** Decodes a Confluent-framed record value as an event; EventRegistry is the real one. */
export interface RecordDecoder {
  decode(event: AnyEventDefinition, value: Buffer | null): Promise<{ value: unknown }>;
}

export interface BatchResult {
  readonly processed: number;
  /** Aggregations skipped because the key's state already included the event (a replay after a crash). */
  readonly skipped: number;
  readonly deadLetters: DeadLetter[];
}

interface DecodedRecord {
  readonly record: InputRecord;
  readonly payload: Record<string, unknown>;
  readonly context: RecordContext;
}

/**
 * Runs the topology over one batch of records of one partition and writes the results: sink rows
 * and changed state. The caller commits the offsets once this returns. A crash before that
 * processes the batch again, and the offsets stored with the state make state changes apply once.
 */
export class BatchProcessor {
  readonly #pipelinesByTopic = new Map<string, Pipeline[]>();
  readonly #decoder: RecordDecoder;
  readonly #sinks: ReadonlyMap<string, EventSink>;
  readonly #stores: ReadonlyMap<string, KeyValueStore<unknown>>;

  constructor(
    pipelines: readonly Pipeline[],
    decoder: RecordDecoder,
    sinks: ReadonlyMap<string, EventSink>,
    stores: ReadonlyMap<string, KeyValueStore<unknown>>,
  ) {
    for (const pipeline of pipelines) {
      const list = this.#pipelinesByTopic.get(pipeline.event.topic) ?? [];
      list.push(pipeline);
      this.#pipelinesByTopic.set(pipeline.event.topic, list);
    }
    this.#decoder = decoder;
    this.#sinks = sinks;
    this.#stores = stores;
  }

  async process(records: readonly InputRecord[]): Promise<BatchResult> {
    const deadLetters: DeadLetter[] = [];
    const decoded = await this.#decodeAll(records, deadLetters);
    await this.#loadState(decoded);

    const sinkBatches = new Map<string, DecodedRecord[]>();
    let skipped = 0;
    for (const item of decoded) {
      for (const pipeline of this.#pipelinesByTopic.get(item.record.topic) ?? []) {
        try {
          if (!passesFilters(pipeline, item)) continue;
          if (pipeline.kind === 'sink') {
            appendTo(sinkBatches, pipeline.sink.table, item);
          } else if (!this.#aggregate(pipeline, item)) {
            skipped += 1;
          }
        } catch (error) {
          deadLetters.push(toDeadLetter(item.record, 'process', pipelineNode(pipeline), error));
        }
      }
      await this.#spillIfNeeded();
    }

    await this.#writeSinks(sinkBatches, deadLetters);
    for (const store of this.#stores.values()) await store.flush();
    return { processed: decoded.length, skipped, deadLetters };
  }

  async #decodeAll(records: readonly InputRecord[], deadLetters: DeadLetter[]): Promise<DecodedRecord[]> {
    const decoded: DecodedRecord[] = [];
    for (const record of records) {
      const event = this.#pipelinesByTopic.get(record.topic)?.[0]?.event;
      if (!event) continue;
      try {
        const { value } = await this.#decoder.decode(event, record.value);
        decoded.push({ record, payload: value as Record<string, unknown>, context: contextOf(record) });
      } catch (error) {
        deadLetters.push(toDeadLetter(record, 'decode', record.topic, error));
      }
    }
    return decoded;
  }

  /** Loads the state of every key in the batch, one backend read per store. */
  async #loadState(decoded: readonly DecodedRecord[]): Promise<void> {
    const keysByStore = new Map<string, Set<string>>();
    for (const item of decoded) {
      for (const pipeline of this.#pipelinesByTopic.get(item.record.topic) ?? []) {
        if (pipeline.kind !== 'aggregate') continue;
        const keys = keysByStore.get(pipeline.store.name) ?? new Set<string>();
        keys.add(item.context.key);
        keysByStore.set(pipeline.store.name, keys);
      }
    }
    for (const [storeName, keys] of keysByStore) await this.#store(storeName).load(keys);
  }

  /** Applies one record to its key's state. Returns false when the state already included it. */
  #aggregate(pipeline: AggregatePipeline, item: DecodedRecord): boolean {
    const { key, partition, offset } = item.context;
    if (item.record.key === null) {
      throw new TributaryError('STATE_INVALID', `record has no key, so it cannot be grouped by key into ${pipeline.store.name}.`);
    }
    const store = this.#store(pipeline.store.name);
    const current = store.get(key);
    // Replayed after a crash of the runner: the state already includes this offset.
    if (current && current.partition === partition && current.offset >= offset) return false;
    // Sent twice by the relay: the state already includes this key_seq.
    const sequence = sequenceOf(item.record);
    if (current?.sequence !== undefined && sequence !== undefined && sequence <= current.sequence) return false;

    const next = pipeline.aggregator(key, item.payload, current?.value ?? pipeline.initializer(), item.context);
    if (next !== null) checkStateValue(pipeline, key, next);
    store.put(key, next, { partition, offset, sequence });
    return true;
  }

  async #spillIfNeeded(): Promise<void> {
    for (const store of this.#stores.values()) {
      if (store.needsSpill) await store.flush();
    }
  }

  async #writeSinks(batches: ReadonlyMap<string, DecodedRecord[]>, deadLetters: DeadLetter[]): Promise<void> {
    for (const [table, items] of batches) {
      const sink = this.#sinks.get(table);
      if (!sink) throw new TributaryError('TOPOLOGY_INVALID', `no sink was opened for table ${table}.`);
      const sinkRecords: SinkRecord[] = items.map((item) => ({ payload: item.payload, context: item.context }));
      const rejections = await sink.write(sinkRecords);
      for (const rejection of rejections) {
        deadLetters.push({
          record: items[rejection.index]!.record,
          stage: 'sink',
          code: 'BIGQUERY_WRITE_FAILED',
          reason: rejection.reason,
          node: table,
        });
      }
    }
  }

  #store(name: string): KeyValueStore<unknown> {
    const store = this.#stores.get(name);
    if (!store) throw new TributaryError('TOPOLOGY_INVALID', `no state store named ${name} was opened.`);
    return store;
  }
}

function contextOf(record: InputRecord): RecordContext {
  const createdAt = record.headers.created_at ? new Date(record.headers.created_at) : undefined;
  return {
    eventId: record.headers.event_id ?? `${record.topic}-${record.partition}-${record.offset}`,
    key: record.key?.toString() ?? '',
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    publishedAt: createdAt && !Number.isNaN(createdAt.getTime()) ? createdAt : new Date(record.timestamp),
    headers: record.headers,
  };
}

function sequenceOf(record: InputRecord): number | undefined {
  const header = record.headers.key_seq;
  if (header === undefined) return undefined;
  const sequence = Number(header);
  return Number.isSafeInteger(sequence) && sequence > 0 ? sequence : undefined;
}

function passesFilters(pipeline: Pipeline, item: DecodedRecord): boolean {
  return pipeline.filters.every((predicate) => predicate(item.payload, item.context));
}

function checkStateValue(pipeline: AggregatePipeline, key: string, value: unknown): void {
  const invalid: string[] = [];
  const valid = pipeline.store.valueType.isValid(value, {
    errorHook: (path) => invalid.push(path.join('.') || '(value)'),
  });
  if (!valid) {
    throw new TributaryError(
      'STATE_INVALID',
      `the aggregator of ${pipeline.store.name} returned a value for key ${JSON.stringify(key)} that does not match the store schema at ${invalid.join(', ')}.`,
    );
  }
}

function pipelineNode(pipeline: Pipeline): string {
  return pipeline.kind === 'sink' ? pipeline.sink.table : pipeline.store.name;
}

function appendTo<T>(map: Map<string, T[]>, name: string, item: T): void {
  const list = map.get(name);
  if (list) list.push(item);
  else map.set(name, [item]);
}

function toDeadLetter(record: InputRecord, stage: DeadLetter['stage'], node: string, error: unknown): DeadLetter {
  const code = error instanceof TributaryError ? error.code : 'UNKNOWN';
  return { record, stage, code, reason: (error as Error)?.message ?? String(error), node };
}
