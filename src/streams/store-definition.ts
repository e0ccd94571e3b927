import avro from 'avsc';

import type { AvroRecordSchema, AvroValue } from '../events/index.ts';
import { TributaryError } from '../errors.ts';

/** BigQuery table names: letters, digits and underscores; the store name becomes one. */
const storeNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,900}$/;

/** A keyed state store: its name and the Avro schema of the value kept per key. */
export interface StoreDefinition<V = unknown> {
  readonly name: string;
  readonly valueSchema: AvroRecordSchema;
  readonly valueType: avro.Type;
  /** Phantom field that carries the value type; always undefined at run time. */
  readonly __value?: V;
}

/** The state store definition is unusable. */
export class StoreDefinitionError extends TributaryError {
  constructor(storeName: string, problem: string, cause?: unknown) {
    super('TOPOLOGY_INVALID', `State store ${storeName || '(unnamed)'} is not defined correctly: ${problem}`, { cause });
  }
}

/**
 * Defines a state store whose values follow an Avro record schema. The value type is derived from
 * the schema, and the BigQuery state table gets one column per field.
 */
export function defineStore<const S extends AvroRecordSchema>(options: { name: string; value: S }): StoreDefinition<AvroValue<S>> {
  if (!storeNamePattern.test(options.name ?? '')) {
    throw new StoreDefinitionError(options.name, 'the name must be usable as a BigQuery table name: letters, digits and underscores.');
  }
  let valueType: avro.Type;
  try {
    valueType = avro.Type.forSchema(options.value as unknown as avro.Schema);
  } catch (error) {
    throw new StoreDefinitionError(options.name, `the value schema is invalid: ${(error as Error).message}`, error);
  }
  return Object.freeze({ name: options.name, valueSchema: options.value, valueType });
}
