import type { Pool } from 'mariadb';

import { Outbox } from '../../src/index.ts';
import type { EventRegistry } from '../../src/index.ts';
import type { scoreEvents } from './scores.ts';

export interface Score {
  game_id: string;
  player: string;
  points: number;
}

/** Builds `count` scores spread over `players` players, with points that differ per game. */
export function makeScores(count: number, players: number, prefix = 'g'): Score[] {
  return Array.from({ length: count }, (_, index) => ({
    game_id: `${prefix}-${index}`,
    player: `player-${index % players}`,
    points: (index * 7) % 100,
  }));
}

/** Expected per-player totals of the scores. */
export function totalsOf(scores: readonly Score[]): Map<string, { games: number; points: number }> {
  const totals = new Map<string, { games: number; points: number }>();
  for (const score of scores) {
    const current = totals.get(score.player) ?? { games: 0, points: 0 };
    totals.set(score.player, { games: current.games + 1, points: current.points + score.points });
  }
  return totals;
}

/** Publishes the scores through the outbox, `perTransaction` to a committed transaction. */
export async function publishScores(
  pool: Pool,
  registry: EventRegistry,
  events: ReturnType<typeof scoreEvents>,
  scores: readonly Score[],
  perTransaction = 50,
): Promise<void> {
  const outbox = new Outbox({ registry });
  const connection = await pool.getConnection();
  try {
    for (let start = 0; start < scores.length; start += perTransaction) {
      await connection.beginTransaction();
      for (const score of scores.slice(start, start + perTransaction)) {
        await outbox.publish(connection, events.scoreRecorded, score);
      }
      await connection.commit();
    }
  } finally {
    await connection.release();
  }
}
