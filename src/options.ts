import { InvalidOptionError } from './errors.ts';

/** Returns `value`, or `fallback` when it is undefined; throws when it is not a positive integer. */
export function positiveInteger(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new InvalidOptionError(option, value, 'a positive integer');
  return value;
}
