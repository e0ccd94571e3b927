import type { BigQuery, Dataset, TableField, TableMetadata } from '@google-cloud/bigquery';

import type { Logger } from '../observe/index.ts';
import { silentLogger } from '../observe/index.ts';
import { BigQueryQueryError } from './errors.ts';
import { runQuery } from './run-query.ts';
import { ddlType, planSchemaChange } from './schema-evolution.ts';

export interface TableLayout {
  /** Column used for daily time partitioning. */
  readonly partitionBy?: string;
  /** Columns to cluster by, in order (at most four). */
  readonly clusterBy?: readonly string[];
  readonly description?: string;
}

/**
 * Creates and evolves the tables and views of one dataset. Tables are created from a column list.
 * On later starts, columns that are new in the list are added as NULLABLE, because BigQuery cannot
 * add REQUIRED columns to a table with rows. Safe to call from several processes at once.
 */
export class TableManager {
  readonly dataset: Dataset;
  readonly #bigquery: BigQuery;
  readonly #logger: Logger;
  #datasetReady: Promise<void> | undefined;

  constructor(bigquery: BigQuery, datasetId: string, logger: Logger = silentLogger) {
    this.#bigquery = bigquery;
    this.dataset = bigquery.dataset(datasetId);
    this.#logger = logger.child({ component: 'bigquery-tables', dataset: datasetId });
  }

  /** Fully qualified name for SQL: `project.dataset.table` in backquotes. */
  qualified(tableId: string): string {
    return `\`${this.#bigquery.projectId}.${this.dataset.id}.${tableId}\``;
  }

  /** Creates the dataset if it does not exist. */
  ensureDataset(): Promise<void> {
    this.#datasetReady ??= this.#createDataset().catch((error: unknown) => {
      this.#datasetReady = undefined;
      throw error;
    });
    return this.#datasetReady;
  }

  /** Creates the table, or adds the columns it lacks. Throws IncompatibleColumnError on a type change. */
  async ensureTable(tableId: string, fields: readonly TableField[], layout: TableLayout = {}): Promise<void> {
    await this.ensureDataset();
    const table = this.dataset.table(tableId);
    const [exists] = await table.exists();
    if (!exists) {
      const created = await this.#createTable(tableId, fields, layout);
      if (created) return;
    }
    await this.#evolveTable(tableId, fields);
  }

  /** Creates the view, or replaces its query when it changed. */
  async ensureView(viewId: string, query: string, description?: string): Promise<void> {
    await this.ensureDataset();
    const view = this.dataset.table(viewId);
    try {
      const [exists] = await view.exists();
      if (!exists) {
        await this.dataset.createTable(viewId, { view: { query, useLegacySql: false }, description });
        this.#logger.info({ view: viewId }, 'created view');
        return;
      }
      const [metadata] = await view.getMetadata();
      if (metadata.view?.query !== query) {
        await view.setMetadata({ view: { query, useLegacySql: false } });
        this.#logger.info({ view: viewId }, 'updated view query');
      }
    } catch (error) {
      if (isAlreadyExists(error)) return;
      throw new BigQueryQueryError(`creating view ${viewId}`, error);
    }
  }

  async #createDataset(): Promise<void> {
    try {
      const [exists] = await this.dataset.exists();
      if (!exists) await this.dataset.create();
    } catch (error) {
      if (isAlreadyExists(error)) return;
      throw new BigQueryQueryError(`creating dataset ${this.dataset.id}`, error);
    }
  }

  /** Returns false when another process created the table first. */
  async #createTable(tableId: string, fields: readonly TableField[], layout: TableLayout): Promise<boolean> {
    const metadata: TableMetadata = { schema: { fields: [...fields] } };
    if (layout.partitionBy) metadata.timePartitioning = { type: 'DAY', field: layout.partitionBy };
    if (layout.clusterBy?.length) metadata.clustering = { fields: [...layout.clusterBy] };
    if (layout.description) metadata.description = layout.description;
    try {
      await this.dataset.createTable(tableId, metadata);
      this.#logger.info({ table: tableId, columns: fields.length }, 'created table');
      return true;
    } catch (error) {
      if (isAlreadyExists(error)) return false;
      throw new BigQueryQueryError(`creating table ${tableId}`, error);
    }
  }

  async #evolveTable(tableId: string, fields: readonly TableField[]): Promise<void> {
    const table = this.dataset.table(tableId);
    const [metadata] = await table.getMetadata();
    const change = planSchemaChange(tableId, metadata.schema?.fields ?? [], fields);
    if (change.added.length === 0) return;

    // New top-level columns go through DDL, which changes both the stored rows and the schema.
    for (const field of change.fields) {
      if (!change.added.includes(field.name!)) continue;
      await runQuery(
        this.#bigquery,
        { query: `ALTER TABLE ${this.qualified(tableId)} ADD COLUMN IF NOT EXISTS \`${field.name}\` ${ddlType(field)}` },
        `adding column ${field.name} to ${tableId}`,
      );
    }

    // New fields inside records have no DDL form, and some emulators apply DDL to storage only:
    // whatever the table's schema still lacks is added through a schema update.
    const [fresh] = await table.getMetadata();
    const remaining = planSchemaChange(tableId, fresh.schema?.fields ?? [], fields);
    if (remaining.added.length > 0) {
      try {
        await table.setMetadata({ schema: { fields: remaining.fields } });
      } catch (error) {
        throw new BigQueryQueryError(`adding columns ${remaining.added.join(', ')} to ${tableId}`, error);
      }
    }
    this.#logger.info({ table: tableId, added_columns: change.added }, 'added columns for a new schema version');
  }
}

function isAlreadyExists(error: unknown): boolean {
  return (error as { code?: number })?.code === 409 || /already exists/i.test(String((error as Error)?.message));
}
