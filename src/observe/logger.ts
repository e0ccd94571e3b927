/**
 * The logging interface Tributary writes to. It is the subset of pino's API that Tributary uses,
 * so a pino logger can be passed as it is. Every record carries structured fields such as
 * `event_id`, `topic`, `partition`, `offset` and `app`.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface JsonLoggerOptions {
  /** @defaultValue 'info' */
  readonly level?: LogLevel;
  /** Stream the JSON lines are written to. @defaultValue process.stderr */
  readonly destination?: { write(line: string): unknown };
}

/**
 * Creates a logger that writes one JSON object per line, with pino's field names (`level`, `time`,
 * `msg`), for applications that do not pass a logger of their own.
 */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const threshold = logLevels.indexOf(options.level ?? 'info');
  const destination = options.destination ?? process.stderr;
  return buildLogger({}, threshold, destination);
}

/** A logger that drops every record. */
export const silentLogger: Logger = createJsonLogger({ level: 'silent' });

const pinoLevelNumbers = { debug: 20, info: 30, warn: 40, error: 50 } as const;

function buildLogger(
  bindings: Record<string, unknown>,
  threshold: number,
  destination: { write(line: string): unknown },
): Logger {
  const write = (level: keyof typeof pinoLevelNumbers) => (fields: Record<string, unknown>, message: string) => {
    if (logLevels.indexOf(level) < threshold) return;
    const record = { level: pinoLevelNumbers[level], time: Date.now(), ...bindings, ...serializeFields(fields), msg: message };
    destination.write(`${JSON.stringify(record)}\n`);
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => buildLogger({ ...bindings, ...more }, threshold, destination),
  };
}

/** Turns Error values into plain objects, since JSON.stringify drops their message and stack. */
function serializeFields(fields: Record<string, unknown>): Record<string, unknown> {
  const serialized: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value instanceof Error) {
      serialized[name] = { type: value.name, message: value.message, code: (value as { code?: unknown }).code, stack: value.stack };
    } else if (typeof value === 'bigint') {
      serialized[name] = value.toString();
    } else {
      serialized[name] = value;
    }
  }
  return serialized;
}
