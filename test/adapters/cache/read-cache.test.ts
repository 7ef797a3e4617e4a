import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createMemoryReadCache } from '../../../src/adapters/cache/memory-read-cache.js';
import { createRedisReadCache } from '../../../src/adapters/cache/redis-read-cache.js';
import { createMetrics, cacheCounters } from '../../../src/adapters/observability/metrics.js';
import { redisService } from '../../support/services.js';
import { countingCounters, readCacheContract } from './read-cache.contract.js';

const redis = redisService();
if (redis.skipReason) console.warn(`[skip] Redis read cache: ${redis.skipReason}`);

describe('memory read cache', () => {
  readCacheContract('memory', async (options) => ({ cache: createMemoryReadCache(options), cleanup: async () => {} }));

  it('keeps at most maxEntries entries, evicting the least recently used', async () => {
    const cache = createMemoryReadCache({ maxEntries: 2 });
    await cache.set('a', 1, { ttlSeconds: 60 });
    await cache.set('b', 2, { ttlSeconds: 60 });
    expect(await cache.get('a')).toBe(1);
    await cache.set('c', 3, { ttlSeconds: 60 });
    expect([await cache.get('a'), await cache.get('b'), await cache.get('c')]).toEqual([1, undefined, 3]);
  });

  it('never serves an invalidated entry when its tag was forgotten from a full generation table', async () => {
    const cache = createMemoryReadCache({ maxEntries: 10, maxTags: 2 });
    await cache.set('k', 'old', { ttlSeconds: 60, tags: ['t1'] });
    await cache.invalidateTags(['t1']);
    await cache.invalidateTags(['t2', 't3']); // pushes t1 out of the table
    expect(await cache.get('k')).toBeUndefined();
    await cache.set('k', 'new', { ttlSeconds: 60, tags: ['t1'] });
    expect(await cache.get('k')).toBe('new');
  });

  it('#7.26 never holds more bytes than maxBytes, whatever is stored, and reports its size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2_000, max: 40_000 }),
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: 30 }),
            text: fc.string({ unit: 'binary', maxLength: 3_000 }),
            repeat: fc.integer({ min: 1, max: 8 }),
          }),
          { maxLength: 60 },
        ),
        async (maxBytes, writes) => {
          const cache = createMemoryReadCache({ maxBytes, maxEntries: 1_000 });
          const keys = new Set<string>();
          for (const { key, text, repeat } of writes) {
            const name = `k${key}`;
            keys.add(name);
            await cache.set(name, { text: text.repeat(repeat) }, { ttlSeconds: 60, tags: [`template:${key}`] });
            expect(cache.size().bytes).toBeLessThanOrEqual(maxBytes);
          }
          // Counted independently of the cache's own bookkeeping: what it still serves fits in the bound
          // (two bytes per UTF-16 code unit of the key and of the stored JSON).
          let served = 0;
          for (const key of keys) {
            const value = await cache.get(key);
            if (value !== undefined) served += 2 * (key.length + JSON.stringify(value).length);
          }
          expect(served).toBeLessThanOrEqual(maxBytes);
          expect(cache.size().bytes).toBeGreaterThanOrEqual(served);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('#7.26 stores nothing larger than its whole bound, and keeps the newest entries that fit', async () => {
    const cache = createMemoryReadCache({ maxBytes: 1_000 });
    await cache.set('huge', 'x'.repeat(2_000), { ttlSeconds: 60 });
    expect(await cache.get('huge')).toBeUndefined();
    for (let i = 0; i < 20; i++) await cache.set(`k${i}`, 'y'.repeat(100), { ttlSeconds: 60 });
    expect(await cache.get('k19')).toBe('y'.repeat(100));
    expect(await cache.get('k0')).toBeUndefined();
    expect(cache.size().entries).toBeGreaterThan(1);
    expect(cache.size().bytes).toBeLessThanOrEqual(1_000);
  });

  it('rejects a TTL that is not positive', async () => {
    const cache = createMemoryReadCache();
    await expect(cache.set('k', 1, { ttlSeconds: 0 })).rejects.toThrow(RangeError);
  });
});

