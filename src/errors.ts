/**
 * Stable error codes. Callers branch on `error.code`, never on message text.
 */
export const errorCodes = [
  'EVENT_DEFINITION_INVALID',
  'EVENT_PAYLOAD_INVALID',
  'EVENT_NOT_REGISTERED',
  'SCHEMA_INCOMPATIBLE',
  'SCHEMA_UNSUPPORTED',
  'SCHEMA_REGISTRY_FAILED',
  'RECORD_UNDECODABLE',
  'OPTION_INVALID',
  'OUTBOX_WRITE_FAILED',
  'RELAY_SEND_FAILED',
  'BIGQUERY_WRITE_FAILED',
  'BIGQUERY_QUERY_FAILED',
  'TOPOLOGY_INVALID',
  'STATE_INVALID',
  'LIFECYCLE_INVALID',
  'UNSUPPORTED',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export interface TributaryErrorOptions {
  /** True when repeating the same operation later may succeed. */
  retriable?: boolean;
  cause?: unknown;
}

/**
 * Base class of every error Tributary throws on purpose.
 */
export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** An option passed to a constructor or function has a value it cannot use. */
export class InvalidOptionError extends TributaryError {
  readonly option: string;

  constructor(option: string, value: unknown, expected: string) {
    super('OPTION_INVALID', `Invalid option ${option}: expected ${expected}, got ${describeValue(value)}.`);
    this.option = option;
  }
}

/** A feature that is not built; the message names what to do instead. */
export class UnsupportedError extends TributaryError {
  constructor(message: string) {
    super('UNSUPPORTED', message);
  }
}

/** A method was called in a lifecycle state that does not allow it. */
export class LifecycleError extends TributaryError {
  constructor(component: string, method: string, state: string) {
    super('LIFECYCLE_INVALID', `${component}.${method}() cannot be called while the ${component} is ${state}.`);
  }
}

/** Renders a value for an error message, short enough to read in a log line. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') {
    const truncated = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `${JSON.stringify(truncated)} (string)`;
  }
  if (typeof value === 'bigint') return `${value}n (bigint)`;
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no prototype'})`;
  return `${String(value)} (${typeof value})`;
}
