import type { Kafka } from 'kafkajs';

import { headersToStrings } from '../../src/index.ts';
import { eventually, uniqueName } from './stack.ts';

export interface ReadMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly keySeq: number;
  readonly eventId: string;
  readonly headers: Record<string, string>;
}

/** Reads a topic from the beginning until `done(messages)` returns true or the timeout passes. */
export async function readTopicUntil(
  kafka: Kafka,
  topic: string,
  done: (messages: readonly ReadMessage[]) => boolean,
  timeoutMs: number,
): Promise<ReadMessage[]> {
  const messages: ReadMessage[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers = headersToStrings(message.headers);
      messages.push({
        partition,
        offset: Number(message.offset),
        key: message.key?.toString() ?? '',
        keySeq: Number(headers.key_seq),
        eventId: headers.event_id ?? '',
        headers,
      });
    },
  });
  try {
    await eventually(`the messages expected on ${topic}`, timeoutMs, async () => done(messages));
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

export interface KeyOrderReport {
  /** Messages whose key_seq was already seen for the key (re-sent after a crash). */
  readonly duplicates: number;
  /** Descriptions of messages that arrived out of order or after a gap. */
  readonly violations: string[];
  /** Highest key_seq seen per key. */
  readonly lastSeq: Map<string, number>;
}

/**
 * Checks that each key's messages, in log order, go 1, 2, 3, ... with no gap. A message whose
 * key_seq was already seen counts as a duplicate, not a violation: delivery is at-least-once.
 */
export function checkKeyOrder(messages: readonly ReadMessage[]): KeyOrderReport {
  const lastSeq = new Map<string, number>();
  const violations: string[] = [];
  let duplicates = 0;
  const inLogOrder = [...messages].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const message of inLogOrder) {
    const seen = lastSeq.get(message.key) ?? 0;
    if (message.keySeq <= seen) {
      duplicates += 1;
    } else if (message.keySeq === seen + 1) {
      lastSeq.set(message.key, message.keySeq);
    } else {
      violations.push(`key ${message.key}: key_seq ${message.keySeq} after ${seen} (partition ${message.partition}, offset ${message.offset})`);
      lastSeq.set(message.key, message.keySeq);
    }
  }
  return { duplicates, violations, lastSeq };
}
