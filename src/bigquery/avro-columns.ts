import type { TableField } from '@google-cloud/bigquery';

import { TributaryError } from '../errors.ts';
import type { AvroRecordSchema } from '../events/index.ts';

/** An Avro schema uses a type that has no BigQuery column type. */
export class UnsupportedSchemaError extends TributaryError {
  constructor(recordName: string, fieldPath: string, problem: string) {
    super('SCHEMA_UNSUPPORTED', `Cannot map field "${fieldPath}" of ${recordName} to a BigQuery column: ${problem}`);
  }
}

/**
 * A column compiled from an Avro field: its BigQuery definition and the two conversions between
 * an avsc value and a BigQuery JSON row value.
 */
export interface Column {
  readonly name: string;
  readonly field: TableField;
  toBigQuery(value: unknown): unknown;
  fromBigQuery(value: unknown): unknown;
}

interface ValueMapping {
  readonly type: string;
  readonly mode: 'NULLABLE' | 'REQUIRED' | 'REPEATED';
  readonly fields?: TableField[];
  toBigQuery(value: unknown): unknown;
  fromBigQuery(value: unknown): unknown;
}

type RawSchema = unknown;

const identity = (value: unknown): unknown => value;

/**
 * Compiles the columns of a BigQuery table from an Avro record schema. Non-null types become
 * REQUIRED columns, `["null", T]` unions NULLABLE ones, arrays REPEATED ones, maps REPEATED
 * key/value records, enums STRING, bytes and fixed BYTES, and the logical types timestamp-millis,
 * timestamp-micros and date TIMESTAMP and DATE. Unions of several non-null types have no column type
 * and throw UnsupportedSchemaError.
 */
export function compileColumns(schema: AvroRecordSchema): Column[] {
  const namedTypes = new Map<string, RawSchema>();
  collectNamedTypes(schema, schema.namespace, namedTypes);
  const context = { recordName: schema.name, namedTypes };
  return schema.fields.map((field) => {
    const mapping = mapValue(field.type, field.name, context);
    return {
      name: field.name,
      field: toTableField(field.name, mapping),
      toBigQuery: mapping.toBigQuery,
      fromBigQuery: mapping.fromBigQuery,
    };
  });
}

/** Converts an avsc record value to a BigQuery JSON row with the given columns. */
export function toBigQueryRow(columns: readonly Column[], value: Record<string, unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const column of columns) row[column.name] = column.toBigQuery(value[column.name]);
  return row;
}

/** Converts a row read from BigQuery back to the avsc value of the record. */
export function fromBigQueryRow(columns: readonly Column[], row: Record<string, unknown>): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const column of columns) value[column.name] = column.fromBigQuery(row[column.name]);
  return value;
}

interface MappingContext {
  readonly recordName: string;
  readonly namedTypes: Map<string, RawSchema>;
}

function toTableField(name: string, mapping: ValueMapping): TableField {
  const field: TableField = { name, type: mapping.type, mode: mapping.mode };
  if (mapping.fields) field.fields = mapping.fields;
  return field;
}

function mapValue(schema: RawSchema, path: string, context: MappingContext): ValueMapping {
  if (typeof schema === 'string') {
    const named = context.namedTypes.get(schema);
    if (named !== undefined) return mapValue(named, path, context);
    return mapPrimitive(schema, path, context);
  }
  if (Array.isArray(schema)) return mapUnion(schema, path, context);
  if (schema === null || typeof schema !== 'object') {
    throw new UnsupportedSchemaError(context.recordName, path, `the schema ${JSON.stringify(schema)} is not an Avro type.`);
  }

  const complex = schema as Record<string, unknown>;
  switch (complex.type) {
    case 'record':
      return mapRecord(complex, path, context);
    case 'enum':
      return { type: 'STRING', mode: 'REQUIRED', toBigQuery: identity, fromBigQuery: identity };
    case 'fixed':
      return mapPrimitive('bytes', path, context);
    case 'array':
      return mapArray(complex.items, path, context);
    case 'map':
      return mapMap(complex.values, path, context);
    default:
      return mapLogical(complex, path, context);
  }
}

function mapPrimitive(name: string, path: string, context: MappingContext): ValueMapping {
  switch (name) {
    case 'boolean':
      return { type: 'BOOL', mode: 'REQUIRED', toBigQuery: identity, fromBigQuery: identity };
    case 'int':
    case 'long':
      return { type: 'INT64', mode: 'REQUIRED', toBigQuery: identity, fromBigQuery: toNumber };
    case 'float':
    case 'double':
      return { type: 'FLOAT64', mode: 'REQUIRED', toBigQuery: identity, fromBigQuery: toNumber };
    case 'string':
      return { type: 'STRING', mode: 'REQUIRED', toBigQuery: identity, fromBigQuery: identity };
    case 'bytes':
      return {
        type: 'BYTES',
        mode: 'REQUIRED',
        toBigQuery: (value) => (value as Buffer).toString('base64'),
        fromBigQuery: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'base64')),
      };
    case 'null':
      throw new UnsupportedSchemaError(context.recordName, path, 'a field of type "null" alone carries no data; remove the field.');
    default:
      throw new UnsupportedSchemaError(context.recordName, path, `"${name}" is neither a primitive type nor a named type of this schema.`);
  }
}

