import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { IncompatibleColumnError, planSchemaChange } from '../../src/index.ts';

describe('planSchemaChange', () => {
  const existing = [
    { name: 'id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'address', type: 'RECORD', mode: 'NULLABLE', fields: [{ name: 'zip', type: 'STRING', mode: 'REQUIRED' }] },
  ];

  it('adds new columns as NULLABLE, nested ones too', () => {
    const change = planSchemaChange('t', existing, [
      { name: 'id', type: 'STRING', mode: 'REQUIRED' },
      { name: 'amount', type: 'INT64', mode: 'REQUIRED' },
      {
        name: 'address',
        type: 'RECORD',
        mode: 'NULLABLE',
        fields: [
          { name: 'zip', type: 'STRING', mode: 'REQUIRED' },
          { name: 'city', type: 'STRING', mode: 'REQUIRED' },
        ],
      },
    ]);
    assert.deepEqual(change.added, ['amount', 'address.city']);
    assert.deepEqual(change.fields.find((field) => field.name === 'amount'), { name: 'amount', type: 'INT64', mode: 'NULLABLE' });
    assert.equal(change.fields.find((field) => field.name === 'address')?.fields?.[1]?.mode, 'NULLABLE');
  });

  it('keeps columns the schema no longer has', () => {
    const change = planSchemaChange('t', existing, [{ name: 'id', type: 'STRING', mode: 'REQUIRED' }]);
    assert.deepEqual(change.added, []);
    assert.equal(change.fields.length, 2);
  });

  it('treats legacy type names as their standard ones', () => {
    const change = planSchemaChange('t', [{ name: 'n', type: 'INTEGER', mode: 'NULLABLE' }], [{ name: 'n', type: 'INT64', mode: 'REQUIRED' }]);
    assert.deepEqual(change.added, []);
  });

  it('rejects a changed column type with the column named', () => {
    assert.throws(
      () => planSchemaChange('orders', existing, [{ name: 'id', type: 'INT64', mode: 'REQUIRED' }]),
      (error: unknown) => error instanceof IncompatibleColumnError && /Column id of BigQuery table orders/.test(error.message),
    );
  });
});
