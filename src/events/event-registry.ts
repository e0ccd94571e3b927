import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';

import { TributaryError } from '../errors.ts';
import type { AnyEventDefinition } from './define-event.ts';
import { UndecodableRecordError, frameAvro, unframeAvro } from './wire-format.ts';

export interface EventRegistryOptions {
  /** Base URL of a Confluent-compatible schema registry, such as `http://127.0.0.1:8081`. */
  readonly url: string;
}

/** A schema change breaks readers of the data already written. */
export class IncompatibleSchemaError extends TributaryError {
  constructor(event: AnyEventDefinition, reason: string, cause?: unknown) {
    super(
      'SCHEMA_INCOMPATIBLE',
      `The schema of ${event.name} is not backward compatible with the version registered under ${event.subject}: ${reason} ` +
        'Give every new field a default, and do not remove or retype fields that have no default.',
      { cause },
    );
  }
}

/** The schema registry could not be reached or returned an error. */
export class SchemaRegistryError extends TributaryError {
  constructor(action: string, cause: unknown) {
    super('SCHEMA_REGISTRY_FAILED', `Schema registry request failed while ${action}: ${(cause as Error)?.message ?? cause}`, {
      cause,
      retriable: true,
    });
  }
}

/** An event was used before `EventRegistry.register` returned for it. */
export class EventNotRegisteredError extends TributaryError {
  constructor(event: AnyEventDefinition) {
    super('EVENT_NOT_REGISTERED', `Event ${event.name} is not registered. Call eventRegistry.register(${event.name}) at start-up.`);
  }
}

export interface DecodedValue {
  readonly schemaId: number;
  readonly value: unknown;
}

/**
 * Registers event schemas in a Confluent-compatible schema registry and converts payloads to and
 * from the Confluent wire format. Subjects use BACKWARD compatibility.
 */
export class EventRegistry {
  readonly #client: SchemaRegistry;
  readonly #schemaIds = new Map<AnyEventDefinition, number>();
  readonly #writerTypes = new Map<number, Promise<avro.Type>>();
  readonly #resolvers = new Map<string, Reader>();

  constructor(options: EventRegistryOptions) {
    this.#client = new SchemaRegistry({ host: options.url, retry: { retries: 3 } });
  }

  /**
   * Registers each event's schema, or finds it already registered, and remembers its id.
   * Throws IncompatibleSchemaError when the registry rejects the change.
   */
  async register(...events: AnyEventDefinition[]): Promise<void> {
    for (const event of events) {
      if (this.#schemaIds.has(event)) continue;
      this.#schemaIds.set(event, await this.#registerOne(event));
    }
  }

  /** Returns the id the registry gave to the event's schema. */
  schemaId(event: AnyEventDefinition): number {
    const id = this.#schemaIds.get(event);
    if (id === undefined) throw new EventNotRegisteredError(event);
    return id;
  }

  /** Encodes a payload that was already validated, in the Confluent wire format. */
  encode(event: AnyEventDefinition, payload: unknown): Buffer {
    return frameAvro(this.schemaId(event), event.avroType.toBuffer(payload));
  }

  /**
   * Decodes a Confluent-framed value written with any registered schema, resolving it to the
   * reader's (the event's) schema, so older and newer writers both decode.
   */
  async decode(event: AnyEventDefinition, value: Buffer | null): Promise<DecodedValue> {
    const { schemaId, avroBytes } = unframeAvro(value);
    const resolver = await this.#resolverFor(event, schemaId);
    try {
      return { schemaId, value: resolver === 'same-schema' ? event.avroType.fromBuffer(avroBytes) : event.avroType.fromBuffer(avroBytes, resolver) };
    } catch (error) {
      throw new UndecodableRecordError(`the bytes do not decode as schema id ${schemaId}: ${(error as Error).message}`, error);
    }
  }

  async #registerOne(event: AnyEventDefinition): Promise<number> {
    try {
      const { id } = await this.#client.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(event.schema) },
        { subject: event.subject },
      );
      return id;
    } catch (error) {
      if (isConflict(error)) {
        throw new IncompatibleSchemaError(event, await this.#explainIncompatibility(event), error);
      }
      throw new SchemaRegistryError(`registering ${event.subject}`, error);
    }
  }

  async #explainIncompatibility(event: AnyEventDefinition): Promise<string> {
    try {
      const latestId = await this.#client.getLatestSchemaId(event.subject);
      const latest = await this.#writerType(latestId);
      event.avroType.createResolver(latest);
      return 'the registry reported a conflict.';
    } catch (error) {
      return `a reader of the new schema cannot read data of the registered one (${(error as Error).message}).`;
    }
  }

  async #resolverFor(event: AnyEventDefinition, schemaId: number): Promise<Reader> {
    const cacheKey = `${event.subject}:${schemaId}`;
    const cached = this.#resolvers.get(cacheKey);
    if (cached) return cached;

    const writer = await this.#writerType(schemaId);
    let resolver: Reader;
    try {
      resolver = writer.equals(event.avroType) ? 'same-schema' : event.avroType.createResolver(writer);
    } catch (error) {
      throw new UndecodableRecordError(
        `schema id ${schemaId} cannot be read as ${event.name}: ${(error as Error).message}`,
        error,
      );
    }
    this.#resolvers.set(cacheKey, resolver);
    return resolver;
  }

  #writerType(schemaId: number): Promise<avro.Type> {
    let pending = this.#writerTypes.get(schemaId);
    if (!pending) {
      pending = this.#client.getSchema(schemaId).then(
        (schema) => avro.Type.forSchema(schema as avro.Schema),
        (error: unknown) => {
          this.#writerTypes.delete(schemaId);
          throw new SchemaRegistryError(`fetching schema id ${schemaId}`, error);
        },
      );
      this.#writerTypes.set(schemaId, pending);
    }
    return pending;
  }
}

/** How to read bytes of one writer schema as the event's schema. */
type Reader = 'same-schema' | ReturnType<avro.Type['createResolver']>;

function isConflict(error: unknown): boolean {
  const status = (error as { status?: number } | null)?.status;
  return status === 409 || /incompatible|409/i.test(String((error as Error)?.message));
}
