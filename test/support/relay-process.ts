/**
 * Runs a relay in its own process, so tests can kill it with SIGKILL or pause it with SIGSTOP.
 * Settings come from the environment: TEST_DATABASE_URL, TEST_RELAY_ID, TEST_LEASE_MS, TEST_BATCH_SIZE.
 */
import mariadb from 'mariadb';

import { Relay, createJsonLogger } from '../../src/index.ts';
import { testKafka } from './stack.ts';

const pool = mariadb.createPool(`${process.env.TEST_DATABASE_URL!}?connectionLimit=2`);
const relay = new Relay({
  pool,
  kafka: testKafka(process.env.TEST_RELAY_ID),
  relayId: process.env.TEST_RELAY_ID,
  leaseMs: Number(process.env.TEST_LEASE_MS ?? 2000),
  batchSize: Number(process.env.TEST_BATCH_SIZE ?? 50),
  pollIntervalMs: 20,
  logger: createJsonLogger({ level: 'info', destination: process.stdout }),
});
await relay.start();

process.on('SIGTERM', () => {
  void relay.stop().then(() => pool.end()).then(() => process.exit(0));
});
