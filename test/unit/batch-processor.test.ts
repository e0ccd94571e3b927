import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  BatchProcessor,
  KeyValueStore,
  MemoryStateBackend,
  Topology,
  bigQueryTable,
  defineEvent,
  defineStore,
} from '../../src/index.ts';
import type { AnyEventDefinition, EventSink, InputRecord, SinkRecord, SinkRejection } from '../../src/index.ts';

const deposit = defineEvent({
  name: 'Deposit',
  topic: 'bank.deposits',
  schema: {
    type: 'record',
    name: 'Deposit',
    fields: [
      { name: 'account', type: 'string' },
      { name: 'amount', type: 'long' },
    ],
  },
  key: (event) => event.account,
});

const balances = defineStore({
  name: 'balances',
  value: { type: 'record', name: 'Balance', fields: [{ name: 'total', type: 'long' }] },
});

/** Decodes the JSON the tests put in record values, standing in for the schema registry. */
const jsonDecoder = {
  async decode(_event: AnyEventDefinition, value: Buffer | null) {
    if (value === null || value[0] !== 0x7b) throw new Error('not a JSON object');
    return { value: JSON.parse(value.toString()) };
  },
};

class MemorySink implements EventSink {
  readonly name = 'deposits';
  readonly written: SinkRecord[] = [];
  async open(): Promise<void> {}
  async write(records: readonly SinkRecord[]): Promise<SinkRejection[]> {
    this.written.push(...records);
    return [];
  }
}

function record(offset: number, account: string, amount: number | string, partition = 0): InputRecord {
  return {
    topic: deposit.topic,
    partition,
    offset,
    key: Buffer.from(account),
    value: Buffer.from(JSON.stringify({ account, amount })),
    headers: { event_id: `e-${offset}` },
    timestamp: 1_000,
  };
}

function setup(aggregator = (_key: string, event: { amount: number }, state: { total: number }) => ({ total: state.total + event.amount })) {
  const topology = new Topology();
  const stream = topology.stream(deposit);
  stream.to(bigQueryTable('deposits'));
  stream.groupByKey().aggregate(balances, () => ({ total: 0 }), aggregator);

  const backend = new MemoryStateBackend<{ total: number }>();
  const store = new KeyValueStore('balances', backend);
  const sink = new MemorySink();
  const processor = new BatchProcessor(
    topology.pipelines,
    jsonDecoder,
    new Map([['deposits', sink]]),
    new Map([['balances', store as KeyValueStore<unknown>]]),
  );
  return { processor, backend, store, sink };
}

describe('BatchProcessor', () => {
  it('aggregates per key and writes state with the last offset', async () => {
    const { processor, backend, sink } = setup();
    const result = await processor.process([record(0, 'a', 10), record(1, 'b', 5), record(2, 'a', 1)]);

    assert.equal(result.processed, 3);
    assert.equal(result.deadLetters.length, 0);
    assert.deepEqual(backend.versions.get('a'), { value: { total: 11 }, partition: 0, offset: 2 });
    assert.deepEqual(backend.versions.get('b'), { value: { total: 5 }, partition: 0, offset: 1 });
    assert.equal(sink.written.length, 3);
    assert.equal(sink.written[0]!.context.eventId, 'e-0');
  });

  it('skips events the stored state already includes', async () => {
    const { processor, backend, store } = setup();
    await processor.process([record(0, 'a', 10), record(1, 'a', 20)]);

    // A crash before the offset commit: the same batch comes again, to a process with a cold cache.
    store.reset();
    const replay = await processor.process([record(0, 'a', 10), record(1, 'a', 20), record(2, 'a', 5)]);
    assert.equal(replay.skipped, 2);
    assert.deepEqual(backend.versions.get('a')?.value, { total: 35 });
  });

  it('dead-letters an undecodable record and goes on', async () => {
    const { processor, backend } = setup();
    const broken: InputRecord = { ...record(1, 'a', 0), value: Buffer.from('garbage') };
    const result = await processor.process([record(0, 'a', 1), broken, record(2, 'a', 2)]);

    assert.equal(result.deadLetters.length, 1);
    assert.equal(result.deadLetters[0]!.stage, 'decode');
    assert.equal(result.deadLetters[0]!.record.offset, 1);
    assert.deepEqual(backend.versions.get('a')?.value, { total: 3 });
  });

  it('dead-letters a record whose aggregator throws', async () => {
    const { processor, backend } = setup((key, event, state) => {
      if (event.amount < 0) throw new Error(`negative deposit for ${key}`);
      return { total: state.total + event.amount };
    });
    const result = await processor.process([record(0, 'a', 1), record(1, 'a', -5), record(2, 'a', 2)]);

    assert.equal(result.deadLetters.length, 1);
    assert.equal(result.deadLetters[0]!.stage, 'process');
    assert.equal(result.deadLetters[0]!.node, 'balances');
    assert.match(result.deadLetters[0]!.reason, /negative deposit for a/);
    assert.deepEqual(backend.versions.get('a')?.value, { total: 3 });
  });

  it('dead-letters an aggregate that breaks the store schema', async () => {
    const { processor } = setup((_key, event, state) => ({ total: state.total + event.amount }));
    const result = await processor.process([record(0, 'a', 'ten')]);

    assert.equal(result.deadLetters.length, 1);
    assert.equal(result.deadLetters[0]!.code, 'STATE_INVALID');
    assert.match(result.deadLetters[0]!.reason, /balances/);
  });
});

describe('BatchProcessor with relay duplicates', () => {
  it('skips a second copy of an event by its key_seq', async () => {
    const { processor, backend } = setup();
    const withSeq = (offset: number, seq: number, amount: number): InputRecord => ({
      ...record(offset, 'a', amount),
      headers: { event_id: `e-${seq}`, key_seq: String(seq) },
    });
    // The relay crashed after sending key_seq 1-2 and sent them again at offsets 2-3.
    const result = await processor.process([withSeq(0, 1, 10), withSeq(1, 2, 20), withSeq(2, 1, 10), withSeq(3, 2, 20), withSeq(4, 3, 5)]);

    assert.equal(result.skipped, 2);
    assert.deepEqual(backend.versions.get('a'), { value: { total: 35 }, partition: 0, offset: 4, sequence: 3 });
  });
});
