import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import type { EventInput } from '../../src/index.ts';
import type { flightRecorded } from './events.ts';

export type Flight = EventInput<typeof flightRecorded>;

interface VegaFlight {
  date: string;
  delay: number;
  distance: number;
  origin: string;
  destination: string;
}

/** Reads the 20,000 US flights of 2001 shipped in the vega-datasets package. */
export async function loadFlights(): Promise<Flight[]> {
  // The package's exports map hides its data folder, so find the folder from its entry point.
  const require = createRequire(import.meta.url);
  const packageRoot = path.resolve(path.dirname(require.resolve('vega-datasets')), '..');
  const file = path.join(packageRoot, 'data', 'flights-20k.json');
  const records = JSON.parse(await readFile(file, 'utf8')) as VegaFlight[];
  return records.map((record, index) => ({
    flight_id: index + 1,
    departure: parseDeparture(record.date),
    delay_minutes: record.delay,
    distance_miles: record.distance,
    origin: record.origin,
    destination: record.destination,
  }));
}

/** Parses "2001/01/01 00:47" as UTC. */
function parseDeparture(date: string): number {
  const match = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2})$/.exec(date);
  if (!match) throw new Error(`unexpected flight date format: ${JSON.stringify(date)}`);
  const [, year, month, day, hour, minute] = match.map(Number) as number[];
  return Date.UTC(year!, month! - 1, day!, hour!, minute!);
}

export interface AirportStats {
  flights: number;
  delayed_flights: number;
  total_delay_minutes: number;
  max_delay_minutes: number;
}

/** Computes the per-origin statistics straight from the data, to check the pipeline against. */
export function expectedAirportStats(flights: readonly Flight[], delayedThresholdMinutes: number): Map<string, AirportStats> {
  const stats = new Map<string, AirportStats>();
  for (const flight of flights) {
    const current = stats.get(flight.origin) ?? { flights: 0, delayed_flights: 0, total_delay_minutes: 0, max_delay_minutes: -Infinity };
    current.flights += 1;
    if (flight.delay_minutes > delayedThresholdMinutes) current.delayed_flights += 1;
    current.total_delay_minutes += flight.delay_minutes;
    current.max_delay_minutes = Math.max(current.max_delay_minutes, flight.delay_minutes);
    stats.set(flight.origin, current);
  }
  return stats;
}
