import type { AnyEventDefinition, EventPayload } from '../events/index.ts';
import { TributaryError, UnsupportedError } from '../errors.ts';
import type { StoreDefinition } from './store-definition.ts';

/** The topology cannot run as built. */
export class TopologyError extends TributaryError {
  constructor(problem: string) {
    super('TOPOLOGY_INVALID', `Invalid topology: ${problem}`);
  }
}

/** Metadata of the record a processing function handles. */
export interface RecordContext {
  readonly eventId: string;
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** When the event was committed to the outbox (the `created_at` header), else the Kafka timestamp. */
  readonly publishedAt: Date;
  readonly headers: Readonly<Record<string, string>>;
}

export type Predicate<T> = (value: T, context: RecordContext) => boolean;
export type Initializer<V> = () => V;
/** Returns the key's new state, or null to delete it. */
export type Aggregator<T, V> = (key: string, value: T, state: V, context: RecordContext) => V | null;

/** Sink of a stream: the BigQuery event table named `table`. */
export interface BigQueryTableSink {
  readonly kind: 'bigquery-table';
  readonly table: string;
}

/** Sends a stream's records to a BigQuery table whose columns follow the event's Avro schema. */
export function bigQueryTable(table: string): BigQueryTableSink {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,1000}$/.test(table)) {
    throw new TopologyError(`the BigQuery table name ${JSON.stringify(table)} may only contain letters, digits and underscores.`);
  }
  return { kind: 'bigquery-table', table };
}

/** One path through the topology: a source, its filters, and the node at its end. */
export type Pipeline = SinkPipeline | AggregatePipeline;

interface PipelineBase {
  readonly event: AnyEventDefinition;
  readonly filters: readonly Predicate<unknown>[];
}

export interface SinkPipeline extends PipelineBase {
  readonly kind: 'sink';
  readonly sink: BigQueryTableSink;
}

export interface AggregatePipeline extends PipelineBase {
  readonly kind: 'aggregate';
  readonly store: StoreDefinition<unknown>;
  readonly initializer: Initializer<unknown>;
  readonly aggregator: Aggregator<unknown, unknown>;
}

/**
 * A stream of one event's records. Every method returns a new stream, so branches of one source
 * are independent.
 */
export class EventStream<T> {
  readonly #topology: Topology;
  readonly #event: AnyEventDefinition;
  readonly #filters: readonly Predicate<unknown>[];

  constructor(topology: Topology, event: AnyEventDefinition, filters: readonly Predicate<unknown>[] = []) {
    this.#topology = topology;
    this.#event = event;
    this.#filters = filters;
  }

  /** Keeps the records for which `predicate` returns true. */
  filter(predicate: Predicate<T>): EventStream<T> {
    return new EventStream(this.#topology, this.#event, [...this.#filters, predicate as Predicate<unknown>]);
  }

  /** Writes every record of the stream to the sink. */
  to(sink: BigQueryTableSink): void {
    this.#topology.addPipeline({ kind: 'sink', event: this.#event, filters: this.#filters, sink });
  }

  /** Groups records by their event key, the Kafka message key, so no repartitioning is needed. */
  groupByKey(): GroupedStream<T> {
    return new GroupedStream(this.#topology, this.#event, this.#filters);
  }
}

/** Records grouped by key, ready to fold into per-key state. */
export class GroupedStream<T> {
  readonly #topology: Topology;
  readonly #event: AnyEventDefinition;
  readonly #filters: readonly Predicate<unknown>[];

  constructor(topology: Topology, event: AnyEventDefinition, filters: readonly Predicate<unknown>[]) {
    this.#topology = topology;
    this.#event = event;
    this.#filters = filters;
  }

  /**
   * Folds each key's records into its state in `store`. The state starts from `initializer()`;
   * `aggregator` returns the new state, or null to delete the key. Each event is applied once:
   * after a crash, events at or before the key's stored offset are skipped.
   */
  aggregate<V>(store: StoreDefinition<V>, initializer: Initializer<V>, aggregator: Aggregator<T, V>): void {
    this.#topology.addPipeline({
      kind: 'aggregate',
      event: this.#event,
      filters: this.#filters,
      store: store as StoreDefinition<unknown>,
      initializer,
      aggregator: aggregator as Aggregator<unknown, unknown>,
    });
  }
}

/**
 * The processing graph of one application: streams of events from Kafka topics, their filters,
 * and where they end (BigQuery tables, state stores).
 *
 * @example
 * const topology = new Topology();
 * const orders = topology.stream(orderPlaced);
 * orders.to(bigQueryTable('order_events'));
 * orders.groupByKey().aggregate(customerTotals, () => ({ total: 0 }), (key, order, state) => ({ total: state.total + order.total }));
 */
export class Topology {
  readonly #pipelines: Pipeline[] = [];

  /** Starts a stream of the event's records, read from its topic. */
  stream<E extends AnyEventDefinition>(event: E): EventStream<EventPayload<E>> {
    const clash = this.#pipelines.find((pipeline) => pipeline.event.topic === event.topic && pipeline.event !== event);
    if (clash) {
      throw new TopologyError(
        `events ${clash.event.name} and ${event.name} both read topic ${event.topic}; a topic carries one event type.`,
      );
    }
    return new EventStream(this, event);
  }

  /** @internal Called by streams when a path through the topology is complete. */
  addPipeline(pipeline: Pipeline): void {
    if (pipeline.kind === 'aggregate') {
      const sameStore = this.#pipelines.find((other) => other.kind === 'aggregate' && other.store.name === pipeline.store.name);
      if (sameStore && sameStore.kind === 'aggregate' && sameStore.store !== pipeline.store) {
        throw new TopologyError(`two different state stores are named ${pipeline.store.name}.`);
      }
      // Duplicate detection compares key_seq numbers, which count per topic and key.
      if (sameStore && sameStore.event.topic !== pipeline.event.topic) {
        throw new UnsupportedError(
          `state store ${pipeline.store.name} is fed from topics ${sameStore.event.topic} and ${pipeline.event.topic}; ` +
            'a store aggregates one topic. Use one store per topic.',
        );
      }
    }
    this.#pipelines.push(pipeline);
  }

  get pipelines(): readonly Pipeline[] {
    return this.#pipelines;
  }

  /** Topics the topology reads. */
  get topics(): string[] {
    return [...new Set(this.#pipelines.map((pipeline) => pipeline.event.topic))];
  }

  /** Throws TopologyError when the topology has nothing to run. */
  validate(): void {
    if (this.#pipelines.length === 0) {
      throw new TopologyError('it has no streams that end in a sink or a state store; add .to(...) or .aggregate(...).');
    }
  }
}
