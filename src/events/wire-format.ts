import { TributaryError } from '../errors.ts';

/**
 * Confluent wire format: byte 0 is the magic byte 0, bytes 1-4 the schema id (big-endian int32),
 * then the Avro binary encoding of the value.
 */
const magicByte = 0;
const headerLength = 5;

export function frameAvro(schemaId: number, avroBytes: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(headerLength + avroBytes.length);
  framed.writeUInt8(magicByte, 0);
  framed.writeInt32BE(schemaId, 1);
  avroBytes.copy(framed, headerLength);
  return framed;
}

export interface FramedAvro {
  readonly schemaId: number;
  readonly avroBytes: Buffer;
}

/** A Kafka record value is not in the Confluent wire format. */
export class UndecodableRecordError extends TributaryError {
  constructor(problem: string, cause?: unknown) {
    super('RECORD_UNDECODABLE', `Cannot decode the record value: ${problem}`, { cause });
  }
}

export function unframeAvro(value: Buffer | null): FramedAvro {
  if (value === null || value.length < headerLength) {
    throw new UndecodableRecordError(
      `expected at least ${headerLength} bytes of Confluent-framed Avro, got ${value === null ? 'a null value' : `${value.length} bytes`}.`,
    );
  }
  if (value.readUInt8(0) !== magicByte) {
    throw new UndecodableRecordError(`the first byte is ${value.readUInt8(0)}, not the magic byte 0 of the Confluent wire format.`);
  }
  return { schemaId: value.readInt32BE(1), avroBytes: value.subarray(headerLength) };
}
