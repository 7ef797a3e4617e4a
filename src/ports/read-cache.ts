// Read cache port: cache-aside reads of read models (e.g. template pages, search pages), with tag
// invalidation driven by a projector after it commits. Adapters: adapters/cache (Redis, in-process LRU),
// both built on adapters/cache/cache-aside.ts.
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
