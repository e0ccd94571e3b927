import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { UnsupportedSchemaError, compileColumns, fromBigQueryRow, toBigQueryRow } from '../../src/index.ts';
import type { AvroRecordSchema } from '../../src/index.ts';

const everyType = {
  type: 'record',
  name: 'Everything',
  fields: [
    { name: 'flag', type: 'boolean' },
    { name: 'count', type: 'int' },
    { name: 'total', type: 'long' },
    { name: 'ratio', type: 'double' },
    { name: 'label', type: 'string' },
    { name: 'blob', type: 'bytes' },
    { name: 'note', type: ['null', 'string'] },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'scores', type: { type: 'map', values: 'long' } },
    { name: 'color', type: { type: 'enum', name: 'Color', symbols: ['RED', 'BLUE'] } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'address', type: { type: 'record', name: 'Address', fields: [{ name: 'zip', type: 'string' }] } },
    { name: 'previous', type: ['null', 'Address'] },
  ],
} as const satisfies AvroRecordSchema;

describe('compileColumns', () => {
  const columns = compileColumns(everyType);
  const byName = new Map(columns.map((column) => [column.name, column.field]));

  it('maps each Avro type to its BigQuery column', () => {
    const expected: Record<string, [string, string]> = {
      flag: ['BOOL', 'REQUIRED'],
      count: ['INT64', 'REQUIRED'],
      total: ['INT64', 'REQUIRED'],
      ratio: ['FLOAT64', 'REQUIRED'],
      label: ['STRING', 'REQUIRED'],
      blob: ['BYTES', 'REQUIRED'],
      note: ['STRING', 'NULLABLE'],
      tags: ['STRING', 'REPEATED'],
      scores: ['RECORD', 'REPEATED'],
      color: ['STRING', 'REQUIRED'],
      at: ['TIMESTAMP', 'REQUIRED'],
      day: ['DATE', 'REQUIRED'],
      address: ['RECORD', 'REQUIRED'],
      previous: ['RECORD', 'NULLABLE'],
    };
    for (const [name, [type, mode]] of Object.entries(expected)) {
      assert.equal(byName.get(name)?.type, type, `type of ${name}`);
      assert.equal(byName.get(name)?.mode, mode, `mode of ${name}`);
    }
    assert.deepEqual(byName.get('previous')?.fields, [{ name: 'zip', type: 'STRING', mode: 'REQUIRED' }]);
  });

  it('converts values to BigQuery rows and back', () => {
    const value = {
      flag: true,
      count: 3,
      total: 2 ** 40,
      ratio: 0.5,
      label: 'x',
      blob: Buffer.from('hi'),
      note: null,
      tags: ['a', 'b'],
      scores: { math: 9 },
      color: 'BLUE',
      at: Date.UTC(2001, 0, 1, 0, 47),
      day: 11_323,
      address: { zip: '12345' },
      previous: { zip: '54321' },
    };
    const row = toBigQueryRow(columns, value);
    assert.equal(row.blob, 'aGk=');
    assert.deepEqual(row.scores, [{ key: 'math', value: 9 }]);
    assert.equal(row.at, '2001-01-01T00:47:00.000Z');
    assert.equal(row.day, '2001-01-01');
    assert.deepEqual(fromBigQueryRow(columns, row), value);
  });

  it('rejects a union of two non-null types, naming the field', () => {
    const schema = { type: 'record', name: 'Mixed', fields: [{ name: 'either', type: ['int', 'string'] }] } as const;
    assert.throws(
      () => compileColumns(schema),
      (error: unknown) => error instanceof UnsupportedSchemaError && /"either" of Mixed/.test(error.message),
    );
  });

  it('rejects arrays of arrays', () => {
    const schema = {
      type: 'record',
      name: 'Grid',
      fields: [{ name: 'cells', type: { type: 'array', items: { type: 'array', items: 'int' } } }],
    } as const;
    assert.throws(() => compileColumns(schema), UnsupportedSchemaError);
  });
});
