import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import kafkajs from 'kafkajs';

import { Outbox, Relay, defineEvent, ensureTopics, listParkedKeys, mariadbExecutor, outboxTables } from '../../src/index.ts';
import { runCli } from '../../src/cli/index.ts';
import { checkKeyOrder, readTopicUntil } from '../support/topic-reader.ts';
import { createTestDatabase, eventually, testKafka, testRegistry, uniqueName } from '../support/stack.ts';
import type { TestDatabase } from '../support/stack.ts';

const topic = uniqueName('test.parking').replace('_', '.');
const documentSaved = defineEvent({
  name: 'DocumentSaved',
  topic,
  schema: {
    type: 'record',
    name: 'DocumentSaved',
    fields: [
      { name: 'document', type: 'string' },
      { name: 'body', type: 'string' },
    ],
  },
  key: (saved) => saved.document,
});

describe('a row Kafka keeps rejecting', () => {
  const kafka = testKafka();
  const registry = testRegistry();
  let database: TestDatabase;
  let relay: Relay;
  let outbox: Outbox;

  before(async () => {
    database = await createTestDatabase();
    outbox = new Outbox({ registry, pool: database.pool });
    await registry.register(documentSaved);
    // A topic that takes messages of at most 2,000 bytes, so a large body fails every send.
    await ensureTopics(kafka, [{ topic, partitions: 1, config: { 'max.message.bytes': '2000' } }]);
    relay = new Relay({ pool: database.pool, kafka, pollIntervalMs: 50, maxAttempts: 2, maxBackoffMs: 200 });
    await relay.start();
  });

  after(async () => {
    await relay?.stop();
    await database?.drop();
  });

  it('parks only its key, and releasing the key resumes it in order', async () => {
    const save = (document: string, body: string) =>
      outbox.transaction(database.pool, (tx) => outbox.publish(tx, documentSaved, { document, body }));
    await save('doc-big', 'first');
    await save('doc-big', 'x'.repeat(5000));
    await save('doc-big', 'third');
    for (let index = 0; index < 5; index++) await save(`doc-${index}`, 'small');

    const tables = outboxTables();
    await eventually('doc-big to be parked', 60_000, async () => {
      const connection = await database.pool.getConnection();
      try {
        return (await listParkedKeys(mariadbExecutor(connection), tables)).some((parked) => parked.key === 'doc-big');
      } finally {
        await connection.release();
      }
    });
    const beforeRelease = await readTopicUntil(kafka, topic, (read) => read.length >= 6, 30_000);
    assert.deepEqual(
      beforeRelease.filter((m) => m.key === 'doc-big').map((m) => m.keySeq),
      [1],
      'the rows of doc-big after the failing one wait behind it',
    );
    assert.equal(beforeRelease.filter((m) => m.key.startsWith('doc-') && m.key !== 'doc-big').length, 5, 'other keys flow');

    const listed: string[] = [];
    const url = database.url;
    assert.equal(await runCli(['parked', 'list', '--mariadb-url', url], (line) => listed.push(line)), 0);
    assert.match(listed.join('\n'), new RegExp(`${topic}\\tdoc-big\\tattempts=2`));

    // Fix the cause, then release the key.
    const admin = kafka.admin();
    await admin.connect();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: '1048588' }] }],
    });
    await admin.disconnect();
    assert.equal(await runCli(['parked', 'release', '--topic', topic, '--key', 'doc-big', '--mariadb-url', url], () => undefined), 0);

    const afterRelease = await readTopicUntil(kafka, topic, (read) => read.filter((m) => m.key === 'doc-big').length >= 3, 30_000);
    const report = checkKeyOrder(afterRelease);
    assert.deepEqual(report.violations, []);
    assert.equal(report.lastSeq.get('doc-big'), 3);
  });
});
