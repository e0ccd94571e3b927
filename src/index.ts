export * from './errors.ts';
export * from './events/index.ts';
export * from './outbox/index.ts';
export * from './streams/index.ts';
export * from './bigquery/index.ts';
export * from './kafka/index.ts';
export * from './observe/index.ts';
