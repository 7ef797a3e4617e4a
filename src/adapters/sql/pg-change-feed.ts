// LISTEN/NOTIFY on PostgreSQL: one dedicated connection listens (reconnecting after a loss); announcements
// go through the pool, each after the writer's commit in a transaction of its own, so a NOTIFY never holds
// up an append's commit (PostgreSQL serialises committing transactions that notified on one queue lock).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ChangeChannel, ChangeFeed } from '../../ports/change-feed.js';
import type { SqlQueryable } from '../../ports/sql-database.js';

export interface PgChangeFeedOptions {
  readonly connectionString: string;
  /** Where the NOTIFYs go (the service's pool). */
  readonly db: SqlQueryable;
  /** Channel names are `${prefix}_events` and `${prefix}_jobs`, so that environments can share a database. */
  readonly prefix?: string;
  readonly connectTimeoutMs?: number;
  /** The first wait before connecting again after a loss; doubled per failure, at most 5 s. */
  readonly reconnectMs?: number;
  readonly logger?: { warn(obj: object, msg?: string): void };
}

const MAX_RECONNECT_MS = 5_000;
const CHANNELS: readonly ChangeChannel[] = ['events', 'jobs'];

export async function createPgChangeFeed(options: PgChangeFeedOptions): Promise<ChangeFeed> {
  // Our own words come back to us: the payload names the sender so that they are dropped.
  const sender = randomUUID();
  const prefix = (options.prefix ?? 'kyo').replace(/[^A-Za-z0-9_]/g, '_').toLowerCase();
  const channelName = (channel: ChangeChannel) => `${prefix}_${channel}`;
  const listeners = new Map<ChangeChannel, Set<(topic: string) => void>>(CHANNELS.map((channel) => [channel, new Set()]));
  let client: pg.Client | undefined;
  let connected = false;
  let closed = false;
  let retryMs = options.reconnectMs ?? 100;
  let retryTimer: NodeJS.Timeout | undefined;

  function hear(message: pg.Notification): void {
    const channel = CHANNELS.find((c) => channelName(c) === message.channel);
    const payload = message.payload ?? '';
    const cut = payload.indexOf(':');
    if (!channel || cut < 0 || payload.slice(0, cut) === sender) return;
    const topic = payload.slice(cut + 1);
    for (const listener of listeners.get(channel)!) listener(topic);
  }

  async function connect(): Promise<void> {
    const next = new pg.Client({
      connectionString: options.connectionString,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      application_name: 'kyo-platform-listen',
    });
    next.on('notification', hear);
    next.on('error', () => lost(next));
    next.on('end', () => lost(next));
    client = next;
    try {
      await next.connect();
      for (const channel of CHANNELS) await next.query(`LISTEN ${channelName(channel)}`);
    } catch (error) {
      lost(next, error);
      return;
    }
    if (closed) return void (await next.end().catch(() => undefined));
    connected = true;
    retryMs = options.reconnectMs ?? 100;
    // Whatever was announced while we were away is found by the readers' own next read.
    for (const set of listeners.values()) for (const listener of set) listener('*');
  }

  function lost(which: pg.Client, error?: unknown): void {
    if (client !== which) return;
    client = undefined;
    connected = false;
    which.removeAllListeners('notification');
    void which.end().catch(() => undefined);
    if (closed) return;
    // Wake the readers so that their next wait is the fast poll, until the connection is back.
    for (const set of listeners.values()) for (const listener of set) listener('*');
    options.logger?.warn({ err: error, retryInMs: retryMs }, 'LISTEN connection lost; polling fast until it is back');
    retryTimer = setTimeout(() => void connect(), retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RECONNECT_MS);
  }

  // Coalescing: at most one NOTIFY per (channel, topic) in flight, and one more after it if anything was
  // announced meanwhile. A burst of appends costs two NOTIFYs, not one per append.
  const inFlight = new Map<string, 'sending' | 'again'>();
  function announce(channel: ChangeChannel, topic: string): void {
    if (closed) return;
    const key = `${channel}\u0000${topic}`;
    if (inFlight.has(key)) return void inFlight.set(key, 'again');
    inFlight.set(key, 'sending');
    void options.db
      .query('SELECT pg_notify($1, $2)', [channelName(channel), `${sender}:${topic}`])
      .catch(() => undefined) // the other processes' safety poll finds the change
      .finally(() => {
        const again = inFlight.get(key) === 'again';
        inFlight.delete(key);
        if (again) announce(channel, topic);
      });
  }

  await connect();
  return {
    announce,
    onChange(channel, listener) {
      const set = listeners.get(channel)!;
      set.add(listener);
      return () => set.delete(listener);
    },
    listening: () => connected,
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      const current = client;
      client = undefined;
      connected = false;
      await current?.end().catch(() => undefined);
    },
  };
}
