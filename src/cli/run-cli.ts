/**
 * The `tributary` command. Commands:
 *   tributary migrate --mariadb-url URL [--table-prefix P]   create or upgrade the outbox tables
 *   tributary backlog --mariadb-url URL [--table-prefix P]   print the number of unpublished events
 * The MariaDB URL may also come from TRIBUTARY_MARIADB_URL.
 */
import { parseArgs } from 'node:util';

import mariadb from 'mariadb';

import { countUnpublished, mariadbExecutor, migrateOutbox, outboxTables } from '../outbox/index.ts';

const usage = `Usage: tributary <command> [options]

Commands:
  migrate   Create or upgrade the outbox tables.
  backlog   Print the number of events not yet published to Kafka.

Options:
  --mariadb-url URL     mariadb://user:password@host:port/database (default: $TRIBUTARY_MARIADB_URL)
  --table-prefix NAME   prefix of the outbox table names (default: tributary)
  --help                show this text`;

export async function runCli(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'mariadb-url': { type: 'string' },
      'table-prefix': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    console.log(usage);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command !== 'migrate' && command !== 'backlog') {
    console.error(`Unknown command ${JSON.stringify(command)}.\n\n${usage}`);
    return 2;
  }
  const url = values['mariadb-url'] ?? process.env.TRIBUTARY_MARIADB_URL;
  if (!url) {
    console.error('Missing --mariadb-url (or TRIBUTARY_MARIADB_URL): the URL of the database that contains the outbox.');
    return 2;
  }

  const connection = await mariadb.createConnection(url);
  try {
    const executor = mariadbExecutor(connection);
    if (command === 'migrate') {
      const applied = await migrateOutbox(executor, values['table-prefix']);
      console.log(applied.length === 0 ? 'The outbox tables are up to date.' : `Applied migrations: ${applied.join(', ')}.`);
    } else {
      console.log(String(await countUnpublished(executor, outboxTables(values['table-prefix']))));
    }
    return 0;
  } finally {
    await connection.end();
  }
}
