import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import knexFactory from 'knex';
import mysql2 from 'mysql2/promise';

import { InvalidPayloadError, Outbox, defineEvent, knexExecutor, mariadbExecutor, mysql2Executor } from '../../src/index.ts';
import type { SqlExecutor } from '../../src/index.ts';
import { createTestDatabase, testRegistry, uniqueName } from '../support/stack.ts';
import type { TestDatabase } from '../support/stack.ts';

const noteAdded = defineEvent({
  name: 'NoteAdded',
  topic: uniqueName('test.executors').replace('_', '.'),
  schema: { type: 'record', name: 'NoteAdded', fields: [{ name: 'board', type: 'string' }, { name: 'text', type: 'string' }] },
  key: (note) => note.board,
});

/** One driver: how to open a transaction on it and hand it to the outbox. */
interface Driver {
  readonly name: string;
  open(database: TestDatabase): Promise<{
    inTransaction<T>(work: (executor: SqlExecutor) => Promise<T>, outcome: 'commit' | 'rollback'): Promise<T>;
    close(): Promise<void>;
  }>;
}

const drivers: Driver[] = [
  {
    name: 'mariadb',
    async open(database) {
      return {
        async inTransaction(work, outcome) {
          const connection = await database.pool.getConnection();
          try {
            await connection.beginTransaction();
            const result = await work(mariadbExecutor(connection)).catch(async (error: unknown) => {
              await connection.rollback();
              throw error;
            });
            await (outcome === 'commit' ? connection.commit() : connection.rollback());
            return result;
          } finally {
            await connection.release();
          }
        },
        async close() {},
      };
    },
  },
  {
    name: 'mysql2',
    async open(database) {
      const connection = await mysql2.createConnection(database.url.replace(/^mariadb:/, 'mysql:'));
      return {
        async inTransaction(work, outcome) {
          await connection.beginTransaction();
          const result = await work(mysql2Executor(connection)).catch(async (error: unknown) => {
            await connection.rollback();
            throw error;
          });
          await (outcome === 'commit' ? connection.commit() : connection.rollback());
          return result;
        },
        close: () => connection.end(),
      };
    },
  },
  {
    name: 'knex',
    async open(database) {
      const knex = knexFactory({ client: 'mysql2', connection: database.url.replace(/^mariadb:/, 'mysql:'), pool: { min: 0, max: 2 } });
      return {
        async inTransaction(work, outcome) {
          const trx = await knex.transaction();
          const result = await work(knexExecutor(trx)).catch(async (error: unknown) => {
            await trx.rollback();
            throw error;
          });
          await (outcome === 'commit' ? trx.commit() : trx.rollback());
          return result;
        },
        close: () => knex.destroy(),
      };
    },
  },
];

// The same conformance checks run against every driver adapter.
for (const driver of drivers) {
  describe(`outbox through the ${driver.name} adapter`, () => {
    const registry = testRegistry();
    let database: TestDatabase;
    let session: Awaited<ReturnType<Driver['open']>>;
    let outbox: Outbox;

    before(async () => {
      database = await createTestDatabase();
      await registry.register(noteAdded);
      outbox = new Outbox({ registry, pool: database.pool });
      session = await driver.open(database);
    });

    after(async () => {
      await session?.close();
      await database?.drop();
    });

    async function rowsOf(board: string): Promise<{ key_seq: bigint; event_name: string }[]> {
      return database.pool.query('SELECT key_seq, event_name FROM tributary_outbox WHERE event_key = ? ORDER BY id', [board]);
    }

    it('writes a committed event with the next key_seq', async () => {
      const published = await session.inTransaction((tx) => outbox.publish(tx, noteAdded, { board: 'b1', text: 'a' }), 'commit');
      await session.inTransaction((tx) => outbox.publish(tx, noteAdded, { board: 'b1', text: 'b' }), 'commit');
      assert.equal(published.keySeq, 1n);
      assert.deepEqual(
        (await rowsOf('b1')).map((row) => Number(row.key_seq)),
        [1, 2],
      );
    });

    it('leaves nothing behind a rollback', async () => {
      await session.inTransaction((tx) => outbox.publish(tx, noteAdded, { board: 'b2', text: 'gone' }), 'rollback');
      assert.equal((await rowsOf('b2')).length, 0);
      await session.inTransaction((tx) => outbox.publish(tx, noteAdded, { board: 'b2', text: 'kept' }), 'commit');
      assert.deepEqual((await rowsOf('b2')).map((row) => Number(row.key_seq)), [1]);
    });

    it('publishes many events with gapless sequences per key', async () => {
      const notes = Array.from({ length: 2500 }, (_, index) => ({ board: `bulk-${index % 3}`, text: String(index) }));
      const published = await session.inTransaction((tx) => outbox.publishMany(tx, noteAdded, notes), 'commit');
      assert.equal(published.length, notes.length);
      for (const board of ['bulk-0', 'bulk-1', 'bulk-2']) {
        const sequence = (await rowsOf(board)).map((row) => Number(row.key_seq));
        assert.deepEqual(sequence, Array.from({ length: sequence.length }, (_, index) => index + 1));
      }
      assert.equal(published[3]!.key, 'bulk-0');
      assert.equal(published[3]!.keySeq, 2n, 'each result lines up with its payload');
    });

    it('rejects an invalid payload before writing', async () => {
      await assert.rejects(
        session.inTransaction((tx) => outbox.publish(tx, noteAdded, { board: 'b3', text: 42 as unknown as string }), 'commit'),
        InvalidPayloadError,
      );
      assert.equal((await rowsOf('b3')).length, 0);
    });
  });
}
