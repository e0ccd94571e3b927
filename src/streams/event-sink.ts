import type { RecordContext } from './topology.ts';

/** One event bound for a sink. */
export interface SinkRecord {
  readonly payload: Record<string, unknown>;
  readonly context: RecordContext;
}

/** A record the sink refused; the runner dead-letters it. `index` points into the written array. */
export interface SinkRejection {
  readonly index: number;
  readonly reason: string;
}

/** Destination of a stream's events, such as a BigQuery event table. */
export interface EventSink {
  readonly name: string;
  /** Prepares the destination (creates or evolves the table). */
  open(): Promise<void>;
  /** Writes the records; throws when nothing can be written, returns the records refused one by one. */
  write(records: readonly SinkRecord[]): Promise<SinkRejection[]>;
}
