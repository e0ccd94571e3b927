import type { TableField } from '@google-cloud/bigquery';

import { TributaryError } from '../errors.ts';

/** A column exists with a different type than the schema now needs. */
export class IncompatibleColumnError extends TributaryError {
  constructor(table: string, column: string, existing: string, target: string) {
    super(
      'SCHEMA_INCOMPATIBLE',
      `Column ${column} of BigQuery table ${table} is ${existing} but the event schema now needs ${target}. ` +
        'BigQuery cannot change a column type in place: add a new field under another name instead.',
    );
  }
}

export interface SchemaChange {
  /** The full field list to set on the table. */
  readonly fields: TableField[];
  /** Dotted paths of the columns that are new. */
  readonly added: string[];
}

/**
 * Computes the table schema that contains both the existing columns and the target ones. Columns
 * are only added, as NULLABLE, and never removed, so older rows and readers keep working.
 */
export function planSchemaChange(table: string, existing: readonly TableField[], target: readonly TableField[]): SchemaChange {
  const added: string[] = [];
  const fields = mergeFields(table, existing, target, '', added);
  return { fields, added };
}

function mergeFields(table: string, existing: readonly TableField[], target: readonly TableField[], prefix: string, added: string[]): TableField[] {
  const merged = existing.map((field) => ({ ...field }));
  for (const targetField of target) {
    const path = `${prefix}${targetField.name}`;
    const current = merged.find((field) => field.name?.toLowerCase() === targetField.name?.toLowerCase());
    if (!current) {
      merged.push(asAddable(targetField));
      added.push(path);
      continue;
    }
    const currentType = normalizeType(current.type);
    const targetType = normalizeType(targetField.type);
    if (currentType !== targetType || (current.mode === 'REPEATED') !== (targetField.mode === 'REPEATED')) {
      throw new IncompatibleColumnError(table, path, describe(current), describe(targetField));
    }
    if (targetType === 'RECORD') {
      current.fields = mergeFields(table, current.fields ?? [], targetField.fields ?? [], `${path}.`, added);
    }
  }
  return merged;
}

/** A column added to an existing table must not be REQUIRED, and neither may its subfields. */
function asAddable(field: TableField): TableField {
  const addable: TableField = { ...field, mode: field.mode === 'REPEATED' ? 'REPEATED' : 'NULLABLE' };
  if (field.fields) addable.fields = field.fields.map(asAddable);
  return addable;
}

const typeAliases: Record<string, string> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL', STRUCT: 'RECORD' };

function normalizeType(type: string | undefined): string {
  const upper = (type ?? '').toUpperCase();
  return typeAliases[upper] ?? upper;
}

function describe(field: TableField): string {
  return `${field.mode ?? 'NULLABLE'} ${normalizeType(field.type)}`;
}

/** Renders a column type in BigQuery DDL, such as `ARRAY<STRUCT<key STRING, value INT64>>`. */
export function ddlType(field: TableField): string {
  const base =
    normalizeType(field.type) === 'RECORD'
      ? `STRUCT<${(field.fields ?? []).map((sub) => `\`${sub.name}\` ${ddlType(sub)}`).join(', ')}>`
      : normalizeType(field.type);
  return field.mode === 'REPEATED' ? `ARRAY<${base}>` : base;
}
