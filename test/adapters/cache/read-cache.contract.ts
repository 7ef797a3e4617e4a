// One specification of the read cache port, run against the in-memory and the Redis adapters.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadCache } from '../../../src/ports/read-cache.js';
import type { ReadCacheCounters, ReadCacheOptions } from '../../../src/adapters/cache/cache-aside.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function countingCounters() {
  const counts = { hit: 0, miss: 0, error: 0 };
  const counters: ReadCacheCounters = { hit: () => void counts.hit++, miss: () => void counts.miss++, error: () => void counts.error++ };
  return { counts, counters };
}

/** A promise with its resolve, to hold a loader until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

export function readCacheContract(
  name: string,
  open: (options: ReadCacheOptions) => Promise<{ cache: ReadCache; cleanup(): Promise<void> }>,
) {
  describe(`read cache contract: ${name}`, () => {
    let cache: ReadCache;
    let cleanup: () => Promise<void>;
    const { counts, counters } = countingCounters();
    const errors: unknown[] = [];
    const key = () => `k-${randomUUID()}`;
    const tag = () => `t-${randomUUID().slice(0, 8)}`;
    const hour = { ttlSeconds: 3600 };
    const snapshot = () => ({ ...counts });

    beforeAll(async () => ({ cache, cleanup } = await open({ counters, onError: (error) => errors.push(error) })));
    afterAll(async () => {
      await cache?.close();
      await cleanup?.();
      expect(errors).toEqual([]);
    });

    it('returns what was set, and undefined for a key never set', async () => {
      const k = key();
      expect(await cache.get(k)).toBeUndefined();
      await cache.set(k, { a: 1, list: ['x', null], nested: { ok: true } }, hour);
      expect(await cache.get(k)).toEqual({ a: 1, list: ['x', null], nested: { ok: true } });
      await cache.set(k, 'replaced', hour);
      expect(await cache.get(k)).toBe('replaced');
    });

    it('round-trips values as JSON, detached from the object that was set', async () => {
      const k = key();
      const value = { at: new Date('2024-05-01T10:00:00Z'), gone: undefined, n: 0, s: 'é\n"x"', empty: [] as unknown[], obj: {} };
      await cache.set(k, value, hour);
      value.empty.push('mutated after set');
      expect(await cache.get(k)).toEqual({ at: '2024-05-01T10:00:00.000Z', n: 0, s: 'é\n"x"', empty: [], obj: {} });
      for (const scalar of [0, false, null, '', 'text', 12.5]) {
        await cache.set(k, scalar, hour);
        expect(await cache.get(k)).toBe(scalar);
      }
      // getOrLoad hands back the JSON form on a miss too, so hits and misses look the same.
      const k2 = key();
      const loaded = await cache.getOrLoad(k2, async () => ({ at: new Date('2024-05-01T10:00:00Z') }), hour);
      expect(loaded).toEqual({ at: '2024-05-01T10:00:00.000Z' });
      expect(await cache.getOrLoad(k2, async () => ({ at: 'not loaded again' }), hour)).toEqual(loaded);
    });

    it('expires entries after their TTL', async () => {
      const short = key();
      const long = key();
      await cache.set(short, 'short', { ttlSeconds: 1, tags: [tag()] });
      await cache.set(long, 'long', hour);
      expect(await cache.get(short)).toBe('short');
      await sleep(1_100);
      expect(await cache.get(short)).toBeUndefined();
      expect(await cache.get(long)).toBe('long');
    });

    it('invalidateTags makes tagged keys miss; untagged keys and keys with other tags still hit', async () => {
      const [tenantSearch, template, other] = [tag(), tag(), tag()];
      const [page1, page2, tpl, both, otherKey, untagged] = [key(), key(), key(), key(), key(), key()];
      await cache.set(page1, 'page 1', { ...hour, tags: [tenantSearch] });
      await cache.set(page2, 'page 2', { ...hour, tags: [tenantSearch] });
      await cache.set(tpl, 'template', { ...hour, tags: [template] });
      await cache.set(both, 'both', { ...hour, tags: [other, template] });
      await cache.set(otherKey, 'other', { ...hour, tags: [other] });
      await cache.set(untagged, 'untagged', hour);

      await cache.invalidateTags([tenantSearch]);
      expect(await cache.get(page1)).toBeUndefined();
      expect(await cache.get(page2)).toBeUndefined();
      expect(await cache.get(tpl)).toBe('template');
      expect(await cache.get(both)).toBe('both');

      await cache.invalidateTags([template]);
      expect(await cache.get(tpl)).toBeUndefined();
      expect(await cache.get(both)).toBeUndefined();
      expect(await cache.get(otherKey)).toBe('other');
      expect(await cache.get(untagged)).toBe('untagged');

      // Set again after the invalidation: valid again, until the next one.
      await cache.set(page1, 'page 1 v2', { ...hour, tags: [tenantSearch] });
      expect(await cache.get(page1)).toBe('page 1 v2');
      await cache.invalidateTags([tenantSearch, tag()]);
      expect(await cache.get(page1)).toBeUndefined();
      await cache.invalidateTags([]);
    });

    it('getOrLoad loads once, then hits; counts a miss then a hit', async () => {
      const k = key();
      let loads = 0;
      const load = async () => ({ loads: ++loads });
      const before = snapshot();
      expect(await cache.getOrLoad(k, load, { ...hour, tags: [tag()] })).toEqual({ loads: 1 });
      expect(await cache.getOrLoad(k, load, { ...hour, tags: [tag()] })).toEqual({ loads: 1 });
      expect(loads).toBe(1);
      expect(snapshot()).toEqual({ hit: before.hit + 1, miss: before.miss + 1, error: before.error });
      // get counts too
      await cache.get(k);
      await cache.get(key());
      expect(snapshot()).toEqual({ hit: before.hit + 2, miss: before.miss + 2, error: before.error });
    });

    it('getOrLoad reloads after its tag is invalidated', async () => {
      const k = key();
      const t = tag();
      let version = 1;
      const load = async () => `v${version}`;
      expect(await cache.getOrLoad(k, load, { ...hour, tags: [t] })).toBe('v1');
      version = 2;
      expect(await cache.getOrLoad(k, load, { ...hour, tags: [t] })).toBe('v1');
      await cache.invalidateTags([t]);
      expect(await cache.getOrLoad(k, load, { ...hour, tags: [t] })).toBe('v2');
    });

    it('does not serve a value loaded before an invalidation that happened during the load', async () => {
      const k = key();
      const t = tag();
      const loading = gate();
      const release = gate();
      const slow = cache.getOrLoad(
        k,
        async () => {
          loading.open();
          await release.opened;
          return 'stale: read before the projector committed';
        },
        { ...hour, tags: [t, tag()] },
      );
      await loading.opened;
      await cache.invalidateTags([t]); // the projector commits and invalidates while the load is in flight
      release.open();
      expect(await slow).toBe('stale: read before the projector committed'); // the caller still gets its value
      expect(await cache.get(k)).toBeUndefined(); // but it was not cached
      expect(await cache.getOrLoad(k, async () => 'fresh', { ...hour, tags: [t] })).toBe('fresh');
      expect(await cache.get(k)).toBe('fresh');
    });

    it('does not cache undefined, and lets loader errors through without caching', async () => {
      const k = key();
      expect(await cache.getOrLoad(k, async () => undefined, hour)).toBeUndefined();
      expect(await cache.get(k)).toBeUndefined();
      await expect(cache.getOrLoad(k, async () => Promise.reject(new Error('read model down')), hour)).rejects.toThrow('read model down');
      expect(await cache.get(k)).toBeUndefined();
      await cache.set(k, 'x', hour);
      await cache.set(k, undefined, hour);
      expect(await cache.get(k)).toBeUndefined();
    });

    it('shares one entry between concurrent readers of different keys and tags', async () => {
      const t = tag();
      const keys = Array.from({ length: 20 }, key);
      const values = await Promise.all(keys.map((k, i) => cache.getOrLoad(k, async () => ({ i }), { ...hour, tags: [t] })));
      expect(values).toEqual(keys.map((_, i) => ({ i })));
      expect(await Promise.all(keys.map((k) => cache.get(k)))).toEqual(values);
      await cache.invalidateTags([t]);
      expect(await Promise.all(keys.map((k) => cache.get(k)))).toEqual(keys.map(() => undefined));
    });
  });
}
