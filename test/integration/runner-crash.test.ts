import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { createInterface } from 'node:readline';
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
  const scores = makeScores(800, 5);
  let database: TestDatabase;
  let relay: Relay;
  /** Records committed across partitions after each kill. */
  const committedAfterKills: number[] = [];

  function startRunner(): ChildProcess {
    const child = spawn(process.execPath, [runnerScript], {
      env: {
        ...process.env,
        TEST_TOPIC: topic,
        TEST_DATASET: dataset,
        TEST_APPLICATION_ID: applicationId,
        // Small fetches make many small batches, so kills land between and inside batches.
        TEST_MAX_BATCH_BYTES: '4096',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return child;
  }

  /** Starts a runner and kills it once it has committed `batches` batches (0: during start-up). */
  async function runUntilKilled(batches: number): Promise<void> {
    const child = startRunner();
    const lines = createInterface({ input: child.stdout! });
    let committed = 0;
    await new Promise<void>((resolve) => {
      setTimeout(resolve, batches === 0 ? 300 : 30_000);
      lines.on('line', (line) => {
        if (line.includes('"batch committed"') && ++committed >= batches) resolve();
      });
      child.once('exit', () => resolve());
    });
    // A random short delay puts the kill anywhere in the next batch: reading, writing or committing.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const lags = await consumerLag(kafka, applicationId, [topic]);
    committedAfterKills.push(lags.reduce((sum, partition) => sum + Math.max(0, partition.committed), 0));
  }

  before(async () => {
    database = await createTestDatabase();
    await registry.register(events.scoreRecorded);
    await ensureTopics(kafka, [{ topic, partitions: 2 }]);
    // Small relay batches make small Kafka record batches, and so many small runner batches.
    relay = new Relay({ pool: database.pool, kafka, pollIntervalMs: 50, batchSize: 20 });
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
    for (const batches of [0, 1, 3, 2, 5, 1, 4]) await runUntilKilled(batches);

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
    // The kills must have interrupted real work: at least one landed after some batches committed
    // and before the last one, or this test would prove nothing.
    assert.ok(
      committedAfterKills.some((committed) => committed > 0 && committed < scores.length),
      `no kill landed mid-run; committed after each kill: ${committedAfterKills.join(', ')}`,
    );
    assert.deepEqual(actual, totalsOf(scores), `state after kills at committed offsets ${committedAfterKills.join(', ')}`);

    const [deduped] = await bigquery.query(`SELECT COUNT(*) AS n FROM \`${stack.bigQueryProject}.${dataset}.scores_deduped\``);
    assert.equal(Number(deduped[0].n), scores.length);
  });
});
