/**
 * The demo pipeline on real data: 20,000 US flights of 2001 go from MariaDB through the outbox,
 * Kafka and the runner into BigQuery, and the per-airport statistics in BigQuery are checked
 * against the same numbers computed straight from the file. Exits with 1 on any mismatch.
 *
 * Run with `npm run demo`, which starts the local stack first.
 */
import { Kafka, logLevel } from 'kafkajs';
import mariadb from 'mariadb';
import type { Pool } from 'mariadb';

import {
  EventRegistry,
  Outbox,
  Relay,
  Runner,
  consumerLag,
  createEmulatorClient,
  createJsonLogger,
  migrateOutbox,
  mariadbExecutor,
} from '../../src/index.ts';
import { localStack } from '../local-stack.ts';
import { airportDelayStats, delayedThresholdMinutes, flightRecorded } from './events.ts';
import { createFlightsTable, recordFlights } from './flight-app.ts';
import { expectedAirportStats, loadFlights } from './flight-data.ts';
import type { AirportStats } from './flight-data.ts';
import { flightsTopology } from './pipeline.ts';
import { recreateTopic, waitFor } from './demo-support.ts';

const flightsPerTransaction = 100;
const dataset = 'flights_demo';
const database = 'tributary_demo';

async function main(): Promise<number> {
  const stack = localStack();
  const logger = createJsonLogger({ level: (process.env.TRIBUTARY_LOG_LEVEL as 'info') ?? 'warn' });
  const kafka = new Kafka({ clientId: 'flights-demo', brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });
  const bigquery = createEmulatorClient({ apiEndpoint: stack.bigQueryEndpoint, projectId: stack.bigQueryProject });

  console.log('Preparing: a fresh database, topic and dataset');
  const pool = await freshDatabase(stack.mariadbUrl);
  // The outbox creates new keys' counter rows on a small pool of its own.
  const keyPool = mariadb.createPool(`${demoDatabaseUrl(stack.mariadbUrl)}?connectionLimit=2`);
  await bigquery.dataset(dataset).delete({ force: true }).catch(() => undefined);
  await recreateTopic(kafka, flightRecorded.topic, 3);
  const registry = new EventRegistry({ url: stack.schemaRegistryUrl });
  await registry.register(flightRecorded);

  const relay = new Relay({ pool, kafka, logger });
  const runner = new Runner({
    applicationId: `flights-demo-${Date.now()}`,
    topology: flightsTopology(),
    kafka,
    registry,
    bigquery: { client: bigquery, dataset },
    logger,
  });
  await relay.start();
  await runner.start();

  try {
    const flights = await loadFlights();
    console.log(`Writing ${flights.length} flights to MariaDB, ${flightsPerTransaction} per transaction, each with its event`);
    const startedAt = performance.now();
    const outbox = new Outbox({ registry, pool: keyPool });
    for (let start = 0; start < flights.length; start += flightsPerTransaction) {
      await recordFlights(pool, outbox, flights.slice(start, start + flightsPerTransaction));
    }
    const writtenAt = performance.now();

    console.log('Waiting for the relay and the runner to catch up');
    await waitFor('the outbox to drain', 600_000, async () => (await relay.backlog()) === 0);
    await waitFor('the runner to catch up', 600_000, async () => {
      const lags = await consumerLag(kafka, runner.applicationId, [flightRecorded.topic]);
      return lags.every((partition) => partition.lag === 0);
    });
    const doneAt = performance.now();

    const expected = expectedAirportStats(flights, delayedThresholdMinutes);
    const [eventRows] = await bigquery.query(`SELECT COUNT(*) AS events FROM \`${stack.bigQueryProject}.${dataset}.flight_events_deduped\``);
    const [statRows] = await bigquery.query(`SELECT * FROM \`${stack.bigQueryProject}.${dataset}.${airportDelayStats.name}\``);
    const mismatches = compareStats(expected, statRows);
    const eventsInBigQuery = Number(eventRows[0].events);

    printReport({
      flights: flights.length,
      eventsInBigQuery,
      airports: readStats(statRows),
      mismatches,
      writeSeconds: (writtenAt - startedAt) / 1000,
      totalSeconds: (doneAt - startedAt) / 1000,
    });
    return mismatches.length === 0 && eventsInBigQuery === flights.length ? 0 : 1;
  } finally {
    await runner.stop();
    await relay.stop();
    await pool.end();
    await keyPool.end();
  }
}

