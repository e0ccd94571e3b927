export { KeyValueStore, StateStoreError } from './key-value-store.ts';
export type { KeyValueStoreOptions } from './key-value-store.ts';
export { MemoryStateBackend } from './state-backend.ts';
export type { StateBackend, StatePosition, StoredState } from './state-backend.ts';
export { StoreDefinitionError, defineStore } from './store-definition.ts';
export type { StoreDefinition } from './store-definition.ts';
export type { EventSink, SinkRecord, SinkRejection } from './event-sink.ts';
export { deadLetterHeaders, sendDeadLetters } from './dead-letters.ts';
export type { DeadLetter, DeadLetterStage } from './dead-letters.ts';
export { headersToStrings } from './input-record.ts';
export type { InputRecord } from './input-record.ts';
export { EventStream, GroupedStream, Topology, TopologyError, bigQueryTable } from './topology.ts';
export type {
  AggregatePipeline,
  Aggregator,
  BigQueryTableSink,
  Initializer,
  Pipeline,
  Predicate,
  RecordContext,
  SinkPipeline,
} from './topology.ts';
export { BatchProcessor } from './batch-processor.ts';
export type { BatchResult, RecordDecoder } from './batch-processor.ts';
export { Runner } from './runner.ts';
export type { RunnerOptions } from './runner.ts';
