import type { Kafka } from 'kafkajs';

export interface TopicSpec {
  readonly topic: string;
  /** @defaultValue 3 */
  readonly partitions?: number;
  /** @defaultValue 1, which suits a single local broker; production clusters want 3. */
  readonly replicationFactor?: number;
  /** Topic-level settings such as `retention.ms` or `cleanup.policy`. */
  readonly config?: Readonly<Record<string, string>>;
}

/**
 * Creates the topics that do not exist yet and leaves existing ones as they are.
 * Returns the names of the topics it created.
 */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((spec) => !existing.has(spec.topic));
    if (missing.length === 0) return [];
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.partitions ?? 3,
        replicationFactor: spec.replicationFactor ?? 1,
        configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
    return missing.map((spec) => spec.topic);
  } finally {
    await admin.disconnect();
  }
}