async function freshDatabase(serverUrl: string): Promise<Pool> {
  const admin = await mariadb.createConnection(serverUrl);
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();

  const pool = mariadb.createPool(`${demoDatabaseUrl(serverUrl)}?connectionLimit=5`);
  const connection = await pool.getConnection();
  try {
    await migrateOutbox(mariadbExecutor(connection));
  } finally {
    await connection.release();
  }
  await createFlightsTable(pool);
  return pool;
}

/** Returns the URL of the demo database on the server at `serverUrl`. */
function demoDatabaseUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function readStats(rows: Record<string, unknown>[]): Map<string, AirportStats> {
  return new Map(
    rows.map((row) => [
      String(row._key),
      {
        flights: Number(row.flights),
        delayed_flights: Number(row.delayed_flights),
        total_delay_minutes: Number(row.total_delay_minutes),
        max_delay_minutes: Number(row.max_delay_minutes),
      },
    ]),
  );
}

interface Mismatch {
  airport: string;
  expected: AirportStats | undefined;
  actual: Record<string, unknown> | undefined;
}

function compareStats(expected: Map<string, AirportStats>, rows: Record<string, unknown>[]): Mismatch[] {
  const actual = new Map(rows.map((row) => [String(row._key), row]));
  const mismatches: Mismatch[] = [];
  for (const airport of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(airport);
    const got = actual.get(airport);
    const same =
      want !== undefined &&
      got !== undefined &&
      Number(got.flights) === want.flights &&
      Number(got.delayed_flights) === want.delayed_flights &&
      Number(got.total_delay_minutes) === want.total_delay_minutes &&
      Number(got.max_delay_minutes) === want.max_delay_minutes;
    if (!same) mismatches.push({ airport, expected: want, actual: got });
  }
  return mismatches;
}

function printReport(report: {
  flights: number;
  eventsInBigQuery: number;
  airports: Map<string, AirportStats>;
  mismatches: Mismatch[];
  writeSeconds: number;
  totalSeconds: number;
}): void {
  const top = [...report.airports].sort((a, b) => b[1].flights - a[1].flights).slice(0, 10);
  console.log('\nTop airports by departures (numbers read back from BigQuery, checked against the file):');
  console.log('airport  flights  delayed>15m  avg delay  max delay');
  for (const [airport, stats] of top) {
    const average = (stats.total_delay_minutes / stats.flights).toFixed(1);
    console.log(
      `${airport.padEnd(7)}  ${String(stats.flights).padStart(7)}  ${String(stats.delayed_flights).padStart(11)}  ${average.padStart(9)}  ${String(stats.max_delay_minutes).padStart(9)}`,
    );
  }
  console.log(`\nEvents written: ${report.flights}; rows in flight_events_deduped: ${report.eventsInBigQuery}`);
  console.log(`Airports: ${report.airports.size}; mismatched airports: ${report.mismatches.length}`);
  for (const mismatch of report.mismatches.slice(0, 10)) {
    console.log(`  MISMATCH ${mismatch.airport}: expected ${JSON.stringify(mismatch.expected)}, BigQuery has ${JSON.stringify(mismatch.actual)}`);
  }
  console.log(`Writing to MariaDB took ${report.writeSeconds.toFixed(1)} s (${Math.round(report.flights / report.writeSeconds)} events/s)`);
  console.log(
    `From the first write to the last state in BigQuery: ${report.totalSeconds.toFixed(1)} s (${Math.round(report.flights / report.totalSeconds)} events/s end to end)`,
  );
  console.log(report.mismatches.length === 0 && report.eventsInBigQuery === report.flights ? '\nRESULT: every airport matches' : '\nRESULT: MISMATCH');
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(error);
  return 1;
});
