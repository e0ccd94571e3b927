import { Counter, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one process. Pass a prom-client Registry to expose them next to the
 * application's own metrics; by default they go to a registry of their own.
 */
export class TributaryMetrics {
  readonly registry: Registry;
  /** Events the relay sent to Kafka and marked as published, by topic. */
  readonly relayedEvents: Counter<'topic'>;
  /** Keys the relay parked after repeated send failures, by topic. */
  readonly parkedKeys: Counter<'topic'>;
  /** Seconds from reading a relay batch to marking it published. */
  readonly relayBatchSeconds: Histogram;
  /** Records the runner processed, by topic and outcome (`processed`, `skipped`, `dead_lettered`). */
  readonly runnerRecords: Counter<'topic' | 'outcome'>;
  /** Seconds the runner took per batch, from its first record to the offset commit. */
  readonly runnerBatchSeconds: Histogram;
  /** Rows written to BigQuery, by table. */
  readonly bigQueryRows: Counter<'table'>;
  /** State store look-ups, by store and result (`hit`, `miss`). */
  readonly stateLookups: Counter<'store' | 'result'>;
  /** Records sent to a dead letter topic, by source topic and error code. */
  readonly deadLetters: Counter<'topic' | 'code'>;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.relayedEvents = new Counter({
      name: 'tributary_relay_events_total',
      help: 'Events the relay sent to Kafka and marked as published.',
      labelNames: ['topic'],
      registers,
    });
    this.parkedKeys = new Counter({
      name: 'tributary_relay_parked_keys_total',
      help: 'Keys the relay parked after repeated send failures.',
      labelNames: ['topic'],
      registers,
    });
    this.relayBatchSeconds = new Histogram({
      name: 'tributary_relay_batch_seconds',
      help: 'Seconds from reading a relay batch to marking it published.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.runnerRecords = new Counter({
      name: 'tributary_runner_records_total',
      help: 'Records the runner handled, by topic and outcome.',
      labelNames: ['topic', 'outcome'],
      registers,
    });
    this.runnerBatchSeconds = new Histogram({
      name: 'tributary_runner_batch_seconds',
      help: 'Seconds per runner batch, from the first record to the offset commit.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.bigQueryRows = new Counter({
      name: 'tributary_bigquery_rows_total',
      help: 'Rows written to BigQuery, by table.',
      labelNames: ['table'],
      registers,
    });
    this.stateLookups = new Counter({
      name: 'tributary_state_lookups_total',
      help: 'State store look-ups, by store and result (hit or miss of the in-memory cache).',
      labelNames: ['store', 'result'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'tributary_dead_letters_total',
      help: 'Records sent to the dead letter topic, by source topic and error code.',
      labelNames: ['topic', 'code'],
      registers,
    });
  }
}
