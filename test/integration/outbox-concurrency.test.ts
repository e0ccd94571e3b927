import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Outbox, Relay, createJsonLogger, defineEvent, ensureTopics } from '../../src/index.ts';
import { checkKeyOrder, readTopicUntil } from '../support/topic-reader.ts';
import { createTestDatabase, testKafka, testRegistry, uniqueName } from '../support/stack.ts';
import type { TestDatabase } from '../support/stack.ts';

const topic = uniqueName('test.concurrency').replace('_', '.');
const stockMoved = defineEvent({
  name: 'StockMoved',
  topic,
  schema: {
    type: 'record',
    name: 'StockMoved',
    fields: [
      { name: 'sku', type: 'string' },
      { name: 'writer', type: 'int' },
      { name: 'step', type: 'int' },
    ],
  },
  key: (move) => move.sku,
});

describe('concurrent writers on a few hot keys', () => {
  const kafka = testKafka();
  const registry = testRegistry();
  let outbox: Outbox;
  let database: TestDatabase;
  let relay: Relay;

  before(async () => {
    database = await createTestDatabase(24);
    // A pool of its own for the outbox's counter rows: the writers hold every connection of theirs.
    outbox = new Outbox({ registry, pool: database.createPool(4) });
    await registry.register(stockMoved);
    await ensureTopics(kafka, [{ topic, partitions: 3 }]);
    relay = new Relay({ pool: database.pool, kafka, pollIntervalMs: 20, logger: process.env.TEST_LOG ? createJsonLogger({ level: 'debug' }) : undefined });
    await relay.start();
  });

  after(async () => {
    await relay?.stop();
    await database?.drop();
  });

  it('delivers every committed event, no rolled-back one, in key_seq order', async () => {
    const hotKeys = ['sku-a', 'sku-b', 'sku-c', 'sku-d'];
    const committed = new Set<string>();
    const rolledBack = new Set<string>();

    // 16 writers run 25 transactions each. Every transaction publishes to one or two hot keys and
    // holds its locks for a random time, and one in five rolls back.
    await Promise.all(
      Array.from({ length: 16 }, async (_, writer) => {
        for (let step = 0; step < 25; step++) {
          const keys = [...new Set([pick(hotKeys), pick(hotKeys)])];
          const moves = keys.map((sku) => ({ sku, writer, step }));
          const rollback = Math.random() < 0.2;
          const connection = await database.pool.getConnection();
          try {
            await connection.beginTransaction();
            await outbox.publishMany(connection, stockMoved, moves);
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
            if (rollback) await connection.rollback();
            else await connection.commit();
          } finally {
            await connection.release();
          }
          for (const move of moves) (rollback ? rolledBack : committed).add(`${move.sku}/${writer}/${step}`);
        }
      }),
    );

    const [counts] = await database.pool.query('SELECT COUNT(*) AS n FROM tributary_outbox');
    assert.equal(Number(counts.n), committed.size);

    const messages = await readTopicUntil(kafka, topic, (read) => new Set(read.map((m) => m.eventId)).size >= committed.size, 60_000);
    const report = checkKeyOrder(messages);
    assert.deepEqual(report.violations, []);
    assert.equal(report.duplicates, 0, 'a single relay that did not crash sends each row once');

    const perKey = new Map<string, number>();
    for (const event of committed) perKey.set(event.split('/')[0]!, (perKey.get(event.split('/')[0]!) ?? 0) + 1);
    assert.deepEqual(report.lastSeq, perKey, 'the highest key_seq of each key equals its committed events: no gaps');
    assert.equal(new Set(messages.map((m) => m.eventId)).size, committed.size);
  });
});

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}
