/**
 * Runs the scores topology in its own process, so tests can kill it with SIGKILL.
 * Settings come from the environment: TEST_TOPIC, TEST_DATASET and TEST_APPLICATION_ID.
 */
import { Runner, createJsonLogger } from '../../src/index.ts';
import { scoreEvents } from './scores.ts';
import { testBigQuery, testKafka, testRegistry } from './stack.ts';

const topic = requiredEnv('TEST_TOPIC');
const { scoreRecorded, topology } = scoreEvents(topic);
const registry = testRegistry();
await registry.register(scoreRecorded);

const runner = new Runner({
  applicationId: requiredEnv('TEST_APPLICATION_ID'),
  topology: topology(),
  kafka: testKafka('runner-process'),
  registry,
  bigquery: { client: testBigQuery(), dataset: requiredEnv('TEST_DATASET') },
  maxBatchBytes: Number(process.env.TEST_MAX_BATCH_BYTES ?? 1_048_576),
  // The broker's minimum: partitions of a killed runner move on after 6 s, not 30 s.
  sessionTimeoutMs: 6000,
  // Debug records on stdout let the test see each committed batch and kill at a chosen point.
  logger: createJsonLogger({ level: 'debug', destination: process.stdout }),
});
await runner.start();
process.stdout.write('runner started\n');

process.on('SIGTERM', () => {
  void runner.stop().then(() => process.exit(0));
});

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}
