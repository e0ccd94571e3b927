import { crc32 } from 'node:zlib';

/**
 * Maps a topic and key to one of `bucketCount` buckets. Relays divide work by bucket, so every
 * row of a key is always in the same bucket. CRC-32 is stable across processes and versions.
 */
export function bucketOf(topic: string, key: string, bucketCount: number): number {
  return crc32(`${topic}\u0000${key}`) % bucketCount;
}
