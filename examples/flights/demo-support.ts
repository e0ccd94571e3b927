import type { Kafka } from 'kafkajs';

import { ensureTopics } from '../../src/index.ts';

/** Deletes the topic if it exists, waits until Kafka has removed it, then creates it empty. */
export async function recreateTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) {
      await admin.deleteTopics({ topics: [topic] });
      await waitFor(`topic ${topic} to be deleted`, 30_000, async () => !(await admin.listTopics()).includes(topic));
    }
  } finally {
    await admin.disconnect();
  }
  await waitFor(`topic ${topic} to be created`, 30_000, async () => {
    try {
      await ensureTopics(kafka, [{ topic, partitions }]);
      return true;
    } catch {
      return false;
    }
  });
}

/** Polls `check` every 250 ms until it returns true; throws after `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
