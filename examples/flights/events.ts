import { defineEvent, defineStore } from '../../src/index.ts';

/** One flight as the app records it. `departure` is in milliseconds since the epoch (UTC). */
export const flightRecorded = defineEvent({
  name: 'FlightRecorded',
  topic: 'demo.flights.recorded',
  schema: {
    type: 'record',
    name: 'FlightRecorded',
    namespace: 'tributary.demo',
    fields: [
      { name: 'flight_id', type: 'long' },
      { name: 'departure', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'delay_minutes', type: 'int' },
      { name: 'distance_miles', type: 'int' },
      { name: 'origin', type: 'string' },
      { name: 'destination', type: 'string' },
    ],
  },
  // Keyed by origin airport: the per-airport statistics are state of that key.
  key: (flight) => flight.origin,
});

/** Delay statistics of one origin airport. */
export const airportDelayStats = defineStore({
  name: 'airport_delay_stats',
  value: {
    type: 'record',
    name: 'AirportDelayStats',
    fields: [
      { name: 'flights', type: 'long' },
      { name: 'delayed_flights', type: 'long' },
      { name: 'total_delay_minutes', type: 'long' },
      { name: 'max_delay_minutes', type: ['null', 'int'] },
    ],
  },
});

/** A flight counts as delayed when it left more than this many minutes late. */
export const delayedThresholdMinutes = 15;
