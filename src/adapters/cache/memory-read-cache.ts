// In-process read cache on lru-cache: the fallback when no Redis is configured (and for tests).
//
// Generations (see ports/read-cache.ts): the generation of a tag is the value of a process-wide clock at the
// tag's last invalidation (0 if never). A lookup's stamp is the clock at lookup time, i.e. at load start;
// an entry is valid while every one of its tags was last invalidated at or before the entry's stamp.
// This is the per-tag generation scheme with one shared counter, which lets the generation table be
// bounded: it is an LRU of at most `maxTags` tags, and a tag evicted from it raises `floor`, the
// generation assumed for any tag not in the table. That over-invalidates (entries older than the floor
// miss) but never serves a value written before an invalidation.
//
// Memory: entries are bounded by their size in bytes (`maxBytes`), not only by their number: template
// pages are 14–68 KB each, so 10,000 of them held several hundred MB. An entry is counted as two bytes per
// UTF-16 code unit of its key, JSON and tags (V8 keeps one-byte strings when it can, so this is an upper
// bound of the payload) plus a fixed overhead for the objects around them. An entry larger than the whole
// bound is not stored at all.
import { LRUCache } from 'lru-cache';
import { readCacheFrom, type ReadCacheBackend, type ReadCacheOptions } from './cache-aside.js';
import type { ReadCache } from '../../ports/read-cache.js';

interface Entry {
  readonly json: string;
  readonly tags: readonly string[];
  readonly stamp: number;
}

/** What the cache holds now, for /metrics. */
export interface MemoryReadCacheSize {
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
}

export interface MemoryReadCache extends ReadCache {
  size(): MemoryReadCacheSize;
}

/** Default byte bound: small enough for a 512 MB machine beside the embedded database. */
export const DEFAULT_CACHE_MAX_BYTES = 32 * 1024 * 1024;
const ENTRY_OVERHEAD_BYTES = 200;

export interface MemoryReadCacheOptions extends ReadCacheOptions {
  readonly maxEntries?: number;
  /** Upper bound of the entries' total size (default DEFAULT_CACHE_MAX_BYTES). */
  readonly maxBytes?: number;
  /** Invalidated tags remembered individually (default 10 × maxEntries). */
  readonly maxTags?: number;
}

export function createMemoryReadCache({
  maxEntries = 10_000,
  maxBytes = DEFAULT_CACHE_MAX_BYTES,
  maxTags,
  ...options
}: MemoryReadCacheOptions = {}): MemoryReadCache {
  let clock = 0;
  let floor = 0;
  const entries = new LRUCache<string, Entry>({
    max: maxEntries,
    maxSize: maxBytes,
    sizeCalculation: (entry, key) =>
      2 * (key.length + entry.json.length + entry.tags.reduce((sum, tag) => sum + tag.length, 0)) + ENTRY_OVERHEAD_BYTES,
  });
  const invalidatedAt = new LRUCache<string, number>({
    max: maxTags ?? maxEntries * 10,
    dispose: (generation, _tag, reason) => {
      if (reason === 'evict') floor = Math.max(floor, generation);
    },
  });

  const generation = (tag: string) => invalidatedAt.get(tag) ?? floor;
  const validAt = (tags: readonly string[], stamp: number) => tags.every((tag) => generation(tag) <= stamp);

  const backend: ReadCacheBackend<number> = {
    async lookup(key) {
      const stamp = clock;
      const entry = entries.get(key);
      if (entry && !validAt(entry.tags, entry.stamp)) {
        entries.delete(key);
        return { json: undefined, stamp };
      }
      return { json: entry?.json, stamp };
    },
    async store(key, json, ttl, tags, stamp = clock) {
      if (!validAt(tags, stamp)) return; // invalidated while loading: the value is stale already
      entries.set(key, { json, tags: [...tags], stamp }, { ttl });
    },
    async remove(key) {
      entries.delete(key);
    },
    async invalidateTags(tags) {
      clock += 1;
      for (const tag of tags) invalidatedAt.set(tag, clock);
    },
    async close() {
      entries.clear();
    },
  };
  return { ...readCacheFrom(backend, options), size: () => ({ entries: entries.size, bytes: entries.calculatedSize, maxBytes }) };
}
