/** Kafka position of the last event applied to a key's state. */
export interface StatePosition {
  readonly partition: number;
  readonly offset: number;
  /**
   * The outbox `key_seq` of that event, when it came through the outbox. A relay may send an event
   * twice, at two offsets; the sequence number identifies the second copy.
   */
  readonly sequence?: number | undefined;
}

/** The durable state of one key. A null value marks a deleted key, whose position still counts. */
export interface StoredState<V> extends StatePosition {
  readonly value: V | null;
}

/**
 * Durable storage behind a state store. Each save appends versions; a load returns the newest
 * version of each key that has one.
 */
export interface StateBackend<V> {
  /** Prepares storage (tables, views). Called once before the first load. */
  open(): Promise<void>;
  load(keys: readonly string[]): Promise<Map<string, StoredState<V>>>;
  save(entries: ReadonlyMap<string, StoredState<V>>): Promise<void>;
}

/** Keeps versions in memory: for unit tests and the topology test driver. */
export class MemoryStateBackend<V> implements StateBackend<V> {
  readonly versions = new Map<string, StoredState<V>>();
  loads = 0;

  async open(): Promise<void> {}

  async load(keys: readonly string[]): Promise<Map<string, StoredState<V>>> {
    this.loads += 1;
    const found = new Map<string, StoredState<V>>();
    for (const key of keys) {
      const state = this.versions.get(key);
      if (state) found.set(key, structuredClone(state));
    }
    return found;
  }

  async save(entries: ReadonlyMap<string, StoredState<V>>): Promise<void> {
    for (const [key, state] of entries) this.versions.set(key, structuredClone(state));
  }
}
