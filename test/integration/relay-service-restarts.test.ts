import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Outbox, Relay, defineEvent, ensureTopics } from '../../src/index.ts';
import { checkKeyOrder, readTopicUntil } from '../support/topic-reader.ts';
import { createTestDatabase, eventually, testKafka, testRegistry, uniqueName } from '../support/stack.ts';
import type { TestDatabase } from '../support/stack.ts';

const stackScripts = fileURLToPath(new URL('../../scripts/stack/', import.meta.url));

function restartService(service: 'mariadb' | 'kafka'): void {
  execFileSync('bash', [`${stackScripts}${service}.sh`, 'stop'], { stdio: 'ignore' });
  execFileSync('bash', [`${stackScripts}${service}.sh`, 'start'], { stdio: 'ignore' });
}

const topic = uniqueName('test.restarts').replace('_', '.');
const pingSent = defineEvent({
  name: 'PingSent',
  topic,
  schema: { type: 'record', name: 'PingSent', fields: [{ name: 'host', type: 'string' }, { name: 'n', type: 'int' }] },
  key: (ping) => ping.host,
});

// This test stops and starts MariaDB and Kafka, so the suite runs its files one at a time.
describe('relay while MariaDB and Kafka restart', () => {
  const kafka = testKafka();
  const registry = testRegistry();
  let database: TestDatabase;
  let relay: Relay;

  before(async () => {
    database = await createTestDatabase();
    await registry.register(pingSent);
    await ensureTopics(kafka, [{ topic, partitions: 3 }]);
    relay = new Relay({ pool: database.pool, kafka, pollIntervalMs: 50, leaseMs: 3000, maxBackoffMs: 1000 });
    await relay.start();
  });

  after(async () => {
    await relay?.stop();
    await database?.drop();
  });

  it('recovers by itself and loses nothing', async () => {
    const outbox = new Outbox({ registry, pool: database.pool });
    const committed = new Set<string>();
    let stop = false;
    let n = 0;
    const publishing = (async () => {
      while (!stop) {
        const pings = Array.from({ length: 5 }, () => ({ host: `host-${n % 7}`, n: n++ }));
        try {
          const published = await outbox.transaction(database.pool, (tx) => outbox.publishMany(tx, pingSent, pings));
          for (const event of published) committed.add(event.eventId);
        } catch {
          // MariaDB is restarting: this transaction's outcome is unknown; the next one goes on.
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    await new Promise((resolve) => setTimeout(resolve, 1500));
    restartService('mariadb');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    restartService('kafka');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    stop = true;
    await publishing;

    assert.ok(committed.size > 100, `only ${committed.size} events were committed`);
    await eventually('the outbox to drain', 90_000, async () => (await relay.backlog().catch(() => -1)) === 0);
    const messages = await readTopicUntil(kafka, topic, (read) => {
      const ids = new Set(read.map((m) => m.eventId));
      return [...committed].every((id) => ids.has(id));
    }, 60_000);
    assert.deepEqual(checkKeyOrder(messages).violations, []);
  });
});
