import type { Knex } from 'knex';
import type { Connection as Mysql2Connection, ResultSetHeader } from 'mysql2/promise';

import type { SqlExecutor, SqlRow } from './sql-executor.ts';

/** Wraps a promise connection of `mysql2` (from `mysql2/promise`, or a pool connection of it). */
export function mysql2Executor(connection: Pick<Mysql2Connection, 'query'>): SqlExecutor {
  return {
    kind: 'tributary.sql-executor',
    async query(sql, values) {
      const [rows] = await connection.query(sql, values as unknown[]);
      return rows as SqlRow[];
    },
    async execute(sql, values) {
      const [result] = await connection.query<ResultSetHeader>(sql, values as unknown[]);
      return { affectedRows: result.affectedRows, insertId: BigInt(result.insertId ?? 0) };
    },
  };
}

/**
 * Wraps a knex transaction (or knex instance) whose client is `mysql2` or `mysql`. Statements go
 * through `raw`, so knex's `?` bindings apply.
 */
export function knexExecutor(knex: Pick<Knex, 'raw'>): SqlExecutor {
  return {
    kind: 'tributary.sql-executor',
    async query(sql, values) {
      const [rows] = (await knex.raw(sql, (values ?? []) as Knex.RawBinding[])) as [SqlRow[], unknown];
      return rows;
    },
    async execute(sql, values) {
      const [result] = (await knex.raw(sql, (values ?? []) as Knex.RawBinding[])) as [ResultSetHeader, unknown];
      return { affectedRows: result.affectedRows, insertId: BigInt(result.insertId ?? 0) };
    },
  };
}
