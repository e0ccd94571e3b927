import { randomBytes } from 'node:crypto';

import type { BigQuery } from '@google-cloud/bigquery';
import { Kafka, logLevel } from 'kafkajs';
import mariadb from 'mariadb';
import type { Pool } from 'mariadb';

import { localStack } from '../../examples/local-stack.ts';
import { EventRegistry, createEmulatorClient, mariadbExecutor, migrateOutbox } from '../../src/index.ts';

export const stack = localStack();

/** Returns a name no other test uses: the prefix, then 8 random hex characters. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export function testKafka(clientId = 'tributary-test'): Kafka {
  return new Kafka({ clientId, brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });
}

export function testRegistry(): EventRegistry {
  return new EventRegistry({ url: stack.schemaRegistryUrl });
}

export function testBigQuery(): BigQuery {
  return createEmulatorClient({ apiEndpoint: stack.bigQueryEndpoint, projectId: stack.bigQueryProject });
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly pool: Pool;
  /** Opens another pool on the database; `drop` closes it too. */
  createPool(connectionLimit: number): Pool;
  drop(): Promise<void>;
}

/** Creates an empty database with the outbox tables, and a pool on it. */
export async function createTestDatabase(connectionLimit = 10): Promise<TestDatabase> {
  const name = uniqueName('test');
  const admin = await mariadb.createConnection(stack.mariadbUrl);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();

  const url = new URL(stack.mariadbUrl);
  url.pathname = `/${name}`;
  const pools: Pool[] = [];
  const createPool = (limit: number): Pool => {
    const created = mariadb.createPool(`${url.toString()}?connectionLimit=${limit}`);
    pools.push(created);
    return created;
  };
  const pool = createPool(connectionLimit);
  const connection = await pool.getConnection();
  try {
    await migrateOutbox(mariadbExecutor(connection));
  } finally {
    await connection.release();
  }

  return {
    name,
    url: url.toString(),
    pool,
    createPool,
    async drop() {
      for (const opened of pools) await opened.end();
      const cleanup = await mariadb.createConnection(stack.mariadbUrl);
      await cleanup.query(`DROP DATABASE IF EXISTS ${name}`);
      await cleanup.end();
    },
  };
}

/** Polls `check` every 200 ms until it returns true; fails the test after `timeoutMs`. */
export async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
