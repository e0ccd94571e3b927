import type { BigQuery, TableField } from '@google-cloud/bigquery';

import type { StateBackend, StoredState, StoreDefinition } from '../streams/index.ts';
import { compileColumns, fromBigQueryRow, toBigQueryRow } from './avro-columns.ts';
import type { Column } from './avro-columns.ts';
import { UnsupportedSchemaError } from './avro-columns.ts';
import type { RowWriter } from './row-writer.ts';
import { runQuery } from './run-query.ts';
import type { TableManager } from './table-manager.ts';
import { BigQueryWriteError } from './errors.ts';

const stateMetadataFields: readonly TableField[] = [
  { name: '_partition', type: 'INT64', mode: 'REQUIRED' },
  { name: '_offset', type: 'INT64', mode: 'REQUIRED' },
  { name: '_key_seq', type: 'INT64', mode: 'NULLABLE' },
  { name: '_deleted', type: 'BOOL', mode: 'REQUIRED' },
  { name: '_written_at', type: 'TIMESTAMP', mode: 'REQUIRED' },
];

/** Keys per read-back query; keeps the query parameter well under BigQuery's request limits. */
const keysPerQuery = 10_000;

/**
 * Keeps a state store in BigQuery: an append-only table `<store>_versions` with one row per
 * written version, and a view `<store>` with the newest live version of each key for analysts.
 * Value columns are NULLABLE because a deleted key's version has no value.
 */
export class BigQueryStateBackend<V> implements StateBackend<V> {
  readonly versionsTableId: string;
  readonly viewId: string;
  readonly #bigquery: BigQuery;
  readonly #manager: TableManager;
  readonly #writer: RowWriter;
  readonly #columns: readonly Column[];
  readonly #fields: readonly TableField[];

  constructor(store: StoreDefinition<V>, bigquery: BigQuery, manager: TableManager, writer: RowWriter) {
    this.versionsTableId = `${store.name}_versions`;
    this.viewId = store.name;
    this.#bigquery = bigquery;
    this.#manager = manager;
    this.#writer = writer;
    this.#columns = compileColumns(store.valueSchema);
    for (const column of this.#columns) {
      if (column.name === '_key' || stateMetadataFields.some((field) => field.name === column.name)) {
        throw new UnsupportedSchemaError(store.name, column.name, 'the name is one of the state table metadata columns; rename the field.');
      }
    }
    const valueFields = this.#columns.map((column) => ({
      ...column.field,
      mode: column.field.mode === 'REPEATED' ? 'REPEATED' : 'NULLABLE',
    }));
    this.#fields = [{ name: '_key', type: 'STRING', mode: 'REQUIRED' }, ...valueFields, ...stateMetadataFields];
  }

  async open(): Promise<void> {
    await this.#manager.ensureTable(this.versionsTableId, this.#fields, {
      clusterBy: ['_key'],
      description: 'Every version of every key of a Tributary state store (append-only).',
    });
    await this.#manager.ensureView(
      this.viewId,
      `SELECT * EXCEPT (_version, _deleted, _key_seq) FROM (${this.#latestVersionsQuery('TRUE')}) WHERE _version = 1 AND NOT _deleted`,
      `Newest value of each key of state store ${this.viewId}.`,
    );
  }

  async load(keys: readonly string[]): Promise<Map<string, StoredState<V>>> {
    const found = new Map<string, StoredState<V>>();
    for (let start = 0; start < keys.length; start += keysPerQuery) {
      const chunk = keys.slice(start, start + keysPerQuery);
      const rows = await runQuery(
        this.#bigquery,
        {
          query: `SELECT * FROM (${this.#latestVersionsQuery('_key IN UNNEST(@keys)')}) WHERE _version = 1`,
          params: { keys: chunk },
          types: { keys: ['STRING'] },
        },
        `reading ${chunk.length} keys from ${this.versionsTableId}`,
      );
      for (const row of rows) found.set(String(row._key), this.#toState(row));
    }
    return found;
  }

  async save(entries: ReadonlyMap<string, StoredState<V>>): Promise<void> {
    const writtenAt = new Date().toISOString();
    const rows = [...entries].map(([key, state]) => ({
      insertId: `${key}\u0000${state.partition}\u0000${state.offset}`,
      json: {
        _key: key,
        ...(state.value === null ? {} : toBigQueryRow(this.#columns, state.value as Record<string, unknown>)),
        _partition: state.partition,
        _offset: state.offset,
        _key_seq: state.sequence ?? null,
        _deleted: state.value === null,
        _written_at: writtenAt,
      },
    }));
    const rejected = await this.#writer.insert(this.versionsTableId, rows);
    if (rejected.length > 0) {
      // A state row that BigQuery rejects cannot be skipped: later versions build on it.
      const first = rejected[0]!;
      throw new BigQueryWriteError(
        this.versionsTableId,
        `${rejected.length} state rows were rejected, the first for key ${JSON.stringify(rows[first.index]!.json._key)}: ${first.message}`,
      );
    }
  }

  /** Versions ranked newest first per key (`_version` = 1 is the newest), filtered by `where`. */
  #latestVersionsQuery(where: string): string {
    return `SELECT *, ROW_NUMBER() OVER (PARTITION BY _key ORDER BY _offset DESC, _written_at DESC) AS _version
      FROM ${this.#manager.qualified(this.versionsTableId)}
      WHERE ${where}`;
  }

  #toState(row: Record<string, unknown>): StoredState<V> {
    const state: StoredState<V> = {
      value: row._deleted === true ? null : (fromBigQueryRow(this.#columns, row) as V),
      partition: Number(row._partition),
      offset: Number(row._offset),
    };
    return row._key_seq === null || row._key_seq === undefined ? state : { ...state, sequence: Number(row._key_seq) };
  }
}
