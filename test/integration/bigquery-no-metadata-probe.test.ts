import { outsideAttempts } from '../support/loopback-guard.ts';

import assert from 'node:assert/strict';
import dns from 'node:dns';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { BigQuery } from '@google-cloud/bigquery';

import { createEmulatorClient, runQuery } from '../../src/index.ts';
import { stack, uniqueName } from '../support/stack.ts';

/** Connects in the given way to 0.0.0.0, which is this machine; resolves with the error, if any. */
function tryConnect(open: () => net.Socket): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const socket = open();
    socket.once('error', (error) => resolve(error));
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

let guardVerified = false;

describe('loopback guard', () => {
  // If the guard missed a way of connecting, the control case below would really probe the
  // metadata server: these checks run first, against this machine's own address 0.0.0.0.
  it('blocks every way Node opens a TCP connection', async () => {
    outsideAttempts.length = 0;
    const port = Number(new URL(stack.bigQueryEndpoint).port);
    const ways: [string, () => net.Socket][] = [
      ['net.connect(options)', () => net.connect({ host: '0.0.0.0', port })],
      // HTTP agents pass `path: null` with the host; an earlier guard let that through.
      ['net.connect(options with path null)', () => net.connect({ host: '0.0.0.0', port, path: null } as unknown as net.NetConnectOpts)],
      ['net.createConnection(port, host)', () => net.createConnection(port, '0.0.0.0')],
      ['new Socket().connect(options)', () => new net.Socket().connect({ host: '0.0.0.0', port })],
      ['new Socket().connect(port, host)', () => new net.Socket().connect(port, '0.0.0.0')],
    ];
    for (const [way, open] of ways) {
      const error = await tryConnect(open);
      assert.match(String(error), /loopback guard blocked/, `${way} was not blocked`);
    }
    assert.equal(outsideAttempts.length, ways.length);
    guardVerified = true;
  });

  it('blocks DNS look-ups of outside names', async () => {
    outsideAttempts.length = 0;
    await assert.rejects(dns.promises.lookup('metadata.google.internal'), /loopback guard blocked/);
    await assert.rejects(promisify(dns.lookup)('metadata.google.internal'), /loopback guard blocked/);
    assert.deepEqual(outsideAttempts, ['lookup metadata.google.internal', 'lookup metadata.google.internal']);
  });
});

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
    // The guard blocks the attempt before any packet leaves this machine. The guard's own test has
    // just checked that, and without that check the control must not run.
    assert.ok(guardVerified, 'the loopback guard is not verified, so the control case was not run');
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
