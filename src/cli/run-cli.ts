import { parseArgs } from 'node:util';

import mariadb from 'mariadb';

import {
  countUnpublished,
  listParkedKeys,
  mariadbExecutor,
  migrateOutbox,
  outboxTables,
  releaseParkedKey,
} from '../outbox/index.ts';
import type { SqlExecutor } from '../outbox/index.ts';

const usage = `Usage: tributary <command> [options]

Commands:
  migrate                               Create or upgrade the outbox tables.
  backlog                               Print the number of events not yet published to Kafka.
  parked list                           List keys the relay parked, with the error and attempts.
  parked release --topic T --key K      Release a parked key; its events resume in order.

Options:
  --mariadb-url URL     mariadb://user:password@host:port/database (default: $TRIBUTARY_MARIADB_URL)
  --table-prefix NAME   prefix of the outbox table names (default: tributary)
  --topic TOPIC         topic of the parked key (parked release)
  --key KEY             the parked key (parked release)
  --help                show this text`;

type Output = (line: string) => void;

/** Runs one `tributary` command and returns the process exit code. */
export async function runCli(argv: string[], print: Output = console.log, printError: Output = console.error): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'mariadb-url': { type: 'string' },
        'table-prefix': { type: 'string' },
        topic: { type: 'string' },
        key: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    printError(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals.join(' ');
  if (values.help || command === '') {
    print(usage);
    return values.help ? 0 : 2;
  }
  const commands: Record<string, (executor: SqlExecutor) => Promise<number>> = {
    migrate: async (executor) => {
      const applied = await migrateOutbox(executor, values['table-prefix']);
      print(applied.length === 0 ? 'The outbox tables are up to date.' : `Applied migrations: ${applied.join(', ')}.`);
      return 0;
    },
    backlog: async (executor) => {
      print(String(await countUnpublished(executor, outboxTables(values['table-prefix']))));
      return 0;
    },
    'parked list': async (executor) => {
      const parked = await listParkedKeys(executor, outboxTables(values['table-prefix']));
      if (parked.length === 0) print('No parked keys.');
      for (const key of parked) {
        print(`${key.topic}\t${key.key}\tattempts=${key.attempts}\tsince=${key.parkedAt.toISOString()}\t${key.error}`);
      }
      return 0;
    },
    'parked release': async (executor) => {
      const released = await releaseParkedKey(executor, outboxTables(values['table-prefix']), values.topic!, values.key!);
      if (!released) {
        printError(`Key ${JSON.stringify(values.key)} of topic ${values.topic} is not parked; see \`tributary parked list\`.`);
        return 1;
      }
      print(`Released key ${JSON.stringify(values.key)} of topic ${values.topic}; its events resume in order.`);
      return 0;
    },
  };
  const run = commands[command];
  if (!run) {
    const hint = command === 'parked' ? ' Use `parked list` or `parked release`.' : '';
    printError(`Unknown command ${JSON.stringify(command)}.${hint}\n\n${usage}`);
    return 2;
  }
  if (command === 'parked release' && (!values.topic || !values.key)) {
    printError('parked release needs --topic and --key: the topic and key shown by `tributary parked list`.');
    return 2;
  }
  const url = values['mariadb-url'] ?? process.env.TRIBUTARY_MARIADB_URL;
  if (!url) {
    printError('Missing --mariadb-url (or TRIBUTARY_MARIADB_URL): the URL of the database that contains the outbox.');
    return 2;
  }

  let connection;
  try {
    connection = await mariadb.createConnection(url);
  } catch (error) {
    printError(`Cannot connect to MariaDB with the URL given: ${(error as Error).message}. Check --mariadb-url.`);
    return 1;
  }
  try {
    return await run(mariadbExecutor(connection));
  } catch (error) {
    if ((error as { code?: string }).code === 'ER_NO_SUCH_TABLE') {
      printError(`${(error as Error).message.split('\n')[0]}. Run \`tributary migrate\` first, or check --table-prefix.`);
      return 1;
    }
    throw error;
  } finally {
    await connection.end();
  }
}
