import { outsideAttempts } from '../support/loopback-guard.ts';

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { BigQuery } from '@google-cloud/bigquery';

import { createEmulatorClient, runQuery } from '../../src/index.ts';
import { stack, uniqueName } from '../support/stack.ts';

describe('BigQuery emulator client', () => {
  const dataset = uniqueName('probe');
  const client = createEmulatorClient({ apiEndpoint: stack.bigQueryEndpoint, projectId: stack.bigQueryProject });

  after(async () => {
    await client.dataset(dataset).delete({ force: true }).catch(() => undefined);
  });

  it('talks only to the emulator, never to the metadata server', async () => {
    // The guard would also catch the probe if the environment variable were what stopped it.
    delete process.env.METADATA_SERVER_DETECTION;
    outsideAttempts.length = 0;

    await client.dataset(dataset).create();
    const [table] = await client.dataset(dataset).createTable('t', { schema: { fields: [{ name: 'n', type: 'INT64' }] } });
    await table.insert([{ n: 1 }]);
    const rows = await runQuery(client, { query: `SELECT n FROM \`${stack.bigQueryProject}.${dataset}.t\`` }, 'reading t');
    await new Promise((resolve) => setTimeout(resolve, 500));

    assert.deepEqual(rows, [{ n: 1 }]);
    assert.deepEqual(outsideAttempts, []);
  });

  it('guard sees the probe of a client left to its defaults', async () => {
    // The control: without the emulator settings the official client looks for the metadata server.
    // The guard blocks the attempt before any packet leaves this machine.
    delete process.env.METADATA_SERVER_DETECTION;
    outsideAttempts.length = 0;

    const bare = new BigQuery({ projectId: stack.bigQueryProject, apiEndpoint: stack.bigQueryEndpoint });
    await bare.dataset(dataset).exists().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));

    assert.ok(
      outsideAttempts.some((attempt) => attempt.includes('169.254.169.254') || attempt.includes('metadata.google.internal')),
      `expected a blocked metadata probe, saw: ${JSON.stringify(outsideAttempts)}`,
    );
  });
});
