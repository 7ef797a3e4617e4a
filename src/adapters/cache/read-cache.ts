// Read cache port: cache-aside reads of read models (template pages, search pages), with tag invalidation
// driven by the projector after it commits.
//
// Staleness and the invalidation race
// -----------------------------------
// Naive cache-aside has a race: a reader misses, starts loading from the read model, the projector commits
// and invalidates, and then the reader writes the value it loaded *before* the commit. That stale value
// would then be served until its TTL runs out.
//
// Both adapters avoid it with a generation per tag:
//   - invalidateTags(tags) increments the generation of each tag;
//   - a lookup returns, next to the value, the current generations of the tags the caller asked about;
//     getOrLoad keeps them as the "stamp" of its load (taken at load start, before load() runs);
//   - an entry is stored together with the generations of its tags at load start (its stamp), and the
//     write is skipped when a generation already moved on;
//   - a read compares the generations stored with the entry against the current ones: any difference is
//     a miss.
// So an invalidation that happens while a load is in flight always wins, whatever order the writes land in.
// (`set` called directly stamps the entry with the generations current at the time of the call.)
//
// Failure policy: the cache is an optimisation, never a dependency of a read.
//   - getOrLoad never fails because of the cache: a lookup error is counted and reported (onError) and
//     load() is used; the loaded value is stored best-effort (errors reported, swallowed). Errors thrown
//     by load() itself propagate.
//   - get degrades to a miss (undefined) on a cache error, counted and reported the same way.
//   - set and invalidateTags reject on errors: a failed invalidation must be visible to the projector.
//
// Values are stored as JSON. getOrLoad returns the JSON form on a miss too (JSON.parse(JSON.stringify(v))),
// so callers see the same shape on hits and misses (Dates become strings, undefined fields disappear).
// `undefined` is never cached (it is what get returns for a miss).

export interface ReadCacheSetOptions {
  /** Time to live; fractions are allowed (millisecond precision). */
  readonly ttlSeconds: number;
  /** Tags invalidating the entry, e.g. `tenant:<id>:search`, `template:<id>`. */
  readonly tags?: readonly string[];
}

export interface ReadCache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, options: ReadCacheSetOptions): Promise<void>;
  invalidateTags(tags: readonly string[]): Promise<void>;
  getOrLoad<T>(key: string, load: () => Promise<T>, options: ReadCacheSetOptions): Promise<T>;
  close(): Promise<void>;
}

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

/** Tag of every cached search page of a tenant. */
export const tenantSearchTag = (tenantId: string) => `tenant:${tenantId}:search`;
/** Tag of every cached search page of every tenant (they all include public and system templates). */
export const sharedSearchTag = 'search:shared';
/** Tag of everything cached about one template. */
export const templateTag = (templateId: string) => `template:${templateId}`;
/** Tag of everything cached from the template read model, dropped when a rebuild swaps its tables. */
export const templateReadModelTag = 'read-model:templates';

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
