// The embedded database's resident memory is mostly PostgreSQL's shared memory inside the WASM heap: the
// buffer cache (128 MiB by PostgreSQL's default) and per-connection slots (100 by default) for one session.
import { afterEach, describe, expect, it } from 'vitest';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';

describe('PGlite memory settings', () => {
  let db: SqlDatabase | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  const setting = async (name: string) =>
    (await db!.query<{ setting: string }>(`SELECT current_setting($1) AS setting`, [name]))[0]!.setting;

  it('runs with the buffer cache it is given and room for a few connections only', async () => {
    db = await createPgliteDatabase({ sharedBuffersMb: 16, maintenance: false });
    expect(await setting('shared_buffers')).toBe('16MB');
    expect(Number(await setting('max_connections'))).toBeLessThanOrEqual(10);
  });
});
