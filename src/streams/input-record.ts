/** A Kafka record as the runner hands it to the batch processor, independent of the client library. */
export interface InputRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Kafka record timestamp, in milliseconds since the epoch. */
  readonly timestamp: number;
}

type KafkaHeaderValue = Buffer | string | (Buffer | string)[] | undefined;

/** Turns kafkajs header values (Buffers, strings or arrays of them) into strings; the last value wins. */
export function headersToStrings(headers: Record<string, KafkaHeaderValue> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) result[name] = last.toString();
  }
  return result;
}
