import { TributaryError, describeValue } from '../errors.ts';
import type { AnyEventDefinition } from './define-event.ts';

/** A payload does not match its event's schema. Nothing was written. */
export class InvalidPayloadError extends TributaryError {
  readonly eventName: string;
  /** Dotted paths of the invalid fields, such as `address.zip` or `items.2.price`. */
  readonly fields: readonly string[];

  constructor(eventName: string, problems: readonly PayloadProblem[]) {
    const listed = problems
      .slice(0, 5)
      .map((problem) => `field "${problem.field}" expects ${problem.expected} but got ${describeValue(problem.value)}`)
      .join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    super(
      'EVENT_PAYLOAD_INVALID',
      `Invalid ${eventName} payload: ${listed}${more}. Correct the payload to match the event's Avro schema; nothing was published.`,
    );
    this.eventName = eventName;
    this.fields = problems.map((problem) => problem.field);
  }
}

export interface PayloadProblem {
  readonly field: string;
  readonly expected: string;
  readonly value: unknown;
}

/**
 * Checks a payload against the event's schema, rejecting undeclared fields too (they are most often
 * typos). Throws InvalidPayloadError naming every invalid field.
 */
export function validatePayload(event: AnyEventDefinition, payload: unknown): void {
  const problems: PayloadProblem[] = [];

  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    problems.push({ field: '(payload)', expected: `a ${event.name} record object`, value: payload });
    throw new InvalidPayloadError(event.name, problems);
  }

  const valid = event.avroType.isValid(payload, {
    noUndeclaredFields: true,
    errorHook: (path, value, type) => {
      problems.push({ field: path.join('.') || '(payload)', expected: describeAvroType(type), value });
    },
  });
  if (!valid) throw new InvalidPayloadError(event.name, problems);
}

function describeAvroType(type: { typeName: string; name?: string | undefined }): string {
  if (type.typeName === 'record' && type.name) {
    return `a ${type.name} record with only its declared fields`;
  }
  return type.name ? `${type.typeName} ${type.name}` : type.typeName;
}
