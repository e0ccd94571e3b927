import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  BucketLeases,
  Outbox,
  defineEvent,
  ensureTopics,
  mariadbExecutor,
  markPublished,
  outboxTables,
  readUnpublished,
} from '../../src/index.ts';
import { checkKeyOrder, readTopicUntil } from '../support/topic-reader.ts';
import { createTestDatabase, eventually, testKafka, testRegistry, uniqueName } from '../support/stack.ts';
import type { TestDatabase } from '../support/stack.ts';

const relayScript = fileURLToPath(new URL('../support/relay-process.ts', import.meta.url));
const batchSize = 50;

function counterEvent(topic: string) {
  return defineEvent({
    name: 'CounterBumped',
    topic,
    schema: { type: 'record', name: 'CounterBumped', fields: [{ name: 'counter', type: 'string' }, { name: 'n', type: 'int' }] },
    key: (bump) => bump.counter,
  });
}

interface RelayProcess {
  readonly id: string;
  readonly child: ChildProcess;
}

function startRelay(database: TestDatabase, id: string): RelayProcess {
  const child = spawn(process.execPath, [relayScript], {
    env: { ...process.env, TEST_DATABASE_URL: database.url, TEST_RELAY_ID: id, TEST_LEASE_MS: '2000', TEST_BATCH_SIZE: String(batchSize) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { id, child };
}

async function stopRelay(relay: RelayProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (relay.child.exitCode !== null || relay.child.signalCode !== null) return;
  const exited = new Promise((resolve) => relay.child.once('exit', resolve));
  relay.child.kill(signal);
  await exited;
}

/** Publishes `count` events over `keys` keys through the outbox, 10 per transaction, with pauses. */
async function publishSteadily(database: TestDatabase, event: ReturnType<typeof counterEvent>, count: number, keys: number): Promise<void> {
  const registry = testRegistry();
  await registry.register(event);
  const outbox = new Outbox({ registry, pool: database.pool });
  for (let start = 0; start < count; start += 10) {
    await outbox.transaction(database.pool, (tx) =>
      outbox.publishMany(
        tx,
        event,
        Array.from({ length: 10 }, (_, offset) => ({ counter: `c${(start + offset) % keys}`, n: start + offset })),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

describe('three relays, one killed again and again', () => {
  const topic = uniqueName('test.failover').replace('_', '.');
  const event = counterEvent(topic);
  const kafka = testKafka();
  let database: TestDatabase;
  const relays: RelayProcess[] = [];

  before(async () => {
    database = await createTestDatabase();
    await ensureTopics(kafka, [{ topic, partitions: 3 }]);
  });

  after(async () => {
    for (const relay of relays) await stopRelay(relay, 'SIGKILL');
    await database?.drop();
  });

  it('loses nothing, keeps key order, and duplicates at most a batch per kill', async () => {
    const total = 3000;
    for (const id of ['relay-a', 'relay-b', 'relay-c']) relays.push(startRelay(database, id));
    const publishing = publishSteadily(database, event, total, 40);

    let kills = 0;
    const killing = (async () => {
      for (let round = 0; round < 6; round++) {
        await new Promise((resolve) => setTimeout(resolve, 800 + Math.random() * 1200));
        const index = Math.floor(Math.random() * relays.length);
        await stopRelay(relays[index]!, 'SIGKILL');
        kills += 1;
        relays[index] = startRelay(database, `${relays[index]!.id.split('#')[0]}#${round}`);
      }
    })();
    await Promise.all([publishing, killing]);

    const messages = await readTopicUntil(kafka, topic, (read) => new Set(read.map((m) => m.eventId)).size >= total, 120_000);
    const report = checkKeyOrder(messages);
    assert.deepEqual(report.violations, []);
    assert.equal(new Set(messages.map((m) => m.eventId)).size, total, 'every committed event reached Kafka');
    assert.ok(report.duplicates <= kills * batchSize, `${report.duplicates} duplicates after ${kills} kills of batch size ${batchSize}`);
    await eventually('every row to be marked published', 30_000, async () => {
      const [row] = await database.pool.query('SELECT COUNT(*) AS n FROM tributary_outbox WHERE published_at IS NULL');
      return Number(row.n) === 0;
    });
  });
});

describe('a relay paused longer than its lease', () => {
  const topic = uniqueName('test.paused').replace('_', '.');
  const event = counterEvent(topic);
  const kafka = testKafka();
  let database: TestDatabase;
  const relays: RelayProcess[] = [];

  before(async () => {
    database = await createTestDatabase();
    await ensureTopics(kafka, [{ topic, partitions: 3 }]);
  });

  after(async () => {
    for (const relay of relays) {
      relay.child.kill('SIGCONT');
      await stopRelay(relay, 'SIGKILL');
    }
    await database?.drop();
  });

  it('causes no reordering after it resumes', async () => {
    const total = 3000;
    const paused = startRelay(database, 'relay-paused');
    relays.push(paused);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    relays.push(startRelay(database, 'relay-other'));
    // Publishing goes on before, during and after the pause.
    const publishing = publishSteadily(database, event, total, 20);

    await new Promise((resolve) => setTimeout(resolve, 1500));
    // A "GC pause" three times the lease: the other relay takes over the paused one's buckets.
    paused.child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 6000));
    paused.child.kill('SIGCONT');
    await publishing;

    const messages = await readTopicUntil(kafka, topic, (read) => new Set(read.map((m) => m.eventId)).size >= total, 120_000);
    assert.deepEqual(checkKeyOrder(messages).violations, []);
    assert.equal(new Set(messages.map((m) => m.eventId)).size, total);
    const [resumed] = await database.pool.query(
      'SELECT COUNT(*) AS n FROM tributary_outbox WHERE published_by = ?',
      ['relay-paused'],
    );
    assert.ok(Number(resumed.n) > 0, 'the paused relay published rows before its pause');
  });
});

describe('fencing tokens', () => {
  it('keep a relay whose lease expired from marking rows', async () => {
    const database = await createTestDatabase();
    try {
      const registry = testRegistry();
      const event = counterEvent(uniqueName('test.fencing').replace('_', '.'));
      await registry.register(event);
      const outbox = new Outbox({ registry, pool: database.pool, bucketCount: 4 });
      await outbox.transaction(database.pool, (tx) => outbox.publish(tx, event, { counter: 'c1', n: 1 }));

      const tables = outboxTables();
      const connection = await database.pool.getConnection();
      try {
        const executor = mariadbExecutor(connection);
        const stale = new BucketLeases('relay-stale', tables, 4, 300);
        await stale.prepare(executor);
        await stale.maintain(executor, 300);
        const staleTokens = new Map(stale.owned().map((lease) => [lease.bucket, lease.token]));
        assert.equal(staleTokens.size, 4);
        const rows = await readUnpublished(executor, tables, [...staleTokens.keys()], 10);
        assert.equal(rows.length, 1);

        // The stale relay "pauses" past its lease; another relay takes the buckets over.
        // The wait also outlasts the fresh relay's liveness window, so it counts itself alone.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const fresh = new BucketLeases('relay-fresh', tables, 4, 1000);
        await fresh.maintain(executor, 1000);
        assert.equal(fresh.owned().length, 4);

        const markedByStale = await markPublished(executor, tables, rows, { relayId: 'relay-stale', tokens: staleTokens });
        assert.equal(markedByStale, 0);
        const freshTokens = new Map(fresh.owned().map((lease) => [lease.bucket, lease.token]));
        assert.equal(await markPublished(executor, tables, rows, { relayId: 'relay-fresh', tokens: freshTokens }), 1);
      } finally {
        await connection.release();
      }
    } finally {
      await database.drop();
    }
  });

  it('also stop a relay that took a bucket back with an older token', async () => {
    const database = await createTestDatabase();
    try {
      const tables = outboxTables();
      const connection = await database.pool.getConnection();
      try {
        const executor = mariadbExecutor(connection);
        const first = new BucketLeases('relay-1', tables, 1, 200);
        await first.prepare(executor);
        await first.maintain(executor, 200);
        const [oldLease] = first.owned();
        await new Promise((resolve) => setTimeout(resolve, 300));
        await first.maintain(executor, 200);
        const [newLease] = first.owned();
        assert.ok(newLease!.token > oldLease!.token, 'a new grant after expiry bumps the fencing token');
      } finally {
        await connection.release();
      }
    } finally {
      await database.drop();
    }
  });
});
