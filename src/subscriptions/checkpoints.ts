// Checkpoints of projections and process managers, in the same database as the read models so that a
// batch and its checkpoint commit together.
import { sql, type Kysely, type Transaction } from 'kysely';
import { START, type Position } from '../ports/event-store.js';
import type { SqlDatabase } from '../ports/sql-database.js';

export const CHECKPOINTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS projection_checkpoints (
  name text PRIMARY KEY,
  commit_position bigint NOT NULL DEFAULT 0,
  prepare_position bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  rebuilt_at timestamptz
);`;

export async function migrateCheckpoints(db: SqlDatabase): Promise<void> {
  if (db.dialect === 'pglite') return db.exec(CHECKPOINTS_SCHEMA);
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7294018312)');
    await tx.query(CHECKPOINTS_SCHEMA);
  });
}

/** The checkpoint moved under us: another runner (a stale lease holder, or a rebuild swap) advanced it. */
export class CheckpointMovedError extends Error {
  override readonly name = 'CheckpointMovedError';
  constructor(readonly consumer: string) {
    super(`checkpoint of ${consumer} moved; resuming from the stored one`);
  }
}

const toPosition = (row: { commit_position: string; prepare_position: string } | undefined): Position =>
  row ? { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) } : START;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the checkpoint table lives beside untyped read models
type AnyDb = Kysely<any> | Transaction<any>;

export async function ensureCheckpoint(db: SqlDatabase, name: string): Promise<void> {
  await db.query('INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
}

export async function readCheckpoints(db: SqlDatabase, names: readonly string[]): Promise<Map<string, Position>> {
  const rows = await db.query<{ name: string; commit_position: string; prepare_position: string }>(
    'SELECT name, commit_position::text, prepare_position::text FROM projection_checkpoints WHERE name = ANY($1::text[])',
    [names],
  );
  return new Map(rows.map((row) => [row.name, toPosition(row)]));
}

export async function readCheckpoint(db: SqlDatabase, name: string): Promise<Position> {
  return (await readCheckpoints(db, [name])).get(name) ?? START;
}

/**
 * Moves the checkpoint from `from` to `to` inside the batch's transaction. The guard on `from` makes a
 * stale runner's batch fail (and roll back) instead of applying events twice.
 */
export async function advanceCheckpoint(trx: AnyDb, name: string, from: Position, to: Position): Promise<void> {
  const result =
    await sql`UPDATE projection_checkpoints SET commit_position = ${to.commit.toString()}::bigint, prepare_position = ${to.prepare.toString()}::bigint, updated_at = now()
    WHERE name = ${name} AND commit_position = ${from.commit.toString()}::bigint AND prepare_position = ${from.prepare.toString()}::bigint`.execute(
      trx,
    );
  if (Number(result.numAffectedRows ?? 0n) !== 1) throw new CheckpointMovedError(name);
}

/** Locks the row for the rest of the transaction (a rebuild's swap) and returns the position in it. */
export async function lockCheckpoint(trx: AnyDb, name: string): Promise<Position> {
  const result = await sql<{
    commit_position: string;
    prepare_position: string;
  }>`SELECT commit_position::text, prepare_position::text FROM projection_checkpoints WHERE name = ${name} FOR UPDATE`.execute(trx);
  return toPosition(result.rows[0]);
}

export async function setCheckpoint(trx: AnyDb, name: string, to: Position): Promise<void> {
  await sql`UPDATE projection_checkpoints SET commit_position = ${to.commit.toString()}::bigint, prepare_position = ${to.prepare.toString()}::bigint, updated_at = now(), rebuilt_at = now() WHERE name = ${name}`.execute(
    trx,
  );
}
