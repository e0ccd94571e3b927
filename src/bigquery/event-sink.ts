import type { AnyEventDefinition } from '../events/index.ts';
import type { EventSink, SinkRecord, SinkRejection } from '../streams/index.ts';
import { EventTable } from './event-table.ts';
import type { RowWriter } from './row-writer.ts';
import type { TableManager } from './table-manager.ts';

/** Writes events to a BigQuery event table through insertAll; the event id is the insert id. */
export class BigQueryEventSink implements EventSink {
  readonly name: string;
  readonly #table: EventTable;
  readonly #manager: TableManager;
  readonly #writer: RowWriter;

  constructor(tableId: string, event: AnyEventDefinition, manager: TableManager, writer: RowWriter) {
    this.name = tableId;
    this.#table = new EventTable(tableId, event);
    this.#manager = manager;
    this.#writer = writer;
  }

  open(): Promise<void> {
    return this.#table.ensure(this.#manager);
  }

  async write(records: readonly SinkRecord[]): Promise<SinkRejection[]> {
    const writtenAt = new Date();
    const rejections: SinkRejection[] = [];
    const rows: { insertId: string; json: Record<string, unknown> }[] = [];
    const rowToRecord: number[] = [];

    records.forEach((record, index) => {
      try {
        rows.push({ insertId: record.context.eventId, json: this.#table.toRow(record.payload, record.context, writtenAt) });
        rowToRecord.push(index);
      } catch (error) {
        rejections.push({ index, reason: `the event cannot be converted to a row of ${this.name}: ${(error as Error).message}` });
      }
    });

    const rejected = await this.#writer.insert(this.name, rows);
    for (const row of rejected) {
      rejections.push({ index: rowToRecord[row.index]!, reason: `BigQuery rejected the row (${row.reason}): ${row.message}` });
    }
    return rejections;
  }
}
