import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Relay, consumerLag, ensureTopics } from '../../src/index.ts';
import { scoreEvents } from '../support/scores.ts';
import { makeScores, publishScores, totalsOf } from '../support/scores-fixture.ts';
import { createTestDatabase, eventually, stack, testBigQuery, testKafka, testRegistry, uniqueName } from '../support/stack.ts';
import type { TestDatabase } from '../support/stack.ts';

const runnerScript = fileURLToPath(new URL('../support/runner-process.ts', import.meta.url));

describe('runner killed with SIGKILL while it works', () => {
  const topic = uniqueName('test.crash').replace('_', '.');
  const dataset = uniqueName('crash');
  const applicationId = uniqueName('crash-app');
  const events = scoreEvents(topic);
  const kafka = testKafka();
  const registry = testRegistry();
  const bigquery = testBigQuery();
  const scores = makeScores(600, 5);
  let database: TestDatabase;
  let relay: Relay;
  let kills = 0;

  function startRunner(): ChildProcess {
    const child = spawn(process.execPath, [runnerScript], {
      env: {
        ...process.env,
        TEST_TOPIC: topic,
        TEST_DATASET: dataset,
        TEST_APPLICATION_ID: applicationId,
        // Small fetches make many small batches, so kills land between and inside batches.
        TEST_MAX_BATCH_BYTES: '2048',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return child;
  }

  async function runUntilKilled(milliseconds: number): Promise<void> {
    const child = startRunner();
    await new Promise((resolve) => setTimeout(resolve, milliseconds));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    kills += 1;
  }

  before(async () => {
    database = await createTestDatabase();
    await registry.register(events.scoreRecorded);
    await ensureTopics(kafka, [{ topic, partitions: 2 }]);
    relay = new Relay({ pool: database.pool, kafka, pollIntervalMs: 50 });
    await relay.start();
    await publishScores(database.pool, registry, events, scores, 25);
    await eventually('the outbox to drain', 60_000, async () => (await relay.backlog()) === 0);
  });

  after(async () => {
    await relay?.stop();
    await database?.drop();
    await bigquery.dataset(dataset).delete({ force: true }).catch(() => undefined);
  });

  it('neither loses nor double-counts', async () => {
    // Kill the runner at different points of its work: during start-up and during batches.
    for (const lifetime of [1500, 4000, 5000, 6000, 7000]) await runUntilKilled(lifetime);

    const finalRunner = startRunner();
    try {
      await eventually('the runner to catch up', 180_000, async () => {
        const lags = await consumerLag(kafka, applicationId, [topic]);
        return lags.every((partition) => partition.lag === 0 && partition.committed >= 0);
      });
    } finally {
      finalRunner.kill('SIGTERM');
      await new Promise((resolve) => finalRunner.once('exit', resolve));
    }

    const [totals] = await bigquery.query(`SELECT _key, games, points FROM \`${stack.bigQueryProject}.${dataset}.player_totals\``);
    const actual = new Map(totals.map((row) => [row._key as string, { games: Number(row.games), points: Number(row.points) }]));
    assert.deepEqual(actual, totalsOf(scores), `state after ${kills} kills`);

    const [deduped] = await bigquery.query(`SELECT COUNT(*) AS n FROM \`${stack.bigQueryProject}.${dataset}.scores_deduped\``);
    assert.equal(Number(deduped[0].n), scores.length);
  });
});
