/**
 * In-process wake-ups: `Outbox.transaction` fires one after each commit that published events, and
 * relays in the same process start their next poll at once instead of after the poll interval.
 */
const listeners = new Set<() => void>();

export function onOutboxCommit(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function signalOutboxCommit(): void {
  for (const listener of listeners) listener();
}
