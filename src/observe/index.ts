export { createJsonLogger, logLevels, silentLogger } from './logger.ts';
export type { JsonLoggerOptions, LogLevel, Logger } from './logger.ts';
export { TributaryMetrics } from './metrics.ts';
