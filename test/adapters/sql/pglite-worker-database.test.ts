// PGlite in a worker thread answers exactly as PGlite on this thread: the same rows for the same
// statements (fast-check over values of every type the read models use), errors with their SQLSTATE code,
// transactions that roll back, Kysely on top; a database that cannot start fails its creation and leaves
// no thread behind; after close every call is refused instead of hanging.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import { createWorkerPgliteDatabase, type WorkerSqlDatabase } from '../../../src/adapters/sql/pglite-worker-database.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';

const TABLE = `CREATE TABLE t (n serial PRIMARY KEY, s text, i int, b bigint, f float8, ok boolean, j jsonb, at timestamptz,
  raw bytea, tags text[])`;
const INSERT = `INSERT INTO t (s, i, b, f, ok, j, at, raw, tags) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9) RETURNING *`;

// PostgreSQL text holds no NUL; jsonb neither, and normalises -0 to 0.
const text = fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000'));
const json = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('\\u0000'));
const row = fc.tuple(
  fc.option(text),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  json,
  fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }),
  fc.uint8Array({ maxLength: 64 }),
  fc.array(text, { maxLength: 4 }),
);

describe('PGlite in a worker thread', () => {
  let local: SqlDatabase;
  let worker: WorkerSqlDatabase;
  beforeAll(async () => {
    [local, worker] = await Promise.all([createPgliteDatabase({ maintenance: false }), createWorkerPgliteDatabase({ maintenance: false })]);
    await local.exec(TABLE);
    await worker.exec(TABLE);
  });
  afterAll(async () => {
    await local?.close();
    await worker?.close();
  });

  it('runs on a thread of its own', () => {
    expect(worker.threadId).toBeGreaterThan(0);
    expect(worker.threadId).not.toBe(threadId);
  });

  it('answers every statement with the rows PGlite on this thread answers', async () => {
    await fc.assert(
      fc.asyncProperty(row, async ([s, i, b, f, ok, j, at, raw, tags]) => {
        const params = [s, i, b, f, ok, JSON.stringify(j), at, raw, tags];
        const [mine, theirs] = [await local.query(INSERT, params), await worker.query(INSERT, params)];
        expect(theirs).toEqual(mine);
        const select = `SELECT s, i, b, f, ok, j, at, raw, tags, b::text AS b_text FROM t WHERE n = $1`;
        expect(await worker.query(select, [theirs[0]!.n])).toEqual(await local.query(select, [mine[0]!.n]));
      }),
      { numRuns: 40 },
    );
  });

  it('passes errors back with their SQLSTATE, rolls a failed transaction back, and serves Kysely', async () => {
    await expect(worker.query('SELECT 1 / 0')).rejects.toMatchObject({ code: '22012', message: expect.stringMatching(/division by zero/) });
    await worker.exec('CREATE TABLE u (id text PRIMARY KEY)');
    await expect(
      worker.transaction(async (tx) => {
        await tx.query(`INSERT INTO u VALUES ('a')`);
        await tx.query(`INSERT INTO u VALUES ('a')`);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await worker.query('SELECT count(*)::int AS n FROM u')).toEqual([{ n: 0 }]);
    await worker.kysely.transaction().execute(async (trx) => {
      await trx.insertInto('u').values({ id: 'b' }).execute();
    });
    const { rows } = await sql<{ id: string }>`SELECT id FROM u`.execute(worker.kysely);
    expect(rows).toEqual([{ id: 'b' }]);
  });

  it('fails its creation when PGlite cannot start there, and refuses calls once closed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kyo-pglite-worker-'));
    try {
      writeFileSync(join(root, 'not-a-directory'), 'x');
      await expect(createWorkerPgliteDatabase({ dataDir: join(root, 'not-a-directory', 'pglite') })).rejects.toThrow();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    const closing = await createWorkerPgliteDatabase({ maintenance: false });
    expect(await closing.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await closing.close();
    await expect(closing.query('SELECT 1')).rejects.toThrow(/stopped/);
  });
});
