import type { Kafka } from 'kafkajs';

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the next record the group will read; -1 before the group has committed. */
  readonly committed: number;
  readonly highWatermark: number;
  readonly lag: number;
}

/**
 * Returns how far a consumer group is behind on each partition of the topics: the high watermark
 * minus the committed offset (or minus the earliest available offset before the first commit).
 */
export async function consumerLag(kafka: Kafka, groupId: string, topics: readonly string[]): Promise<PartitionLag[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
    const lags: PartitionLag[] = [];
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const groupOffsets = committed.find((entry) => entry.topic === topic)?.partitions ?? [];
      for (const end of ends) {
        const committedOffset = Number(groupOffsets.find((entry) => entry.partition === end.partition)?.offset ?? -1);
        const start = committedOffset >= 0 ? committedOffset : Number(end.low);
        lags.push({
          topic,
          partition: end.partition,
          committed: committedOffset,
          highWatermark: Number(end.high),
          lag: Math.max(0, Number(end.high) - start),
        });
      }
    }
    return lags;
  } finally {
    await admin.disconnect();
  }
}
