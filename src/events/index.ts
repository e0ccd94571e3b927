export type { AvroField, AvroInput, AvroRecordSchema, AvroSchema, AvroValue } from './avro-types.ts';
export { EventDefinitionError, defineEvent } from './define-event.ts';
export type { AnyEventDefinition, EventDefinition, EventInput, EventOptions, EventPayload } from './define-event.ts';
export {
  EventNotRegisteredError,
  EventRegistry,
  IncompatibleSchemaError,
  SchemaRegistryError,
} from './event-registry.ts';
export type { DecodedValue, EventRegistryOptions } from './event-registry.ts';
export { InvalidPayloadError, validatePayload } from './validate-payload.ts';
export type { PayloadProblem } from './validate-payload.ts';
export { UndecodableRecordError, frameAvro, unframeAvro } from './wire-format.ts';
