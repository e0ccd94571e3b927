import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Outbox, Relay, Runner, consumerLag, createJsonLogger, ensureTopics } from '../../src/index.ts';
import { scoreEvents } from '../support/scores.ts';
import { makeScores, publishScores, totalsOf } from '../support/scores-fixture.ts';
import { createTestDatabase, eventually, stack, testBigQuery, testKafka, testRegistry, uniqueName } from '../support/stack.ts';
import type { TestDatabase } from '../support/stack.ts';

describe('pipeline from MariaDB to BigQuery', () => {
  const topic = uniqueName('test.pipeline').replace('_', '.');
  const dataset = uniqueName('pipeline');
  const applicationId = uniqueName('pipeline-app');
  const events = scoreEvents(topic);
  const kafka = testKafka();
  const registry = testRegistry();
  const bigquery = testBigQuery();
  const committed = makeScores(120, 7);
  let database: TestDatabase;
  let relay: Relay;
  let runner: Runner;

  before(async () => {
    database = await createTestDatabase();
    await registry.register(events.scoreRecorded);
    await ensureTopics(kafka, [{ topic, partitions: 3 }]);
    relay = new Relay({ pool: database.pool, kafka, pollIntervalMs: 50 });
    runner = new Runner({ applicationId, topology: events.topology(), kafka, registry, bigquery: { client: bigquery, dataset }, logger: process.env.TEST_LOG ? createJsonLogger({ level: 'debug' }) : undefined });
    await relay.start();
    await runner.start();

    await publishScores(database.pool, registry, events, committed, 40);
    const connection = await database.pool.getConnection();
    await connection.beginTransaction();
    await new Outbox({ registry }).publish(connection, events.scoreRecorded, { game_id: 'rolled-back', player: 'player-0', points: 1000 });
    await connection.rollback();
    await connection.release();

    await eventually('the runner to consume every event', 120_000, async () => {
      if ((await relay.backlog()) > 0) return false;
      const lags = await consumerLag(kafka, applicationId, [topic]);
      return lags.reduce((sum, partition) => sum + partition.highWatermark, 0) === committed.length && lags.every((p) => p.lag === 0);
    });
  });

  after(async () => {
    await runner?.stop();
    await relay?.stop();
    await database?.drop();
    await bigquery.dataset(dataset).delete({ force: true }).catch(() => undefined);
  });

  it('writes every committed event to the event table, and no rolled-back one', async () => {
    const [rows] = await bigquery.query(`SELECT game_id, player, points, _key, _event_id FROM \`${stack.bigQueryProject}.${dataset}.scores_deduped\``);
    assert.equal(rows.length, committed.length);
    assert.deepEqual(rows.map((row) => row.game_id).sort(), committed.map((score) => score.game_id).sort());
    assert.ok(rows.every((row) => row._key === row.player));
    assert.equal(new Set(rows.map((row) => row._event_id)).size, committed.length);
  });

  it('keeps per-key totals in the state view equal to the expected numbers', async () => {
    const [rows] = await bigquery.query(`SELECT _key, games, points FROM \`${stack.bigQueryProject}.${dataset}.player_totals\``);
    const actual = new Map(rows.map((row) => [row._key as string, { games: Number(row.games), points: Number(row.points) }]));
    assert.deepEqual(actual, totalsOf(committed));
  });

  it('keeps the offset of the last event applied on each state version', async () => {
    const [rows] = await bigquery.query(
      `SELECT _key, _partition, _offset FROM \`${stack.bigQueryProject}.${dataset}.player_totals_versions\` WHERE _offset < 0 OR _partition < 0`,
    );
    assert.equal(rows.length, 0);
  });
});