describe.skipIf(!redis.url)('Redis read cache', () => {
  readCacheContract('Redis', async (options) => {
    const client = new Redis(redis.url!, { enableOfflineQueue: false, maxRetriesPerRequest: 2, lazyConnect: true });
    client.on('error', () => undefined);
    await client.connect();
    // A prefix per run: runs sharing one Redis never see each other's keys.
    const prefix = `test${randomUUID().slice(0, 8)}:cache`;
    return {
      cache: createRedisReadCache(client, { prefix, ...options }),
      cleanup: async () => {
        const keys = await client.keys(`${prefix}:*`);
        if (keys.length > 0) await client.del(...keys);
        await client.quit();
      },
    };
  });

  it('bounds the life of generation keys, and keeps them at least as long as the entries stamped with them', async () => {
    const client = new Redis(redis.url!, { enableOfflineQueue: false, maxRetriesPerRequest: 2, lazyConnect: true });
    client.on('error', () => undefined);
    await client.connect(); // without an offline queue, commands sent before the connection is up fail
    const prefix = `test${randomUUID().slice(0, 8)}:cache`;
    try {
      const cache = createRedisReadCache(client, { prefix, tagTtlSeconds: 120 });
      await cache.set('k', 'v', { ttlSeconds: 600, tags: ['t'] });
      const afterSet = await client.pttl(`${prefix}:tag:t`);
      expect(afterSet).toBeGreaterThan(590_000);
      await cache.invalidateTags(['t', 'fresh']);
      expect(await client.pttl(`${prefix}:tag:t`)).toBeGreaterThan(590_000); // not shortened
      const fresh = await client.pttl(`${prefix}:tag:fresh`);
      expect(fresh).toBeGreaterThan(110_000);
      expect(fresh).toBeLessThanOrEqual(120_000);
      expect(await client.get(`${prefix}:tag:t`)).toBe('1');
      expect(await cache.get('k')).toBeUndefined();
      await cache.set('k', 'v2', { ttlSeconds: 60, tags: ['t'] });
      expect(await cache.get('k')).toBe('v2');
    } finally {
      const keys = await client.keys(`${prefix}:*`);
      if (keys.length > 0) await client.del(...keys);
      await client.quit();
    }
  });

  it('sends the script itself when Redis does not know it (NOSCRIPT)', async () => {
    const client = new Redis(redis.url!, { enableOfflineQueue: false, maxRetriesPerRequest: 2, lazyConnect: true });
    client.on('error', () => undefined);
    await client.connect();
    const prefix = `test${randomUUID().slice(0, 8)}:cache`;
    // No SCRIPT FLUSH on the shared server (other suites' scripts live there): a client that answers NOSCRIPT.
    let evalshaCalls = 0;
    const forgetful = new Proxy(client, {
      get(target, property, receiver) {
        if (property === 'evalsha') {
          return async () => {
            evalshaCalls += 1;
            throw new Error('NOSCRIPT No matching script. Please use EVAL.');
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    try {
      const cache = createRedisReadCache(forgetful, { prefix });
      await cache.set('k', { v: 1 }, { ttlSeconds: 60, tags: ['t'] });
      expect(await cache.get('k')).toEqual({ v: 1 });
      await cache.invalidateTags(['t']);
      expect(await cache.get('k')).toBeUndefined();
      expect(evalshaCalls).toBe(4);
    } finally {
      const keys = await client.keys(`${prefix}:*`);
      if (keys.length > 0) await client.del(...keys);
      await client.quit();
    }
  });
});

describe('Redis read cache with Redis down', () => {
  it('getOrLoad falls back to load within 2 s and counts an error', async () => {
    const client = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
    client.on('error', () => undefined);
    const { counts, counters } = countingCounters();
    const errors: unknown[] = [];
    const cache = createRedisReadCache(client, {
      prefix: `test${randomUUID().slice(0, 8)}`,
      counters,
      onError: (error) => errors.push(error),
    });
    try {
      const started = performance.now();
      expect(await cache.getOrLoad('k', async () => ({ from: 'read model' }), { ttlSeconds: 60, tags: ['t'] })).toEqual({
        from: 'read model',
      });
      expect(await cache.get('k')).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(counts).toEqual({ hit: 0, miss: 0, error: 2 });
      expect(errors).toHaveLength(2);
      // Writes and invalidations report the failure to their caller.
      await expect(cache.invalidateTags(['t'])).rejects.toThrow();
    } finally {
      await cache.close();
      client.disconnect();
    }
  });
});

describe('cacheCounters', () => {
  it('counts into cache_requests_total by cache and result', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const counters = cacheCounters(metrics, 'memory');
    const cache = createMemoryReadCache({ counters });
    await cache.getOrLoad('k', async () => 1, { ttlSeconds: 60 });
    await cache.getOrLoad('k', async () => 1, { ttlSeconds: 60 });
    await cache.getOrLoad('k', async () => 1, { ttlSeconds: 60 });
    const values = (await metrics.cacheRequests.get()).values.map((v) => [v.labels.result, v.value]);
    expect(Object.fromEntries(values)).toEqual({ hit: 2, miss: 1, error: 0 });
  });
});

describe('Redis read cache with a Redis that does not answer', () => {
  it('getOrLoad gives up on the cache after timeoutMs and falls back to load', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => void sockets.push(socket)); // accepts, never replies
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    // No ready check nor CLIENT SETINFO, so the client is ready once connected and really sends the commands.
    const client = new Redis({
      host: '127.0.0.1',
      port,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 2,
      lazyConnect: true,
      enableReadyCheck: false,
      disableClientInfo: true,
    });
    client.on('error', () => undefined);
    await client.connect();
    const { counts, counters } = countingCounters();
    const cache = createRedisReadCache(client, { prefix: 'test', counters, timeoutMs: 200 });
    try {
      const started = performance.now();
      expect(await cache.getOrLoad('k', async () => 'loaded', { ttlSeconds: 60 })).toBe('loaded');
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(counts).toEqual({ hit: 0, miss: 0, error: 1 });
      await expect(cache.invalidateTags(['t'])).rejects.toThrow(/timed out/);
    } finally {
      client.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
