import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Consumer } from 'kafkajs';

import {
  Runner,
  Topology,
  bigQueryTable,
  consumerLag,
  createJsonLogger,
  deadLetterHeaders,
  defineEvent,
  defineStore,
  ensureTopics,
  headersToStrings,
  runQuery,
} from '../../src/index.ts';
import { eventually, stack, testBigQuery, testKafka, testRegistry, uniqueName } from '../support/stack.ts';

const readingTaken = defineEvent({
  name: 'ReadingTaken',
  topic: uniqueName('test.readings').replace('_', '.'),
  schema: {
    type: 'record',
    name: 'ReadingTaken',
    fields: [
      { name: 'sensor', type: 'string' },
      { name: 'celsius', type: 'double' },
      { name: 'taken_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    ],
  },
  key: (reading) => reading.sensor,
});

const sensorCounts = defineStore({
  name: 'sensor_counts',
  value: { type: 'record', name: 'SensorCount', fields: [{ name: 'readings', type: 'long' }] },
});

describe('records that cannot be handled', () => {
  const kafka = testKafka();
  const registry = testRegistry();
  const bigquery = testBigQuery();
  const dataset = uniqueName('dead_letters');
  const applicationId = uniqueName('dlq-app');
  const deadLetters: { key: string; value: Buffer | null; headers: Record<string, string> }[] = [];
  let runner: Runner;
  let dlqConsumer: Consumer;

  before(async () => {
    await registry.register(readingTaken);
    await ensureTopics(kafka, [{ topic: readingTaken.topic, partitions: 1 }]);

    const topology = new Topology();
    const readings = topology.stream(readingTaken);
    readings.to(bigQueryTable('readings'));
    readings.groupByKey().aggregate(
      sensorCounts,
      () => ({ readings: 0 }),
      (sensor, _reading, count) => {
        if (sensor === 'poison') throw new Error('sensor "poison" is not allowed');
        return { readings: count.readings + 1 };
      },
    );
    runner = new Runner({ applicationId, topology, kafka, registry, bigquery: { client: bigquery, dataset }, logger: process.env.TEST_LOG ? createJsonLogger({ level: 'debug' }) : undefined });
    await runner.start();

    const good = (sensor: string, celsius: number) =>
      registry.encode(readingTaken, { sensor, celsius, taken_at: Date.UTC(2026, 0, 1) });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: readingTaken.topic,
      messages: [
        { key: 's1', value: good('s1', 20.5), headers: { event_id: 'good-1' } },
        { key: 's1', value: Buffer.from('not avro at all'), headers: { event_id: 'garbage' } },
        { key: 'poison', value: good('poison', 1), headers: { event_id: 'poison' } },
        {
          key: 's2',
          // Year 10000: Avro accepts the number, BigQuery's TIMESTAMP range does not.
          value: registry.encode(readingTaken, { sensor: 's2', celsius: 3, taken_at: 253_402_300_800_000 }),
          headers: { event_id: 'out-of-range' },
        },
        { key: 's1', value: good('s1', 21), headers: { event_id: 'good-2' } },
      ],
    });
    await producer.disconnect();

    dlqConsumer = kafka.consumer({ groupId: uniqueName('dlq-reader') });
    await dlqConsumer.connect();
    await dlqConsumer.subscribe({ topic: runner.deadLetterTopic, fromBeginning: true });
    await dlqConsumer.run({
      eachMessage: async ({ message }) => {
        deadLetters.push({ key: message.key?.toString() ?? '', value: message.value, headers: headersToStrings(message.headers) });
      },
    });
    await eventually('the runner to get past every record', 90_000, async () => {
      const lags = await consumerLag(kafka, applicationId, [readingTaken.topic]);
      return lags.every((partition) => partition.committed === 5);
    });
    await eventually('three dead letters', 30_000, async () => deadLetters.length >= 3);
  });

  after(async () => {
    await dlqConsumer?.disconnect();
    await runner?.stop();
    await bigquery.dataset(dataset).delete({ force: true }).catch(() => undefined);
  });

  it('dead-letters each bad record with reason and position', () => {
    const byEvent = new Map(deadLetters.map((letter) => [letter.headers.event_id, letter]));
    assert.deepEqual([...byEvent.keys()].sort(), ['garbage', 'out-of-range', 'poison']);

    const garbage = byEvent.get('garbage')!;
    assert.equal(garbage.headers[deadLetterHeaders.stage], 'decode');
    assert.equal(garbage.headers[deadLetterHeaders.code], 'RECORD_UNDECODABLE');
    assert.equal(garbage.headers[deadLetterHeaders.sourceTopic], readingTaken.topic);
    assert.equal(garbage.headers[deadLetterHeaders.sourcePartition], '0');
    assert.equal(garbage.headers[deadLetterHeaders.sourceOffset], '1');
    assert.equal(garbage.value?.toString(), 'not avro at all');

    const poison = byEvent.get('poison')!;
    assert.equal(poison.headers[deadLetterHeaders.stage], 'process');
    assert.equal(poison.headers[deadLetterHeaders.node], 'sensor_counts');
    assert.match(poison.headers[deadLetterHeaders.reason]!, /sensor "poison" is not allowed/);
    assert.equal(poison.headers[deadLetterHeaders.sourceOffset], '2');

    const outOfRange = byEvent.get('out-of-range')!;
    assert.equal(outOfRange.headers[deadLetterHeaders.stage], 'sink');
    assert.equal(outOfRange.headers[deadLetterHeaders.node], 'readings');
    assert.equal(outOfRange.headers[deadLetterHeaders.sourceOffset], '3');
  });

  it('goes on with the good records', async () => {
    const rows = await runQuery(
      bigquery,
      { query: `SELECT _event_id FROM \`${stack.bigQueryProject}.${dataset}.readings_deduped\` ORDER BY _offset` },
      'reading readings',
    );
    // The poison reading fails only in the aggregation, so its row still reaches the event table.
    assert.deepEqual(rows.map((row) => row._event_id), ['good-1', 'poison', 'good-2']);

    const counts = await runQuery(
      bigquery,
      { query: `SELECT _key, readings FROM \`${stack.bigQueryProject}.${dataset}.sensor_counts\` ORDER BY _key` },
      'reading sensor_counts',
    );
    assert.deepEqual(counts.map((row) => [row._key, Number(row.readings)]), [['s1', 2], ['s2', 1]]);
  });
});