function mapLogical(schema: Record<string, unknown>, path: string, context: MappingContext): ValueMapping {
  const underlying = mapValue(schema.type, path, context);
  switch (schema.logicalType) {
    case 'timestamp-millis':
      return { type: 'TIMESTAMP', mode: 'REQUIRED', toBigQuery: (ms) => new Date(ms as number).toISOString(), fromBigQuery: (value) => timestampMicros(value) / 1000 };
    case 'timestamp-micros':
      return {
        type: 'TIMESTAMP',
        mode: 'REQUIRED',
        toBigQuery: (micros) => (micros as number) / 1e6,
        fromBigQuery: timestampMicros,
      };
    case 'date':
      return {
        type: 'DATE',
        mode: 'REQUIRED',
        toBigQuery: (days) => new Date((days as number) * 86_400_000).toISOString().slice(0, 10),
        fromBigQuery: (value) => Date.parse(`${dateString(value)}T00:00:00Z`) / 86_400_000,
      };
    default:
      return underlying;
  }
}

function mapUnion(branches: readonly RawSchema[], path: string, context: MappingContext): ValueMapping {
  const nonNull = branches.filter((branch) => branch !== 'null');
  if (nonNull.length !== 1) {
    throw new UnsupportedSchemaError(
      context.recordName,
      path,
      `a union of ${nonNull.length} non-null types has no BigQuery column type; use ["null", T] or a record with one field per type.`,
    );
  }
  const inner = mapValue(nonNull[0], path, context);
  const nullable = nonNull.length < branches.length;
  if (!nullable) return inner;
  if (inner.mode === 'REPEATED') {
    // BigQuery has no nullable repeated column: a null array is stored as an empty one.
    return { ...inner, toBigQuery: (value) => (value === null ? [] : inner.toBigQuery(value)) };
  }
  return {
    ...inner,
    mode: 'NULLABLE',
    toBigQuery: (value) => (value === null || value === undefined ? null : inner.toBigQuery(value)),
    fromBigQuery: (value) => (value === null || value === undefined ? null : inner.fromBigQuery(value)),
  };
}

function mapRecord(schema: Record<string, unknown>, path: string, context: MappingContext): ValueMapping {
  const fields = (schema.fields as { name: string; type: RawSchema }[]).map((field) => ({
    name: field.name,
    mapping: mapValue(field.type, `${path}.${field.name}`, context),
  }));
  return {
    type: 'RECORD',
    mode: 'REQUIRED',
    fields: fields.map(({ name, mapping }) => toTableField(name, mapping)),
    toBigQuery: (value) => {
      const record = value as Record<string, unknown>;
      return Object.fromEntries(fields.map(({ name, mapping }) => [name, mapping.toBigQuery(record[name])]));
    },
    fromBigQuery: (value) => {
      const record = value as Record<string, unknown>;
      return Object.fromEntries(fields.map(({ name, mapping }) => [name, mapping.fromBigQuery(record[name])]));
    },
  };
}

function mapArray(items: RawSchema, path: string, context: MappingContext): ValueMapping {
  const item = mapValue(items, `${path}[]`, context);
  if (item.mode !== 'REQUIRED') {
    throw new UnsupportedSchemaError(
      context.recordName,
      path,
      'BigQuery arrays cannot hold arrays or nulls; wrap the items in a record, or make them non-null.',
    );
  }
  return {
    ...item,
    mode: 'REPEATED',
    toBigQuery: (value) => (value as unknown[]).map(item.toBigQuery),
    fromBigQuery: (value) => ((value as unknown[] | null) ?? []).map(item.fromBigQuery),
  };
}

function mapMap(values: RawSchema, path: string, context: MappingContext): ValueMapping {
  const entryValue = mapValue(values, `${path}{}`, context);
  const entryFields = [
    { name: 'key', type: 'STRING', mode: 'REQUIRED' },
    toTableField('value', entryValue),
  ];
  return {
    type: 'RECORD',
    mode: 'REPEATED',
    fields: entryFields,
    toBigQuery: (value) =>
      Object.entries(value as Record<string, unknown>).map(([key, entry]) => ({ key, value: entryValue.toBigQuery(entry) })),
    fromBigQuery: (value) =>
      Object.fromEntries(((value as { key: string; value: unknown }[] | null) ?? []).map((entry) => [entry.key, entryValue.fromBigQuery(entry.value)])),
  };
}

function collectNamedTypes(schema: RawSchema, namespace: string | undefined, namedTypes: Map<string, RawSchema>): void {
  if (Array.isArray(schema)) {
    for (const branch of schema) collectNamedTypes(branch, namespace, namedTypes);
    return;
  }
  if (schema === null || typeof schema !== 'object') return;

  const complex = schema as Record<string, unknown>;
  if (typeof complex.name === 'string' && ['record', 'enum', 'fixed'].includes(complex.type as string)) {
    const ownNamespace = (complex.namespace as string | undefined) ?? namespace;
    namedTypes.set(complex.name, complex);
    if (ownNamespace && !complex.name.includes('.')) namedTypes.set(`${ownNamespace}.${complex.name}`, complex);
    for (const field of (complex.fields as { type: RawSchema }[] | undefined) ?? []) {
      collectNamedTypes(field.type, ownNamespace, namedTypes);
    }
  }
  if (complex.items !== undefined) collectNamedTypes(complex.items, namespace, namedTypes);
  if (complex.values !== undefined) collectNamedTypes(complex.values, namespace, namedTypes);
}

function toNumber(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'object' && 'value' in (value as object)) return Number((value as { value: unknown }).value);
  return Number(value);
}

/** Microseconds since the epoch of a TIMESTAMP as the Node client returns it. */
function timestampMicros(value: unknown): number {
  if (typeof value === 'object' && value !== null && 'value' in value) return Date.parse(String(value.value)) * 1000;
  if (typeof value === 'number') return value * 1e6;
  return Date.parse(String(value)) * 1000;
}

function dateString(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'value' in value) return String(value.value);
  return String(value);
}
