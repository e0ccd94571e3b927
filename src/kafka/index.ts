export { consumerLag } from './consumer-lag.ts';
export type { PartitionLag } from './consumer-lag.ts';
export { ensureTopics } from './topics.ts';
export type { TopicSpec } from './topics.ts';
