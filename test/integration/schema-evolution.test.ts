import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import {
  IncompatibleSchemaError,
  Runner,
  Topology,
  bigQueryTable,
  consumerLag,
  defineEvent,
  ensureTopics,
  runQuery,
} from '../../src/index.ts';
import type { AnyEventDefinition } from '../../src/index.ts';
import { eventually, stack, testBigQuery, testKafka, testRegistry, uniqueName } from '../support/stack.ts';

const topic = uniqueName('test.evolution').replace('_', '.');
const baseFields = [
  { name: 'invoice_id', type: 'string' },
  { name: 'amount_cents', type: 'long' },
] as const;

const invoiceV1 = defineEvent({
  name: 'InvoiceIssued',
  topic,
  schema: { type: 'record', name: 'InvoiceIssued', fields: baseFields },
  key: (invoice) => invoice.invoice_id,
});

const invoiceV2 = defineEvent({
  name: 'InvoiceIssued',
  topic,
  schema: {
    type: 'record',
    name: 'InvoiceIssued',
    fields: [...baseFields, { name: 'currency', type: ['null', 'string'], default: null }],
  },
  key: (invoice) => invoice.invoice_id,
});

const invoiceWithoutDefault = defineEvent({
  name: 'InvoiceIssued',
  topic,
  schema: {
    type: 'record',
    name: 'InvoiceIssued',
    fields: [...baseFields, { name: 'customer', type: 'string' }],
  },
  key: (invoice) => invoice.invoice_id,
});

describe('schema evolution', () => {
  const kafka = testKafka();
  const bigquery = testBigQuery();
  const dataset = uniqueName('evolution');

  after(async () => {
    await bigquery.dataset(dataset).delete({ force: true }).catch(() => undefined);
  });

  /** Produces the events with one registry, then runs a runner built for `reader` until it caught up. */
  async function runWith(reader: AnyEventDefinition, applicationId: string): Promise<void> {
    const registry = testRegistry();
    await registry.register(reader);
    const topology = new Topology();
    topology.stream(reader).to(bigQueryTable('invoices'));
    const runner = new Runner({ applicationId, topology, kafka, registry, bigquery: { client: bigquery, dataset } });
    await runner.start();
    try {
      await eventually('the runner to catch up', 60_000, async () => {
        const lags = await consumerLag(kafka, applicationId, [topic]);
        return lags.every((partition) => partition.lag === 0 && partition.committed >= 0);
      });
    } finally {
      await runner.stop();
    }
  }

  it('adds a NULLABLE column for a defaulted field', async () => {
    await ensureTopics(kafka, [{ topic, partitions: 1 }]);
    const producer = kafka.producer();
    await producer.connect();

    const v1Registry = testRegistry();
    await v1Registry.register(invoiceV1);
    await producer.send({ topic, messages: [{ key: 'i-1', value: v1Registry.encode(invoiceV1, { invoice_id: 'i-1', amount_cents: 100 }) }] });
    await runWith(invoiceV1, uniqueName('evolution-v1'));

    const v2Registry = testRegistry();
    await v2Registry.register(invoiceV2);
    await producer.send({
      topic,
      messages: [{ key: 'i-2', value: v2Registry.encode(invoiceV2, { invoice_id: 'i-2', amount_cents: 250, currency: 'EUR' }) }],
    });
    await producer.disconnect();
    // A new application reads both the v1 and the v2 record with the v2 schema.
    await runWith(invoiceV2, uniqueName('evolution-v2'));

    const [metadata] = await bigquery.dataset(dataset).table('invoices').getMetadata();
    const currency = (metadata.schema.fields as { name: string; mode: string; type: string }[]).find((field) => field.name === 'currency');
    assert.deepEqual({ mode: currency?.mode, type: currency?.type }, { mode: 'NULLABLE', type: 'STRING' });

    const rows = await runQuery(
      bigquery,
      { query: `SELECT invoice_id, currency, _topic FROM \`${stack.bigQueryProject}.${dataset}.invoices\` ORDER BY invoice_id, _written_at` },
      'reading invoices',
    );
    const latestCopy = new Map(rows.map((row) => [row.invoice_id, row.currency]));
    assert.deepEqual([...latestCopy], [
      ['i-1', null],
      ['i-2', 'EUR'],
    ]);
  });

  it('rejects a new field without a default at registration, saying why', async () => {
    await assert.rejects(testRegistry().register(invoiceWithoutDefault), (error: unknown) => {
      assert.ok(error instanceof IncompatibleSchemaError, String(error));
      assert.equal(error.code, 'SCHEMA_INCOMPATIBLE');
      assert.match(error.message, /InvoiceIssued/);
      assert.match(error.message, /customer/);
      assert.match(error.message, /Give every new field a default/);
      return true;
    });
  });
});
