import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { KeyValueStore, MemoryStateBackend, StateStoreError } from '../../src/index.ts';

describe('KeyValueStore', () => {
  it('reads all missing keys in one backend load', async () => {
    const backend = new MemoryStateBackend<number>();
    backend.versions.set('a', { value: 1, partition: 0, offset: 5 });
    const store = new KeyValueStore('counts', backend);

    await store.load(['a', 'b', 'a']);
    assert.equal(backend.loads, 1);
    assert.deepEqual(store.get('a'), { value: 1, partition: 0, offset: 5 });
    assert.equal(store.get('b'), undefined);

    await store.load(['a', 'b']);
    assert.equal(backend.loads, 1, 'known keys, present or absent, are served from memory');
  });

  it('rejects reading a key that was not loaded', () => {
    const store = new KeyValueStore('counts', new MemoryStateBackend<number>());
    assert.throws(() => store.get('never-loaded'), StateStoreError);
  });

  it('writes changes to the backend only on flush', async () => {
    const backend = new MemoryStateBackend<number>();
    const store = new KeyValueStore('counts', backend);
    await store.load(['a']);
    store.put('a', 7, { partition: 1, offset: 9 });

    assert.equal(backend.versions.size, 0);
    assert.equal(await store.flush(), 1);
    assert.deepEqual(backend.versions.get('a'), { value: 7, partition: 1, offset: 9 });
    assert.equal(await store.flush(), 0);
  });

  it('never evicts a changed key before it is flushed', async () => {
    const backend = new MemoryStateBackend<number>();
    const store = new KeyValueStore('counts', backend, { cacheSize: 2 });
    const keys = Array.from({ length: 50 }, (_, index) => `k${index}`);
    await store.load(keys);
    keys.forEach((key, index) => store.put(key, index, { partition: 0, offset: index }));

    for (const [index, key] of keys.entries()) assert.equal(store.get(key)?.value, index);
    await store.flush();
    assert.equal(backend.versions.size, 50);
  });

  it('asks for a spill when too many changes wait', async () => {
    const store = new KeyValueStore('counts', new MemoryStateBackend<number>(), { maxDirtyEntries: 3 });
    await store.load(['a', 'b', 'c']);
    store.put('a', 1, { partition: 0, offset: 1 });
    store.put('b', 1, { partition: 0, offset: 2 });
    assert.equal(store.needsSpill, false);
    store.put('c', 1, { partition: 0, offset: 3 });
    assert.equal(store.needsSpill, true);
    await store.flush();
    assert.equal(store.needsSpill, false);
  });

  it('forgets unwritten changes on reset', async () => {
    const backend = new MemoryStateBackend<number>();
    backend.versions.set('a', { value: 1, partition: 0, offset: 1 });
    const store = new KeyValueStore('counts', backend);
    await store.load(['a']);
    store.put('a', 2, { partition: 0, offset: 2 });

    store.reset();
    await store.load(['a']);
    assert.deepEqual(store.get('a'), { value: 1, partition: 0, offset: 1 });
  });
});
