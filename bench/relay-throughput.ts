/**
 * Relay throughput and commit-to-Kafka latency, next to Kafka's own producer benchmark
 * (ProducerPerformance, the tool behind kafka-producer-perf-test) for the same record size on the
 * same broker in the same run. Runs against the local stack. Usage: node bench/relay-throughput.ts
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { Outbox, Relay, defineEvent, ensureTopics, headersToStrings } from '../src/index.ts';
import { createTestDatabase, eventually, testKafka, testRegistry, uniqueName } from '../test/support/stack.ts';
import { format, percentile } from './bench-support.ts';

const backlogEvents = 30_000;
const offeredRate = 1000;
const offeredSeconds = 10;
const perTransaction = 10;

const topic = uniqueName('bench.relay').replace('_', '.');
const meterRead = defineEvent({
  name: 'MeterRead',
  topic,
  schema: {
    type: 'record',
    name: 'MeterRead',
    fields: [
      { name: 'meter', type: 'string' },
      { name: 'kwh', type: 'double' },
      { name: 'sequence', type: 'long' },
    ],
  },
  key: (reading) => reading.meter,
});

const kafka = testKafka('bench');
const registry = testRegistry();
await registry.register(meterRead);
await ensureTopics(kafka, [{ topic, partitions: 3 }]);
const database = await createTestDatabase(6);
const outbox = new Outbox({ registry, pool: database.createPool(2) });
let sequence = 0;
const reading = () => ({ meter: `meter-${sequence % 200}`, kwh: sequence * 0.5, sequence: sequence++ });

// The consumer notes when each event arrives; every latency is measured on this machine's clock.
const arrivals = new Map<string, number>();
let bytesSeen = 0;
let messagesSeen = 0;
const consumer = kafka.consumer({ groupId: uniqueName('bench-reader'), maxWaitTimeInMs: 50 });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ message }) => {
    const headers = headersToStrings(message.headers);
    arrivals.set(headers.event_id!, Date.now());
    messagesSeen += 1;
    bytesSeen += (message.value?.length ?? 0) + (message.key?.length ?? 0);
    for (const [name, value] of Object.entries(headers)) bytesSeen += name.length + value.length;
  },
});

// 1. Throughput: a backlog written with the relay stopped, then drained.
await outbox.transaction(database.pool, async (tx) => {
  await outbox.publishMany(tx, meterRead, Array.from({ length: backlogEvents }, reading));
});
const relay = new Relay({ pool: database.pool, kafka, pollIntervalMs: 20 });
const drainStarted = performance.now();
await relay.start();
await eventually('the backlog to drain', 300_000, async () => (await relay.backlog()) === 0);
const drainSeconds = (performance.now() - drainStarted) / 1000;
const relayRate = backlogEvents / drainSeconds;
await eventually('the consumer to see the backlog', 120_000, async () => arrivals.size >= backlogEvents);
const recordSize = Math.round(bytesSeen / messagesSeen);

// 2. Latency at a fixed offered rate, in transactions of `perTransaction` events.
const commits = new Map<string, number>();
const interval = (1000 * perTransaction) / offeredRate;
const offeredStarted = performance.now();
for (let index = 0; index < (offeredRate * offeredSeconds) / perTransaction; index++) {
  const due = offeredStarted + index * interval;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const published = await outbox.transaction(database.pool, (tx) =>
    outbox.publishMany(tx, meterRead, Array.from({ length: perTransaction }, reading)),
  );
  const committedAt = Date.now();
  for (const event of published) commits.set(event.eventId, committedAt);
}
await eventually('the offered events to arrive', 120_000, async () => [...commits.keys()].every((id) => arrivals.has(id)));
const latencies = [...commits].map(([id, committedAt]) => arrivals.get(id)! - committedAt);
await relay.stop();
await consumer.disconnect();
await database.drop();

// 3. The ceiling: Kafka's own producer, acks=all, records of the same average size.
const perfTopic = `${topic}.perf`;
await ensureTopics(kafka, [{ topic: perfTopic, partitions: 3 }]);
const kafkaScript = fileURLToPath(new URL('../scripts/stack/kafka.sh', import.meta.url));
const perfOutput = execFileSync(
  'bash',
  [
    kafkaScript,
    'perf-producer',
    '--topic',
    perfTopic,
    '--num-records',
    '300000',
    '--record-size',
    String(recordSize),
    '--throughput',
    '-1',
    '--producer-props',
    'acks=all',
    'enable.idempotence=true',
  ],
  { encoding: 'utf8' },
);
const perfLine = perfOutput.trim().split('\n').at(-1)!;
const perfRate = Number(/([\d.]+) records\/sec/.exec(perfLine)?.[1]);

console.log(`relay throughput: ${backlogEvents} events drained in ${format(drainSeconds)} s = ${Math.round(relayRate)} events/s`);
console.log(`kafka ProducerPerformance, ${recordSize}-byte records, acks=all: ${Math.round(perfRate)} records/s`);
console.log(`ratio relay / ProducerPerformance: ${format(relayRate / perfRate, 3)}`);
console.log(
  `commit-to-consumer latency at ${offeredRate} events/s offered (${perTransaction} per transaction, ${offeredSeconds} s): ` +
    `p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${Math.max(...latencies)} ms`,
);
