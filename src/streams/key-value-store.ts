import { LRUCache } from 'lru-cache';

import { TributaryError } from '../errors.ts';
import type { StateBackend, StatePosition, StoredState } from './state-backend.ts';

/** A state store was used against its contract, such as reading a key that was not loaded. */
export class StateStoreError extends TributaryError {
  constructor(store: string, problem: string) {
    super('STATE_INVALID', `State store ${store}: ${problem}`);
  }
}

export interface KeyValueStoreOptions {
  /** Clean entries kept in memory. @defaultValue 10000 */
  readonly cacheSize?: number;
  /** Changed entries that make `needsSpill` true, so the runner writes them out early. @defaultValue 5000 */
  readonly maxDirtyEntries?: number;
}

const absent = Symbol('absent');
type CachedState<V> = StoredState<V> | typeof absent;

/**
 * A keyed state store: hot keys in an LRU cache in front of a durable backend. Changed keys wait in
 * a separate dirty map that the LRU cannot evict; they move to the cache once `flush` has written
 * them. Keys missing from memory are read from the backend in one batched `load` call.
 */
export class KeyValueStore<V> {
  readonly name: string;
  readonly #backend: StateBackend<V>;
  readonly #cache: LRUCache<string, CachedState<V>>;
  readonly #dirty = new Map<string, StoredState<V>>();
  readonly #maxDirty: number;
  hits = 0;
  misses = 0;

  constructor(name: string, backend: StateBackend<V>, options: KeyValueStoreOptions = {}) {
    this.name = name;
    this.#backend = backend;
    this.#cache = new LRUCache({ max: options.cacheSize ?? 10_000 });
    this.#maxDirty = options.maxDirtyEntries ?? 5_000;
  }

  open(): Promise<void> {
    return this.#backend.open();
  }

  /** Makes the given keys readable with `get`, reading the ones not in memory in one batch. */
  async load(keys: Iterable<string>): Promise<void> {
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      if (this.#dirty.has(key) || this.#cache.has(key)) this.hits += 1;
      else missing.push(key);
    }
    this.misses += missing.length;
    if (missing.length === 0) return;

    const found = await this.#backend.load(missing);
    for (const key of missing) this.#cache.set(key, found.get(key) ?? absent);
  }

  /** Returns the key's state, or undefined when it has none. The key must have been loaded. */
  get(key: string): StoredState<V> | undefined {
    const dirty = this.#dirty.get(key);
    if (dirty) return dirty;
    const cached = this.#cache.get(key);
    if (cached === undefined) {
      throw new StateStoreError(this.name, `key ${JSON.stringify(key)} was read before it was loaded; call load() first.`);
    }
    return cached === absent ? undefined : cached;
  }

  /** Records a new value (null deletes) at the position of the event that produced it. */
  put(key: string, value: V | null, position: StatePosition): void {
    const state: StoredState<V> = { value, partition: position.partition, offset: position.offset };
    this.#dirty.set(key, position.sequence === undefined ? state : { ...state, sequence: position.sequence });
    this.#cache.delete(key);
  }

  /** True when so many changes wait that they should be written out before the batch goes on. */
  get needsSpill(): boolean {
    return this.#dirty.size >= this.#maxDirty;
  }

  get dirtyCount(): number {
    return this.#dirty.size;
  }

  /** Writes every changed key to the backend, then keeps them as clean cache entries. */
  async flush(): Promise<number> {
    if (this.#dirty.size === 0) return 0;
    const written = new Map(this.#dirty);
    await this.#backend.save(written);
    for (const [key, state] of written) {
      if (this.#dirty.get(key) === state) this.#dirty.delete(key);
      this.#cache.set(key, state);
    }
    return written.size;
  }

  /**
   * Drops unwritten changes and every cached entry, so that the next load reads the backend. Used
   * after a failed batch and after a rebalance, when another process may have changed these keys.
   */
  reset(): void {
    this.#dirty.clear();
    this.#cache.clear();
  }
}
