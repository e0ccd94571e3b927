import type { Producer } from 'kafkajs';

import type { ErrorCode } from '../errors.ts';
import type { InputRecord } from './input-record.ts';

/** The processing step in which a record failed. */
export type DeadLetterStage = 'decode' | 'process' | 'sink';

/** A record that could not be handled, with why and where it came from. */
export interface DeadLetter {
  readonly record: InputRecord;
  readonly stage: DeadLetterStage;
  readonly code: ErrorCode | 'UNKNOWN';
  readonly reason: string;
  /** The topology node that failed: a table or state store name, or the topic for decoding. */
  readonly node: string;
}

/** Header names a dead letter carries next to the original record's headers. */
export const deadLetterHeaders = {
  reason: 'dlq.reason',
  code: 'dlq.code',
  stage: 'dlq.stage',
  node: 'dlq.node',
  application: 'dlq.application',
  sourceTopic: 'dlq.source_topic',
  sourcePartition: 'dlq.source_partition',
  sourceOffset: 'dlq.source_offset',
  failedAt: 'dlq.failed_at',
} as const;

/**
 * Writes dead letters to the application's dead letter topic: the original key, value and headers,
 * plus headers that give the reason and the source position, so a record can be inspected and
 * sent again later. Kafka must acknowledge them before the runner commits the source offsets.
 */
export async function sendDeadLetters(
  producer: Producer,
  topic: string,
  applicationId: string,
  deadLetters: readonly DeadLetter[],
): Promise<void> {
  if (deadLetters.length === 0) return;
  const failedAt = new Date().toISOString();
  await producer.send({
    topic,
    acks: -1,
    messages: deadLetters.map((letter) => ({
      key: letter.record.key,
      value: letter.record.value,
      headers: {
        ...letter.record.headers,
        [deadLetterHeaders.reason]: letter.reason.slice(0, 4000),
        [deadLetterHeaders.code]: letter.code,
        [deadLetterHeaders.stage]: letter.stage,
        [deadLetterHeaders.node]: letter.node,
        [deadLetterHeaders.application]: applicationId,
        [deadLetterHeaders.sourceTopic]: letter.record.topic,
        [deadLetterHeaders.sourcePartition]: String(letter.record.partition),
        [deadLetterHeaders.sourceOffset]: String(letter.record.offset),
        [deadLetterHeaders.failedAt]: failedAt,
      },
    })),
  });
}
