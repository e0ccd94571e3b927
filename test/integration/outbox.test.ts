import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Consumer } from 'kafkajs';

import {
  InvalidPayloadError,
  Outbox,
  Relay,
  defineEvent,
  deletePublished,
  ensureTopics,
  headersToStrings,
  mariadbExecutor,
  outboxTables,
} from '../../src/index.ts';
import { createTestDatabase, eventually, testKafka, testRegistry, uniqueName } from '../support/stack.ts';
import type { TestDatabase } from '../support/stack.ts';

const topic = uniqueName('test.outbox').replace('_', '.');
const paymentTaken = defineEvent({
  name: 'PaymentTaken',
  topic,
  schema: {
    type: 'record',
    name: 'PaymentTaken',
    fields: [
      { name: 'payment_id', type: 'string' },
      { name: 'account', type: 'string' },
      { name: 'amount_cents', type: 'long' },
    ],
  },
  key: (payment) => payment.account,
});

interface Received {
  key: string;
  headers: Record<string, string>;
  value: Record<string, unknown>;
}

describe('outbox and relay against MariaDB and Kafka', () => {
  let database: TestDatabase;
  let relay: Relay;
  let consumer: Consumer;
  const received: Received[] = [];
  const registry = testRegistry();
  const kafka = testKafka();
  const outbox = new Outbox({ registry });

  before(async () => {
    database = await createTestDatabase();
    await registry.register(paymentTaken);
    await ensureTopics(kafka, [{ topic, partitions: 2 }]);
    relay = new Relay({ pool: database.pool, kafka, pollIntervalMs: 50 });
    await relay.start();
    consumer = kafka.consumer({ groupId: uniqueName('outbox-test') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const { value } = await registry.decode(paymentTaken, message.value);
        received.push({ key: message.key!.toString(), headers: headersToStrings(message.headers), value: value as Record<string, unknown> });
      },
    });
  });

  after(async () => {
    await consumer?.disconnect();
    await relay?.stop();
    await database?.drop();
  });

  it('delivers an event whose transaction committed, with its headers', async () => {
    const connection = await database.pool.getConnection();
    await connection.beginTransaction();
    const published = await outbox.publish(connection, paymentTaken, { payment_id: 'p-commit', account: 'acct-1', amount_cents: 1250 });
    await connection.commit();
    await connection.release();

    await eventually('the committed event in Kafka', 20_000, async () => received.some((r) => r.value.payment_id === 'p-commit'));
    const event = received.find((r) => r.value.payment_id === 'p-commit')!;
    assert.equal(event.key, 'acct-1');
    assert.equal(event.headers.event_id, published.eventId);
    assert.equal(event.headers.key_seq, '1');
    assert.ok(!Number.isNaN(Date.parse(event.headers.created_at!)));
    assert.deepEqual({ ...event.value }, { payment_id: 'p-commit', account: 'acct-1', amount_cents: 1250 });
    // The relay marks the row after Kafka's acknowledgement, which may come after the consumer saw it.
    await eventually('the row to be marked published', 10_000, async () => (await relay.backlog()) === 0);
  });

  it('writes nothing when the transaction rolls back', async () => {
    const connection = await database.pool.getConnection();
    await connection.beginTransaction();
    await outbox.publish(connection, paymentTaken, { payment_id: 'p-rollback', account: 'acct-2', amount_cents: 5 });
    await connection.rollback();

    await connection.beginTransaction();
    await outbox.publish(connection, paymentTaken, { payment_id: 'p-after-rollback', account: 'acct-2', amount_cents: 6 });
    await connection.commit();
    await connection.release();

    await eventually('the event after the rollback', 20_000, async () => received.some((r) => r.value.payment_id === 'p-after-rollback'));
    assert.equal(received.filter((r) => r.value.payment_id === 'p-rollback').length, 0);
    const after = received.find((r) => r.value.payment_id === 'p-after-rollback')!;
    assert.equal(after.headers.key_seq, '1', 'the rolled-back event must not use up a key_seq');
    const [row] = await database.pool.query('SELECT COUNT(*) AS n FROM tributary_outbox WHERE event_key = ?', ['acct-2']);
    assert.equal(Number(row.n), 1);
  });

  it('rejects an invalid payload before writing anything', async () => {
    const connection = await database.pool.getConnection();
    await connection.beginTransaction();
    await assert.rejects(
      outbox.publish(connection, paymentTaken, { payment_id: 'p-bad', account: 'acct-3', amount_cents: '12' as unknown as number }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidPayloadError);
        assert.deepEqual(error.fields, ['amount_cents']);
        assert.match(error.message, /PaymentTaken/);
        return true;
      },
    );
    await connection.commit();
    await connection.release();

    const [outboxRows] = await database.pool.query('SELECT COUNT(*) AS n FROM tributary_outbox WHERE event_key = ?', ['acct-3']);
    const [keyRows] = await database.pool.query('SELECT COUNT(*) AS n FROM tributary_outbox_key WHERE event_key = ?', ['acct-3']);
    assert.equal(Number(outboxRows.n), 0);
    assert.equal(Number(keyRows.n), 0);
  });

  it('sends the traceparent and custom headers of an event', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await outbox.transaction(database.pool, (tx) =>
      outbox.publish(tx, paymentTaken, { payment_id: 'p-traced', account: 'acct-4', amount_cents: 1 }, { traceparent, headers: { tenant: 't-1' } }),
    );
    await eventually('the traced event', 20_000, async () => received.some((r) => r.value.payment_id === 'p-traced'));
    const traced = received.find((r) => r.value.payment_id === 'p-traced')!;
    assert.equal(traced.headers.traceparent, traceparent);
    assert.equal(traced.headers.tenant, 't-1');
  });

  it('deletes published rows past retention and never unpublished ones', async () => {
    await database.pool.query(
      "INSERT INTO tributary_outbox (event_id, event_name, topic, event_key, bucket, key_seq, schema_id, payload, published_at) VALUES " +
        "('00000000-0000-4000-8000-000000000001', 'Old', 'old.topic', 'k', 0, 1, 1, 'x', CURRENT_TIMESTAMP(6) - INTERVAL 8 DAY)",
    );
    const connection = await database.pool.getConnection();
    try {
      const executor = mariadbExecutor(connection);
      const [before] = await connection.query('SELECT COUNT(*) AS n FROM tributary_outbox WHERE published_at IS NULL');
      assert.equal(await deletePublished(executor, outboxTables(), 7 * 24 * 3600, 1000), 1);
      const [old] = await connection.query("SELECT COUNT(*) AS n FROM tributary_outbox WHERE event_name = 'Old'");
      assert.equal(Number(old.n), 0);
      assert.equal(await deletePublished(executor, outboxTables(), 0, 1000) >= 1, true, 'recently published rows go with retention 0');
      const [after] = await connection.query('SELECT COUNT(*) AS n FROM tributary_outbox WHERE published_at IS NULL');
      assert.equal(Number(after.n), Number(before.n));
    } finally {
      await connection.release();
    }
  });

  it('numbers the events of a key without gaps', async () => {
    const connection = await database.pool.getConnection();
    for (let index = 0; index < 5; index++) {
      await connection.beginTransaction();
      await outbox.publish(connection, paymentTaken, { payment_id: `p-seq-${index}`, account: 'acct-seq', amount_cents: index });
      await connection.commit();
    }
    await connection.release();

    await eventually('five events of acct-seq', 20_000, async () => received.filter((r) => r.key === 'acct-seq').length === 5);
    const sequence = received.filter((r) => r.key === 'acct-seq').map((r) => [r.headers.key_seq, r.value.payment_id]);
    assert.deepEqual(sequence, [0, 1, 2, 3, 4].map((index) => [String(index + 1), `p-seq-${index}`]));
  });
});
