import type { Connection, PoolConnection } from 'mariadb';

import { InvalidOptionError } from '../errors.ts';

export type SqlRow = Record<string, unknown>;

export interface SqlResult {
  readonly affectedRows: number;
  /** The value of LAST_INSERT_ID() after the statement, as a bigint. */
  readonly insertId: bigint;
}

/**
 * The few SQL operations the outbox needs from the caller's transaction. Adapters turn a driver's
 * connection into one, and `kind` distinguishes an adapter from a raw connection.
 */
export interface SqlExecutor {
  readonly kind: 'tributary.sql-executor';
  /** Runs a statement that returns rows. `?` placeholders take `values` in order. */
  query(sql: string, values?: readonly unknown[]): Promise<SqlRow[]>;
  /** Runs a statement that changes rows. */
  execute(sql: string, values?: readonly unknown[]): Promise<SqlResult>;
}

type MariadbConnection = Connection | PoolConnection;

/** Wraps a connection of the `mariadb` connector (a plain or pooled connection). */
export function mariadbExecutor(connection: MariadbConnection): SqlExecutor {
  return {
    kind: 'tributary.sql-executor',
    async query(sql, values) {
      const rows: SqlRow[] = await connection.query({ sql, bigIntAsNumber: false }, values as unknown[]);
      return rows;
    },
    async execute(sql, values) {
      const result = await connection.query(sql, values as unknown[]);
      return { affectedRows: Number(result.affectedRows), insertId: BigInt(result.insertId ?? 0) };
    },
  };
}

/** A SqlExecutor, or a `mariadb` connection that is wrapped on the fly. */
export type TransactionHandle = SqlExecutor | MariadbConnection;

export function toSqlExecutor(handle: TransactionHandle, option = 'tx'): SqlExecutor {
  if ((handle as SqlExecutor)?.kind === 'tributary.sql-executor') return handle as SqlExecutor;
  if (isMariadbConnection(handle)) return mariadbExecutor(handle);
  throw new InvalidOptionError(option, handle, 'a mariadb connection in a transaction, or a SqlExecutor from an adapter');
}

function isMariadbConnection(handle: unknown): handle is MariadbConnection {
  const candidate = handle as Partial<Connection> | null;
  return typeof candidate?.query === 'function' && typeof candidate.batch === 'function' && typeof candidate.queryStream === 'function';
}
