import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InvalidPayloadError, defineEvent, validatePayload } from '../../src/index.ts';

const userSignedUp = defineEvent({
  name: 'UserSignedUp',
  topic: 'users.signed-up',
  schema: {
    type: 'record',
    name: 'UserSignedUp',
    fields: [
      { name: 'user_id', type: 'string' },
      { name: 'age', type: 'int' },
      { name: 'address', type: { type: 'record', name: 'Address', fields: [{ name: 'zip', type: 'string' }] } },
      { name: 'nickname', type: ['null', 'string'], default: null },
    ],
  },
  key: (user) => user.user_id,
});

function validationError(payload: unknown): InvalidPayloadError {
  try {
    validatePayload(userSignedUp, payload);
  } catch (error) {
    assert.ok(error instanceof InvalidPayloadError, `expected InvalidPayloadError, got ${String(error)}`);
    return error;
  }
  assert.fail('the payload was accepted');
}

describe('validatePayload', () => {
  it('accepts a valid payload and leaves out defaulted fields', () => {
    validatePayload(userSignedUp, { user_id: 'u1', age: 30, address: { zip: '12345' } });
  });

  it('names a field of the wrong type', () => {
    const error = validationError({ user_id: 'u1', age: 'thirty', address: { zip: '1' } });
    assert.equal(error.code, 'EVENT_PAYLOAD_INVALID');
    assert.deepEqual(error.fields, ['age']);
    assert.match(error.message, /UserSignedUp/);
    assert.match(error.message, /field "age" expects int but got "thirty" \(string\)/);
    assert.match(error.message, /nothing was published/);
  });

  it('names a nested field by its path', () => {
    const error = validationError({ user_id: 'u1', age: 3, address: { zip: 12345 } });
    assert.deepEqual(error.fields, ['address.zip']);
  });

  it('names a missing required field', () => {
    const error = validationError({ age: 3, address: { zip: '1' } });
    assert.deepEqual(error.fields, ['user_id']);
    assert.match(error.message, /got undefined/);
  });

  it('rejects an undeclared field', () => {
    const error = validationError({ user_id: 'u1', age: 3, address: { zip: '1' }, agee: 4 });
    assert.match(error.message, /only its declared fields/);
  });

  it('rejects a payload that is not an object', () => {
    const error = validationError('u1');
    assert.deepEqual(error.fields, ['(payload)']);
  });

  it('rejects an int out of range', () => {
    const error = validationError({ user_id: 'u1', age: 2 ** 40, address: { zip: '1' } });
    assert.deepEqual(error.fields, ['age']);
  });
});
