// Events a consumer (a process manager) gave up on: after failing `parkAfter` times in a row, an event is
// recorded here in the same transaction that moves the consumer's checkpoint past it, so one poison event
// never wedges the consumer for every tenant. An operator lists them (/ready, /metrics, the admin route)
// and retries them once the cause is fixed.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { RecordedEvent } from '../ports/event-store.js';
import type { SqlDatabase } from '../ports/sql-database.js';

export const PARKED_EVENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS parked_events (
  consumer         text        NOT NULL,
  event_id         text        NOT NULL,
  stream_id        text        NOT NULL,
  stream_revision  bigint      NOT NULL,
  event_type       text        NOT NULL,
  commit_position  bigint      NOT NULL,
  prepare_position bigint      NOT NULL,
  tenant_id        text,
  attempts         int         NOT NULL,
  last_error       text        NOT NULL,
  parked_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);`;

export async function migrateParkedEvents(db: SqlDatabase): Promise<void> {
  if (db.dialect === 'pglite') return db.exec(PARKED_EVENTS_SCHEMA);
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7294018313)');
    await tx.query(PARKED_EVENTS_SCHEMA);
  });
}

export interface ParkedEvent {
  readonly consumer: string;
  readonly eventId: string;
  readonly streamId: string;
  readonly streamRevision: bigint;
  readonly eventType: string;
  readonly position: string;
  readonly tenantId: string | null;
  readonly attempts: number;
  readonly lastError: string;
  readonly parkedAt: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the table lives beside untyped read models
type AnyDb = Kysely<any> | Transaction<any>;

const errorText = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error)).slice(0, 4000);

export async function parkEvent(trx: AnyDb, consumer: string, event: RecordedEvent, attempts: number, error: unknown): Promise<void> {
  const tenantId = typeof event.metadata.tenantId === 'string' ? event.metadata.tenantId : null;
  await sql`INSERT INTO parked_events (consumer, event_id, stream_id, stream_revision, event_type, commit_position, prepare_position, tenant_id, attempts, last_error)
    VALUES (${consumer}, ${event.id}, ${event.streamId}, ${event.revision.toString()}::bigint, ${event.type}, ${event.position.commit.toString()}::bigint,
            ${event.position.prepare.toString()}::bigint, ${tenantId}, ${attempts}, ${errorText(error)})
    ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = parked_events.attempts + EXCLUDED.attempts, last_error = EXCLUDED.last_error, parked_at = now()`.execute(
    trx,
  );
}

interface Row {
  consumer: string;
  event_id: string;
  stream_id: string;
  stream_revision: string;
  event_type: string;
  position: string;
  tenant_id: string | null;
  attempts: number;
  last_error: string;
  parked_at: string;
}

const SELECT = `SELECT consumer, event_id, stream_id, stream_revision::text, event_type, commit_position::text || '.' || prepare_position::text AS position,
  tenant_id, attempts, last_error, to_char(parked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS parked_at FROM parked_events`;

const toParked = (row: Row): ParkedEvent => ({
  consumer: row.consumer,
  eventId: row.event_id,
  streamId: row.stream_id,
  streamRevision: BigInt(row.stream_revision),
  eventType: row.event_type,
  position: row.position,
  tenantId: row.tenant_id,
  attempts: Number(row.attempts),
  lastError: row.last_error,
  parkedAt: row.parked_at,
});

/** The consumers' parked events, oldest first (the order they were met in the log), at most `limit`. */
export async function listParkedEvents(db: SqlDatabase, consumers: readonly string[], limit = 100): Promise<ParkedEvent[]> {
  const rows = await db.query<Row>(
    `${SELECT} WHERE consumer = ANY($1::text[]) ORDER BY commit_position, prepare_position, consumer LIMIT $2`,
    [consumers, limit],
  );
  return rows.map(toParked);
}

export async function countParkedEvents(db: SqlDatabase, consumers: readonly string[]): Promise<Map<string, number>> {
  const rows = await db.query<{ consumer: string; n: number }>(
    'SELECT consumer, count(*)::int AS n FROM parked_events WHERE consumer = ANY($1::text[]) GROUP BY consumer',
    [consumers],
  );
  return new Map(rows.map((row) => [row.consumer, Number(row.n)]));
}

export async function findParkedEvent(db: SqlDatabase, consumer: string, eventId: string): Promise<ParkedEvent | undefined> {
  const rows = await db.query<Row>(`${SELECT} WHERE consumer = $1 AND event_id = $2`, [consumer, eventId]);
  return rows[0] && toParked(rows[0]);
}

export async function unparkEvent(trx: AnyDb, consumer: string, eventId: string): Promise<boolean> {
  const result = await sql`DELETE FROM parked_events WHERE consumer = ${consumer} AND event_id = ${eventId}`.execute(trx);
  return Number(result.numAffectedRows ?? 0n) === 1;
}
