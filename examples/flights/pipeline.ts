import { Topology, bigQueryTable } from '../../src/index.ts';
import { airportDelayStats, delayedThresholdMinutes, flightRecorded } from './events.ts';

/** Builds the demo topology: every flight to the `flight_events` table, and delay statistics per origin airport. */
export function flightsTopology(): Topology {
  const topology = new Topology();
  const flights = topology.stream(flightRecorded);

  flights.to(bigQueryTable('flight_events'));

  flights.groupByKey().aggregate(
    airportDelayStats,
    () => ({ flights: 0, delayed_flights: 0, total_delay_minutes: 0, max_delay_minutes: null }),
    (_airport, flight, stats) => ({
      flights: stats.flights + 1,
      delayed_flights: stats.delayed_flights + (flight.delay_minutes > delayedThresholdMinutes ? 1 : 0),
      total_delay_minutes: stats.total_delay_minutes + flight.delay_minutes,
      max_delay_minutes: Math.max(stats.max_delay_minutes ?? flight.delay_minutes, flight.delay_minutes),
    }),
  );
  return topology;
}
