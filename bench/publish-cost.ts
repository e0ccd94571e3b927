/**
 * Cost of the outbox inside a transaction: the same business transaction with and without its
 * events, as a ratio, for one event per transaction and for 10,000 events in one transaction.
 * Runs against the local stack (`npm run stack:up`). Usage: node bench/publish-cost.ts
 */
import { Outbox, defineEvent } from '../src/index.ts';
import { createTestDatabase, testRegistry, uniqueName } from '../test/support/stack.ts';
import { format, median, timed } from './bench-support.ts';

const orderPlaced = defineEvent({
  name: 'OrderPlaced',
  topic: uniqueName('bench.orders').replace('_', '.'),
  schema: {
    type: 'record',
    name: 'OrderPlaced',
    fields: [
      { name: 'order_id', type: 'long' },
      { name: 'customer', type: 'string' },
      { name: 'total_cents', type: 'long' },
    ],
  },
  key: (order) => order.customer,
});

const singleTransactions = 1000;
const bulkEvents = 10_000;
const rounds = 5;

const database = await createTestDatabase(4);
const registry = testRegistry();
await registry.register(orderPlaced);
const outbox = new Outbox({ registry, pool: database.createPool(2) });
await database.pool.query('CREATE TABLE orders (id BIGINT PRIMARY KEY, customer VARCHAR(64), total_cents BIGINT)');
let nextId = 1;

function order() {
  const id = nextId++;
  return { order_id: id, customer: `customer-${id % 500}`, total_cents: id * 3 };
}

async function singleRound(withEvent: boolean): Promise<number> {
  const connection = await database.pool.getConnection();
  try {
    return await timed(async () => {
      for (let index = 0; index < singleTransactions; index++) {
        const placed = order();
        await connection.beginTransaction();
        await connection.query('INSERT INTO orders VALUES (?, ?, ?)', [placed.order_id, placed.customer, placed.total_cents]);
        if (withEvent) await outbox.publish(connection, orderPlaced, placed);
        await connection.commit();
      }
    });
  } finally {
    await connection.release();
  }
}

async function bulkRound(withEvents: boolean): Promise<number> {
  const orders = Array.from({ length: bulkEvents }, order);
  const connection = await database.pool.getConnection();
  try {
    return await timed(async () => {
      await connection.beginTransaction();
      for (let start = 0; start < orders.length; start += 1000) {
        const chunk = orders.slice(start, start + 1000);
        await connection.query(
          `INSERT INTO orders VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`,
          chunk.flatMap((placed) => [placed.order_id, placed.customer, placed.total_cents]),
        );
      }
      if (withEvents) await outbox.publishMany(connection, orderPlaced, orders);
      await connection.commit();
    });
  } finally {
    await connection.release();
  }
}

// Warm-up: creates the counter rows of every customer, as in a running application.
await singleRound(true);
await bulkRound(true);

const results: Record<string, { without: number[]; with: number[] }> = { single: { without: [], with: [] }, bulk: { without: [], with: [] } };
for (let round = 0; round < rounds; round++) {
  // Alternate the variants so that machine noise hits both alike.
  results.single!.without.push(await singleRound(false));
  results.single!.with.push(await singleRound(true));
  results.bulk!.without.push(await bulkRound(false));
  results.bulk!.with.push(await bulkRound(true));
}

const single = results.single!;
const bulk = results.bulk!;
console.log(`publish cost (median of ${rounds} alternating rounds)`);
console.log(
  `single: ${singleTransactions} transactions of 1 INSERT; without events ${format(median(single.without))} ms, ` +
    `with 1 event each ${format(median(single.with))} ms; ratio ${format(median(single.with) / median(single.without))}`,
);
console.log(
  `bulk: 1 transaction of ${bulkEvents} rows; without events ${format(median(bulk.without))} ms, ` +
    `with publishMany ${format(median(bulk.with))} ms; ratio ${format(median(bulk.with) / median(bulk.without))}`,
);
await database.drop();
