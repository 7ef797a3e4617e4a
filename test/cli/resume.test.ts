// #15.10: `npm run resume` clears the side-effects pause of a restored store for an operator without a
// platform key at hand. A data directory held by a running process is refused (exit 1, nothing changed);
// usage errors exit 2; a PostgreSQL store is resumed by its URL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pauseSideEffects, readSideEffectsPause } from '../../src/adapters/event-store/side-effects-pause.js';
import { lockDataDirectory } from '../../src/adapters/sql/data-directory-lock.js';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../src/adapters/sql/pglite-database.js';
import { createTestDatabase, postgresService } from '../support/services.js';
import { killGroup, runNpm, type StartedProcess } from '../packaging/processes.js';

const postgres = postgresService();
const started: StartedProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const process of started) killGroup(process);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function resume(...args: string[]) {
  const run = runNpm(['run', 'resume', '--', ...args], { DATABASE_URL: '' });
  started.push(run);
  const { code } = await run.exited;
  return { code, output: run.output() };
}

/** Whether the embedded store in `dataDir` is paused (opened only while no other process has it). */
async function pausedIn(dataDir: string): Promise<boolean> {
  const db = await createPgliteDatabase({ dataDir: join(dataDir, 'pglite'), maintenance: false });
  try {
    return (await readSideEffectsPause(db)) !== undefined;
  } finally {
    await db.close();
  }
}

describe('npm run resume', () => {
  it('usage errors exit 2', async () => {
    const missing = await resume();
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/--target is required[\s\S]*usage: npm run resume/);
    const unknown = await resume('--target', '/tmp/x', '--force');
    expect(unknown.code).toBe(2);
    expect(unknown.output).toMatch(/usage: npm run resume/);
  }, 120_000);

  it('a data directory: refused while a process holds it, then resumed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kyo-resume-'));
    dirs.push(dataDir);
    const db = await createPgliteDatabase({ dataDir: join(dataDir, 'pglite'), maintenance: false });
    await pauseSideEffects(db, 'restored from backup b-1 (restore r-1)');
    await db.close();

    // This test process stands for the running service: it holds the directory.
    const lock = lockDataDirectory(dataDir, 'running service');
    let held;
    try {
      held = await resume('--target', dataDir);
    } finally {
      lock.release();
    }
    expect(held.code).toBe(1);
    expect(held.output).toMatch(/in use by the running service \(pid \d+\)/);
    expect(held.output).toMatch(/Nothing was changed/);
    expect(await pausedIn(dataDir)).toBe(true);

    const resumed = await resume('--target', dataDir);
    expect(resumed.code, resumed.output).toBe(0);
    expect(resumed.output).toMatch(/side effects resumed .*restored from backup b-1/);
    expect(await pausedIn(dataDir)).toBe(false);
    const again = await resume('--target', dataDir);
    expect(again.code).toBe(0);
    expect(again.output).toMatch(/not paused/);

    const empty = await resume('--target', join(dataDir, 'nothing-here'));
    expect(empty.code).toBe(1);
    expect(empty.output).toMatch(/holds no embedded database/);
  }, 120_000);

  it.skipIf(!postgres.url)(
    'a PostgreSQL store by its URL',
    async () => {
      const url = await createTestDatabase(postgres.url!);
      const db = createPgDatabase({ connectionString: url });
      try {
        await pauseSideEffects(db, 'restored from backup b-2 (restore r-2)');
        const resumed = await resume('--target', url);
        expect(resumed.code, resumed.output).toBe(0);
        expect(resumed.output).toMatch(/"resumed":true/);
        expect(await readSideEffectsPause(db)).toBeUndefined();
      } finally {
        await db.close();
      }
    },
    120_000,
  );
});
