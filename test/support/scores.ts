import { Topology, bigQueryTable, defineEvent, defineStore } from '../../src/index.ts';

/** Defines the event, store and topology that the pipeline tests share with the runner child process. */
export function scoreEvents(topic: string) {
  const scoreRecorded = defineEvent({
    name: 'ScoreRecorded',
    topic,
    schema: {
      type: 'record',
      name: 'ScoreRecorded',
      fields: [
        { name: 'game_id', type: 'string' },
        { name: 'player', type: 'string' },
        { name: 'points', type: 'long' },
      ],
    },
    key: (score) => score.player,
  });

  const playerTotals = defineStore({
    name: 'player_totals',
    value: {
      type: 'record',
      name: 'PlayerTotals',
      fields: [
        { name: 'games', type: 'long' },
        { name: 'points', type: 'long' },
      ],
    },
  });

  function topology(): Topology {
    const built = new Topology();
    const scores = built.stream(scoreRecorded);
    scores.to(bigQueryTable('scores'));
    scores.groupByKey().aggregate(
      playerTotals,
      () => ({ games: 0, points: 0 }),
      (_player, score, totals) => ({ games: totals.games + 1, points: totals.points + score.points }),
    );
    return built;
  }

  return { scoreRecorded, playerTotals, topology };
}
