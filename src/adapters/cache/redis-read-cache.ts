// Read cache on Redis (ioredis), shared by all instances of the service.
//
// Keys:  <prefix>:v:<key>    the entry: a header line `[tags, generations]` (JSON), '\n', the value (JSON);
//                            JSON never contains a raw newline, so the first '\n' ends the header.
//        <prefix>:tag:<tag>  the tag's generation (INCR by invalidateTags; missing = "0").
// Each operation is one round trip: a small Lua script reads the entry and the generations (MGET) together,
// so a lookup, a conditional store and an invalidation are each atomic (see ports/read-cache.ts for why).
//
// Generation keys expire, but never before an entry stamped with them: a store extends the tag key's TTL
// to at least the entry's, and an invalidation keeps the tag key at least `tagTtlSeconds` (default one day),
// which bounds how long a load may be in flight and still be caught by the generation check. So tag keys
// do not pile up forever, and a reset generation can never make an old entry look valid again.
//
// The scripts touch tag keys they do not declare in KEYS: fine on a single Redis (or Sentinel), not
// Redis Cluster.
//
// The client is the service's (`enableOfflineQueue: false, maxRetriesPerRequest: 2`): commands fail fast
// while Redis is down and getOrLoad falls back to load(). close() leaves the client open: its owner quits it.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { readCacheFrom, type ReadCacheBackend, type ReadCacheOptions } from './cache-aside.js';
import type { ReadCache } from '../../ports/read-cache.js';

// KEYS[1] entry; ARGV[1] tag key prefix, ARGV[2..] tags whose current generations are returned (the stamp).
// Returns { entry value or false, generations of ARGV[2..] }.
const LOOKUP = `
local prefix = ARGV[1]
local function generations(tags)
  if #tags == 0 then return {} end
  local keys = {}
  for i, tag in ipairs(tags) do keys[i] = prefix .. tag end
  local found = redis.call('MGET', unpack(keys))
  for i = 1, #tags do
    if not found[i] then found[i] = '0' end
  end
  return found
end
local wanted = {}
for i = 2, #ARGV do wanted[#wanted + 1] = ARGV[i] end
local current = generations(wanted)
local raw = redis.call('GET', KEYS[1])
if not raw then return { false, current } end
local newline = string.find(raw, '\\n', 1, true)
if not newline then return { false, current } end
local header = cjson.decode(string.sub(raw, 1, newline - 1))
local tags, stamped = header[1], header[2]
local now = generations(tags)
for i = 1, #tags do
  if now[i] ~= stamped[i] then return { false, current } end
end
return { string.sub(raw, newline + 1), current }
`;

// KEYS[1] entry; ARGV[1] ttl ms, ARGV[2] tag key prefix, ARGV[3] value JSON, ARGV[4] n tags,
// ARGV[5..4+n] tags, ARGV[5+n..4+2n] (optional) generations at load start.
// Returns 1 if stored, 0 if skipped because a tag was invalidated since the load started.
const STORE = `
local ttl = tonumber(ARGV[1])
local prefix = ARGV[2]
local n = tonumber(ARGV[4])
local check = #ARGV >= 4 + 2 * n
local tags, generations = {}, {}
for i = 1, n do
  local tag = ARGV[4 + i]
  local generation = redis.call('GET', prefix .. tag) or '0'
  if check and generation ~= ARGV[4 + n + i] then return 0 end
  tags[i] = tag
  generations[i] = generation
end
for i = 1, n do
  local key = prefix .. tags[i]
  local left = redis.call('PTTL', key)
  if left == -2 then
    redis.call('SET', key, '0', 'PX', ttl)
  elseif left >= 0 and left < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end
local header = '[' .. cjson.encode(tags) .. ',' .. cjson.encode(generations) .. ']'
if n == 0 then header = '[[],[]]' end
redis.call('SET', KEYS[1], header .. '\\n' .. ARGV[3], 'PX', ttl)
return 1
`;

// ARGV[1] tag key prefix, ARGV[2] minimum ttl ms of a generation key, ARGV[3..] tags.
const INVALIDATE = `
local minimum = tonumber(ARGV[2])
for i = 3, #ARGV do
  local key = ARGV[1] .. ARGV[i]
  redis.call('INCR', key)
  local left = redis.call('PTTL', key)
  if left < minimum then redis.call('PEXPIRE', key, minimum) end
end
return #ARGV - 2
`;

interface Script {
  readonly lua: string;
  readonly sha: string;
}
const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });
const lookupScript = script(LOOKUP);
const storeScript = script(STORE);
const invalidateScript = script(INVALIDATE);

export interface RedisReadCacheOptions extends ReadCacheOptions {
  /** Namespace of every key, e.g. `kyo:cache`. */
  readonly prefix: string;
  /** Minimum lifetime of a tag generation after an invalidation (default 86 400). */
  readonly tagTtlSeconds?: number;
  /**
   * Upper bound of one cache operation (default 1000 ms; 0 disables). The service's client has no
   * commandTimeout, so without it a Redis that accepts connections but does not answer would hold reads.
   */
  readonly timeoutMs?: number;
}

export function createRedisReadCache(
  redis: Redis,
  { prefix, tagTtlSeconds = 86_400, timeoutMs = 1_000, ...options }: RedisReadCacheOptions,
): ReadCache {
  const entryKey = (key: string) => `${prefix}:v:${key}`;
  const tagPrefix = `${prefix}:tag:`;

  // EVALSHA, and EVAL once if this Redis has not seen the script yet (NOSCRIPT).
  const evaluate = async (s: Script, keys: string[], args: (string | number)[]): Promise<unknown> => {
    try {
      return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return redis.eval(s.lua, keys.length, ...keys, ...args);
      throw error;
    }
  };
  // A timed-out store or invalidation may still land later: harmless (a store re-checks the generations;
  // an extra INCR only invalidates once more), and the caller has been told it failed.
  const bounded = <T>(operation: string, promise: Promise<T>): Promise<T> => {
    if (!(timeoutMs > 0)) return promise;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`read cache ${operation} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  const run = (s: Script, keys: string[], args: (string | number)[]) => bounded('script', evaluate(s, keys, args));

  const backend: ReadCacheBackend<string[]> = {
    async lookup(key, tags) {
      const reply = await run(lookupScript, [entryKey(key)], [tagPrefix, ...tags]);
      if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1]))
        throw new Error('unexpected reply from the read cache lookup script');
      const [json, stamp] = reply as [string | null, string[]];
      return { json: json ?? undefined, stamp };
    },
    async store(key, json, ttl, tags, stamp) {
      const args: (string | number)[] = [ttl, tagPrefix, json, tags.length, ...tags];
      if (stamp) args.push(...stamp);
      await run(storeScript, [entryKey(key)], args);
    },
    async remove(key) {
      await bounded('del', redis.del(entryKey(key)));
    },
    async invalidateTags(tags) {
      await run(invalidateScript, [], [tagPrefix, Math.round(tagTtlSeconds * 1000), ...tags]);
    },
    async close() {},
  };
  return readCacheFrom(backend, options);
}
