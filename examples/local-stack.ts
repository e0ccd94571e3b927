import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Endpoints of the local stack that `npm run stack:up` starts. */
export interface LocalStack {
  readonly mariadbUrl: string;
  readonly kafkaBrokers: string[];
  readonly schemaRegistryUrl: string;
  readonly bigQueryEndpoint: string;
  readonly bigQueryProject: string;
}

const endpointsFile = fileURLToPath(new URL('../.stack/endpoints.env', import.meta.url));

/**
 * Reads the endpoints from TRIBUTARY_* environment variables, falling back to the file that
 * `scripts/stack/up.sh` writes.
 */
export function localStack(): LocalStack {
  const fromFile = readEndpointsFile();
  const value = (name: string): string => {
    const found = process.env[name] ?? fromFile[name];
    if (!found) {
      throw new Error(`${name} is not set and ${endpointsFile} does not define it. Start the local stack with: npm run stack:up`);
    }
    return found;
  };
  return {
    mariadbUrl: value('TRIBUTARY_MARIADB_URL'),
    kafkaBrokers: value('TRIBUTARY_KAFKA_BROKERS').split(','),
    schemaRegistryUrl: value('TRIBUTARY_SCHEMA_REGISTRY_URL'),
    bigQueryEndpoint: value('TRIBUTARY_BIGQUERY_ENDPOINT'),
    bigQueryProject: value('TRIBUTARY_BIGQUERY_PROJECT'),
  };
}

function readEndpointsFile(): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(endpointsFile, 'utf8');
  } catch {
    return {};
  }
  const entries: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) entries[match[1]!] = match[2]!;
  }
  return entries;
}
