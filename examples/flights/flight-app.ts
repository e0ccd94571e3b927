import type { Pool } from 'mariadb';

import type { Outbox } from '../../src/index.ts';
import { flightRecorded } from './events.ts';
import type { Flight } from './flight-data.ts';

/** Creates the app's own business table. */
export async function createFlightsTable(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS flights (
    flight_id BIGINT PRIMARY KEY,
    departure DATETIME NOT NULL,
    delay_minutes INT NOT NULL,
    distance_miles INT NOT NULL,
    origin CHAR(3) NOT NULL,
    destination CHAR(3) NOT NULL
  ) ENGINE=InnoDB`);
}

/**
 * Records flights as a request handler of the product would: in one transaction, inserts them into
 * the business table and publishes one FlightRecorded event each through the outbox.
 */
export async function recordFlights(pool: Pool, outbox: Outbox, flights: readonly Flight[]): Promise<void> {
  await outbox.transaction(pool, async (tx) => {
    await tx.batch(
      'INSERT INTO flights (flight_id, departure, delay_minutes, distance_miles, origin, destination) VALUES (?, ?, ?, ?, ?, ?)',
      flights.map((flight) => [
        flight.flight_id,
        new Date(flight.departure),
        flight.delay_minutes,
        flight.distance_miles,
        flight.origin,
        flight.destination,
      ]),
    );
    await outbox.publishMany(tx, flightRecorded, flights);
  });
}
