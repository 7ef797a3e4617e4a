// `npm run resume -- --target <postgres://… | DATA_DIR>`
// Resumes the side effects of a restored store without a platform key at hand: clears the pause that a
// restore commits with the log (adapters/event-store/side-effects-pause.ts). Instances running on a
// PostgreSQL store notice within SIDE_EFFECTS_PAUSE_CHECK_MS and start their gated parts. A data directory
// serves one process, so it is refused while a service holds it (then resume through that service:
// POST /v1/admin/side-effects/resume). A store whose restore has not finished is refused too.
// Exit codes: 0 resumed (or was not paused), 1 refused or failed (the reason on stderr), 2 usage.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readRestoreMarker } from '../adapters/event-store/restore-marker.js';
import { clearSideEffectsPause, readSideEffectsPause } from '../adapters/event-store/side-effects-pause.js';
import { DataDirectoryHeldError, lockDataDirectory, type DataDirectoryLock } from '../adapters/sql/data-directory-lock.js';
import { createPgDatabase } from '../adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../adapters/sql/pglite-database.js';
import { loadConfig } from '../config.js';
import type { SqlDatabase } from '../ports/sql-database.js';

const USAGE = 'usage: npm run resume -- --target <postgres://… | data directory>';

function usage(problem: string): never {
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}

let target: string | undefined;
try {
  target = parseArgs({ options: { target: { type: 'string' } } }).values.target;
} catch (error) {
  usage((error as Error).message);
}
if (!target) usage('--target is required');

const config = loadConfig();
const isUrl = /^postgres(ql)?:\/\//.test(target);
let lock: DataDirectoryLock | undefined;
let db: SqlDatabase;
if (isUrl) {
  db = createPgDatabase({
    connectionString: target,
    maxConnections: 1,
    applicationName: 'kyo-resume',
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
  });
} else {
  const dataDir = resolve(target);
  if (!existsSync(join(dataDir, 'pglite'))) {
    console.error(`${dataDir} holds no embedded database (no pglite directory): nothing to resume`);
    process.exit(1);
  }
  try {
    lock = lockDataDirectory(dataDir, 'resume command');
  } catch (error) {
    if (!(error instanceof DataDirectoryHeldError)) throw error;
    console.error(`${error.message}.`);
    console.error(
      'Nothing was changed. Resume through that service (POST /v1/admin/side-effects/resume with a platform key), or stop it and run this again.',
    );
    process.exit(1);
  }
  db = await createPgliteDatabase({ dataDir: join(dataDir, 'pglite'), maintenance: false });
}

let exitCode = 0;
try {
  const marker = await readRestoreMarker(db);
  if (marker) {
    console.error(
      `restore ${marker.restoreId} (backup ${marker.backupId}) into this store has not finished: run it again before resuming. Nothing was changed.`,
    );
    exitCode = 1;
  } else {
    const pause = await readSideEffectsPause(db);
    if (!pause) console.error('side effects are not paused on this store: nothing to do');
    else {
      await clearSideEffectsPause(db);
      console.error(`side effects resumed (they were paused since ${pause.since.toISOString()}: ${pause.reason})`);
      if (isUrl)
        console.error(`instances running on it start theirs within SIDE_EFFECTS_PAUSE_CHECK_MS (${config.SIDE_EFFECTS_PAUSE_CHECK_MS} ms)`);
    }
    console.log(JSON.stringify({ resumed: pause !== undefined, ...(pause ? { reason: pause.reason } : {}) }));
  }
} catch (error) {
  // Only the message: a connection error is worded without host or port (DatabaseConnectionError).
  console.error(`resume failed: ${(error as Error).message}. Nothing was changed.`);
  exitCode = 1;
} finally {
  await db.close().catch(() => undefined);
  lock?.release();
}
process.exit(exitCode);
