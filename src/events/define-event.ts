import avro from 'avsc';

import { TributaryError } from '../errors.ts';
import type { AvroInput, AvroRecordSchema, AvroValue } from './avro-types.ts';

/** Kafka's own limit on topic names: letters, digits, '.', '_' and '-', at most 249 characters. */
const topicNamePattern = /^[A-Za-z0-9._-]{1,249}$/;

export interface EventOptions<S extends AvroRecordSchema> {
  /** Name used in logs, errors and metrics; by convention the Avro record name. */
  readonly name: string;
  /** Kafka topic the event is published to. */
  readonly topic: string;
  /** Avro record schema of the payload. Written as a literal, it also gives the payload type. */
  readonly schema: S;
  /**
   * Returns the event's key: the Kafka message key, the unit of ordering and of state.
   * Events with the same key keep their order end to end.
   */
  readonly key: (payload: AvroInput<S>) => string;
}

/**
 * Any event definition, whatever its payload type. Code that handles events generically takes this;
 * its key function accepts `never` so that every typed definition is assignable to it.
 */
export interface AnyEventDefinition {
  readonly name: string;
  readonly topic: string;
  readonly schema: AvroRecordSchema;
  readonly key: (payload: never) => string;
  /** avsc type built from the schema; validates, encodes and decodes payloads. */
  readonly avroType: avro.Type;
  /** Subject under which the schema is registered (Confluent's topic-name strategy). */
  readonly subject: string;
}

/** A typed event: its schema, topic and key function, and the avsc type that validates payloads. */
export type EventDefinition<S extends AvroRecordSchema> = Omit<AnyEventDefinition, 'schema' | 'key'> & {
  readonly schema: S;
  readonly key: (payload: AvroInput<S>) => string;
};

/** Payload type accepted when publishing an event (fields with a default may be omitted). */
export type EventInput<E> = E extends { readonly schema: infer S } ? AvroInput<S> : never;

/** Payload type a consumer receives (every field present). */
export type EventPayload<E> = E extends { readonly schema: infer S } ? AvroValue<S> : never;

/** The event definition is unusable: a bad name, topic, key function or schema. */
export class EventDefinitionError extends TributaryError {
  constructor(eventName: string, problem: string, cause?: unknown) {
    super('EVENT_DEFINITION_INVALID', `Event ${eventName || '(unnamed)'} is not defined correctly: ${problem}`, { cause });
  }
}

/**
 * Defines a typed event. The payload type comes from the schema literal:
 *
 * @example
 * const orderPlaced = defineEvent({
 *   name: 'OrderPlaced',
 *   topic: 'shop.orders',
 *   schema: { type: 'record', name: 'OrderPlaced', fields: [
 *     { name: 'orderId', type: 'string' },
 *     { name: 'total', type: 'double' },
 *   ] },
 *   key: (order) => order.orderId,
 * });
 */
export function defineEvent<const S extends AvroRecordSchema>(options: EventOptions<S>): EventDefinition<S> {
  const { name, topic, schema, key } = options;

  if (typeof name !== 'string' || name.trim() === '') {
    throw new EventDefinitionError(String(name ?? ''), 'the name must be a non-empty string.');
  }
  if (typeof topic !== 'string' || !topicNamePattern.test(topic)) {
    throw new EventDefinitionError(
      name,
      `the topic ${JSON.stringify(topic)} is not a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249 characters).`,
    );
  }
  if (typeof key !== 'function') {
    throw new EventDefinitionError(name, 'the key option must be a function that returns the event key as a string.');
  }
  if (schema?.type !== 'record') {
    throw new EventDefinitionError(name, 'the schema must be an Avro record schema ({ type: "record", ... }).');
  }

  let avroType: avro.Type;
  try {
    avroType = avro.Type.forSchema(schema as unknown as avro.Schema);
  } catch (error) {
    throw new EventDefinitionError(name, `the Avro schema is invalid: ${(error as Error).message}`, error);
  }

  return Object.freeze({ name, topic, schema, key, avroType, subject: `${topic}-value` });
}
