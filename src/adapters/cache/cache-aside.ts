// The cache-aside policy both read cache adapters share (see ports/read-cache.ts for the contract: the
// generation stamps that make an invalidation win over a load in flight, and the failure policy).
import type { ReadCache, ReadCacheSetOptions } from '../../ports/read-cache.js';

/** One call per lookup (get or getOrLoad): exactly one of hit, miss or error. */
export interface ReadCacheCounters {
  hit(): void;
  miss(): void;
  error(): void;
}

export type ReadCacheErrorHandler = (error: unknown, context: { operation: 'get' | 'set'; key: string }) => void;

export interface ReadCacheOptions {
  readonly counters?: ReadCacheCounters;
  readonly onError?: ReadCacheErrorHandler;
}

export const noopCounters: ReadCacheCounters = { hit() {}, miss() {}, error() {} };

/**
 * What an adapter provides; `readCacheFrom` adds the cache-aside policy on top, so both adapters share
 * one implementation of getOrLoad, counting and error handling.
 * `Stamp` is the adapter's record of the tag generations seen by a lookup.
 */
export interface ReadCacheBackend<Stamp> {
  /** The stored JSON if present and still valid, and the current stamp of `tags`. */
  lookup(key: string, tags: readonly string[]): Promise<{ json: string | undefined; stamp: Stamp }>;
  /**
   * Stores the entry stamped with `stamp` (generations at load start), skipping the write if any tag was
   * invalidated since; without a stamp, with the generations current now.
   */
  store(key: string, json: string, ttlMs: number, tags: readonly string[], stamp?: Stamp): Promise<void>;
  remove(key: string): Promise<void>;
  invalidateTags(tags: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export const ttlMs = (ttlSeconds: number) => {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`ttlSeconds must be positive, got ${ttlSeconds}`);
  return Math.max(1, Math.round(ttlSeconds * 1000));
};

export function readCacheFrom<Stamp>(backend: ReadCacheBackend<Stamp>, options: ReadCacheOptions = {}): ReadCache {
  const counters = options.counters ?? noopCounters;
  const report = (error: unknown, operation: 'get' | 'set', key: string) => {
    try {
      options.onError?.(error, { operation, key });
    } catch {
      // a failing error handler must not turn a cache problem into a failed read
    }
  };

  return {
    async get<T>(key: string): Promise<T | undefined> {
      try {
        const { json } = await backend.lookup(key, []);
        if (json === undefined) {
          counters.miss();
          return undefined;
        }
        const value = JSON.parse(json) as T;
        counters.hit();
        return value;
      } catch (error) {
        counters.error();
        report(error, 'get', key);
        return undefined;
      }
    },

    async set(key, value, { ttlSeconds, tags = [] }) {
      const ttl = ttlMs(ttlSeconds);
      const json = JSON.stringify(value) as string | undefined;
      if (json === undefined) return backend.remove(key);
      await backend.store(key, json, ttl, tags);
    },

    invalidateTags: (tags) => (tags.length === 0 ? Promise.resolve() : backend.invalidateTags(tags)),

    async getOrLoad<T>(key: string, load: () => Promise<T>, { ttlSeconds, tags = [] }: ReadCacheSetOptions): Promise<T> {
      const ttl = ttlMs(ttlSeconds);
      let stamp: { value: Stamp } | undefined;
      try {
        const found = await backend.lookup(key, tags);
        if (found.json !== undefined) {
          const value = JSON.parse(found.json) as T;
          counters.hit();
          return value;
        }
        counters.miss();
        stamp = { value: found.stamp };
      } catch (error) {
        counters.error();
        report(error, 'get', key);
      }
      const loaded = await load();
      let json: string | undefined;
      try {
        json = JSON.stringify(loaded) as string | undefined;
      } catch (error) {
        report(error, 'set', key); // not JSON-serialisable: cannot be cached, hand it back as it is
        return loaded;
      }
      if (json === undefined) return loaded;
      // Without a stamp (the lookup failed) there is no safe way to store: skip the write.
      if (stamp) {
        try {
          await backend.store(key, json, ttl, tags, stamp.value);
        } catch (error) {
          report(error, 'set', key);
        }
      }
      return JSON.parse(json) as T;
    },

    close: () => backend.close(),
  };
}
