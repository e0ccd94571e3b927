import { InvalidOptionError } from '../errors.ts';
import type { SqlExecutor } from './sql-executor.ts';

const tablePrefixPattern = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;

/** Names of the outbox tables; a prefix lets several outboxes share a database. */
export interface OutboxTables {
  readonly outbox: string;
  readonly keys: string;
  readonly leases: string;
  readonly relays: string;
  readonly parked: string;
  readonly migrations: string;
}

export function outboxTables(prefix = 'tributary'): OutboxTables {
  if (!tablePrefixPattern.test(prefix)) {
    throw new InvalidOptionError('tablePrefix', prefix, 'letters, digits and underscores, starting with a letter or underscore, at most 41 characters');
  }
  return {
    outbox: `${prefix}_outbox`,
    keys: `${prefix}_outbox_key`,
    leases: `${prefix}_outbox_lease`,
    relays: `${prefix}_outbox_relay`,
    parked: `${prefix}_outbox_parked`,
    migrations: `${prefix}_migrations`,
  };
}

interface Migration {
  readonly version: number;
  readonly description: string;
  readonly statements: (tables: OutboxTables) => string[];
}

/**
 * Migrations in order. A released migration is never edited: a change is a new version.
 */
const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'outbox rows and per-key sequence counters',
    statements: (tables) => [
      `CREATE TABLE IF NOT EXISTS ${tables.outbox} (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        event_id CHAR(36) CHARACTER SET ascii NOT NULL,
        event_name VARCHAR(255) NOT NULL,
        topic VARCHAR(249) CHARACTER SET ascii NOT NULL,
        event_key VARCHAR(512) NOT NULL,
        bucket SMALLINT UNSIGNED NOT NULL,
        key_seq BIGINT UNSIGNED NOT NULL,
        schema_id INT NOT NULL,
        payload MEDIUMBLOB NOT NULL,
        headers TEXT NULL,
        created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        published_at TIMESTAMP(6) NULL DEFAULT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY outbox_event_id (event_id),
        KEY outbox_unpublished (published_at, bucket, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      `CREATE TABLE IF NOT EXISTS ${tables.keys} (
        topic VARCHAR(249) CHARACTER SET ascii NOT NULL,
        event_key VARCHAR(512) NOT NULL,
        last_seq BIGINT UNSIGNED NOT NULL,
        PRIMARY KEY (topic, event_key)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  {
    version: 2,
    description: 'bucket leases, relay membership, parked keys',
    statements: (tables) => [
      `ALTER TABLE ${tables.outbox} ADD COLUMN IF NOT EXISTS published_by VARCHAR(128) NULL`,
      `CREATE TABLE IF NOT EXISTS ${tables.leases} (
        bucket SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
        owner VARCHAR(128) NULL,
        fencing_token BIGINT UNSIGNED NOT NULL DEFAULT 0,
        expires_at TIMESTAMP(6) NULL DEFAULT NULL
      ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS ${tables.relays} (
        relay_id VARCHAR(128) NOT NULL PRIMARY KEY,
        heartbeat_at TIMESTAMP(6) NOT NULL
      ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS ${tables.parked} (
        topic VARCHAR(249) CHARACTER SET ascii NOT NULL,
        event_key VARCHAR(512) NOT NULL,
        first_outbox_id BIGINT UNSIGNED NOT NULL,
        attempts INT UNSIGNED NOT NULL,
        error TEXT NOT NULL,
        parked_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        PRIMARY KEY (topic, event_key)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
];

/** Creates or upgrades the outbox tables. Safe to run from several processes at once. */
export async function migrateOutbox(executor: SqlExecutor, prefix?: string): Promise<number[]> {
  const tables = outboxTables(prefix);
  await executor.execute(
    `CREATE TABLE IF NOT EXISTS ${tables.migrations} (
      version INT NOT NULL PRIMARY KEY,
      description VARCHAR(255) NOT NULL,
      applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
    ) ENGINE=InnoDB`,
  );
  const appliedRows = await executor.query(`SELECT version FROM ${tables.migrations}`);
  const applied = new Set(appliedRows.map((row) => Number(row.version)));

  const newlyApplied: number[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements(tables)) await executor.execute(statement);
    // INSERT IGNORE: another process may have applied the same idempotent migration meanwhile.
    await executor.execute(`INSERT IGNORE INTO ${tables.migrations} (version, description) VALUES (?, ?)`, [
      migration.version,
      migration.description,
    ]);
    newlyApplied.push(migration.version);
  }
  return newlyApplied;
}
