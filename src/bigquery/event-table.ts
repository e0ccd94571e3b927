import type { TableField } from '@google-cloud/bigquery';

import type { AnyEventDefinition } from '../events/index.ts';
import { compileColumns, toBigQueryRow } from './avro-columns.ts';
import type { Column } from './avro-columns.ts';
import { UnsupportedSchemaError } from './avro-columns.ts';
import type { TableManager } from './table-manager.ts';

/** Source of an event, as stored in the metadata columns of its row. */
export interface EventOrigin {
  readonly eventId: string;
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly publishedAt: Date;
}

/** Metadata columns every event table has next to the payload columns. */
export const eventMetadataFields: readonly TableField[] = [
  { name: '_event_id', type: 'STRING', mode: 'REQUIRED' },
  { name: '_key', type: 'STRING', mode: 'REQUIRED' },
  { name: '_topic', type: 'STRING', mode: 'REQUIRED' },
  { name: '_partition', type: 'INT64', mode: 'REQUIRED' },
  { name: '_offset', type: 'INT64', mode: 'REQUIRED' },
  { name: '_published_at', type: 'TIMESTAMP', mode: 'REQUIRED' },
  { name: '_written_at', type: 'TIMESTAMP', mode: 'REQUIRED' },
];

/**
 * A BigQuery table with one row per event: the payload's columns from the Avro schema plus the
 * metadata columns, partitioned by day of `_published_at` and clustered by `_key`. Writes are
 * at-least-once, so the view `<table>_deduped` keeps one row per `_event_id`.
 */
export class EventTable {
  readonly tableId: string;
  readonly dedupedViewId: string;
  readonly fields: readonly TableField[];
  readonly #columns: readonly Column[];

  constructor(tableId: string, event: AnyEventDefinition) {
    this.tableId = tableId;
    this.dedupedViewId = `${tableId}_deduped`;
    this.#columns = compileColumns(event.schema);
    for (const column of this.#columns) {
      if (eventMetadataFields.some((field) => field.name === column.name)) {
        throw new UnsupportedSchemaError(event.name, column.name, 'the name is one of the metadata columns; rename the field.');
      }
    }
    this.fields = [...this.#columns.map((column) => column.field), ...eventMetadataFields];
  }

  /** Creates or evolves the table and its de-duplicating view. */
  async ensure(manager: TableManager): Promise<void> {
    await manager.ensureTable(this.tableId, this.fields, {
      partitionBy: '_published_at',
      clusterBy: ['_key'],
      description: 'One row per event, written by Tributary (at-least-once; query the _deduped view for exactly one).',
    });
    await manager.ensureView(
      this.dedupedViewId,
      `SELECT * EXCEPT (_copy) FROM (
         SELECT *, ROW_NUMBER() OVER (PARTITION BY _event_id ORDER BY _written_at) AS _copy
         FROM ${manager.qualified(this.tableId)}
       ) WHERE _copy = 1`,
      `Rows of ${this.tableId} with one row per _event_id.`,
    );
  }

  /** Builds the JSON row of one event. */
  toRow(payload: Record<string, unknown>, origin: EventOrigin, writtenAt: Date): Record<string, unknown> {
    return {
      ...toBigQueryRow(this.#columns, payload),
      _event_id: origin.eventId,
      _key: origin.key,
      _topic: origin.topic,
      _partition: origin.partition,
      _offset: origin.offset,
      _published_at: origin.publishedAt.toISOString(),
      _written_at: writtenAt.toISOString(),
    };
  }
}
