// `npm run restore -- --from <dir | s3://bucket/prefix> --backup <id> --target <postgres://… | DATA_DIR>
//                    [--to-position <commit.prepare> | --to-time <ISO time>]`
// A disaster restore for when the service cannot start: the backup's chain (full + incrementals) is read
// chunk by chunk, each verified against its sha256, and bulk-loaded into an EMPTY store — another PostgreSQL
// database, or a new data directory for the embedded store. All or nothing: on any error the target is
// left empty; killed half-way, it keeps a marker that a service started on it refuses (run this again).
// First the key-encryption key is checked against every sealed secret of the log (the backup's own
// secrets-key, only ever in an encrypted backup, else SECRETS_KEY): refused before anything is written.
// Into a data directory, the files part of a files/full backup comes back too; a full backup's api keys
// (hashes) come back with the log. The restored store starts with side effects paused
// (POST /v1/admin/side-effects/resume, or `npm run resume`, once it should act).
// Exit codes: 0 restored, 1 refused or failed (the reason on stderr), 2 usage.
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { createFilesystemBackupStorage } from '../adapters/backups/filesystem-backup-storage.js';
import { sqlRestoreTarget } from '../adapters/event-store/bulk-restore.js';
import { dataDirectoryFiles } from '../adapters/event-store/data-directory-files.js';
import { DataDirectoryHeldError, lockDataDirectory, type DataDirectoryLock } from '../adapters/sql/data-directory-lock.js';
import { createPgDatabase } from '../adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../adapters/sql/pglite-database.js';
import { parseBackupKey, resolveBackupChain } from '../commands/backups/index.js';
import { restoreBackup } from '../commands/restores/restore-backup.js';
import { loadConfig } from '../config.js';
import type { BackupStorage } from '../ports/backup-storage.js';
import { formatPosition, parsePosition } from '../ports/event-store.js';
import type { RestoreTarget } from '../ports/restore-target.js';
import { checkSecretsKey } from './restore-files.js';
import { openS3Storage } from './restore-storage.js';

const USAGE =
  'usage: npm run restore -- --from <backup directory | s3://bucket/prefix> --backup <backupId> ' +
  '--target <postgres://… | data directory> [--to-position <commit.prepare> | --to-time <ISO 8601 time>]';

function usage(problem: string): never {
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    backup: { type: 'string' },
    target: { type: 'string' },
    'to-position': { type: 'string' },
    'to-time': { type: 'string' },
  },
});
if (!values.from) usage('--from is required');
if (!values.backup) usage('--backup is required');
if (!values.target) usage('--target is required');
if (values['to-position'] && values['to-time']) usage('give --to-position or --to-time, not both');
const toPosition = values['to-position'] ? parsePosition(values['to-position']) : undefined;
if (values['to-position'] && !toPosition) usage(`--to-position must be <commit>.<prepare>, e.g. 1234.56 (got ${values['to-position']})`);
const toTime = values['to-time'] ? new Date(values['to-time']) : undefined;
if (toTime && Number.isNaN(toTime.getTime())) usage(`--to-time must be an ISO 8601 time (got ${values['to-time']})`);

const config = loadConfig();
const storage: BackupStorage = values.from.startsWith('s3://')
  ? openS3Storage(values.from, config)
  : createFilesystemBackupStorage(resolve(values.from));

let lock: DataDirectoryLock | undefined;
let target: RestoreTarget;
if (/^postgres(ql)?:\/\//.test(values.target)) {
  const url = new URL(values.target);
  url.password = url.password ? '***' : '';
  target = sqlRestoreTarget(
    createPgDatabase({
      connectionString: values.target,
      maxConnections: 2,
      applicationName: 'kyo-restore',
      connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    }),
    url.toString(),
  );
} else {
  const dataDir = resolve(values.target);
  try {
    lock = lockDataDirectory(dataDir, 'restore command');
  } catch (error) {
    if (!(error instanceof DataDirectoryHeldError)) throw error;
    console.error(`${error.message}. Stop it, or restore into a new data directory.`);
    process.exit(1);
  }
  target = sqlRestoreTarget(
    await createPgliteDatabase({ dataDir: join(dataDir, 'pglite'), maintenance: false }),
    dataDir,
    dataDirectoryFiles(dataDir),
  );
}

const bar = new cliProgress.SingleBar(
  {
    format: 'restoring {bar} {percentage}% | {value}/{total} events | {rate} events/s | position {position}',
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 1000,
    hideCursor: true,
  },
  cliProgress.Presets.shades_classic,
);
const started = Date.now();
let exitCode = 0;
const key = config.BACKUP_ENCRYPTION_KEY ? parseBackupKey(config.BACKUP_ENCRYPTION_KEY) : undefined;
try {
  console.error(`restoring backup ${values.backup} from ${values.from} into ${target.description}`);
  const chain = await resolveBackupChain(storage, values.backup);
  const range = { ...(toPosition ? { toPosition } : {}), ...(toTime ? { toTime } : {}) };
  const keySource = await checkSecretsKey(storage, chain, key, range, {
    secretsKey: config.SECRETS_KEY,
    previousKeys: config.SECRETS_KEY_PREVIOUS,
  });
  console.error(`sealed secrets: ${keySource === 'none needed' ? 'none' : `open with the key from ${keySource}`}`);
  const result = await restoreBackup(
    { storage, ...(key ? { key } : {}), clock: () => new Date() },
    target,
    { restoreId: randomUUID(), backupId: values.backup, ...(toPosition ? { toPosition } : {}), ...(toTime ? { toTime } : {}) },
    ({ events, totalEvents, lastPosition }) => {
      const rate = Math.round(events / Math.max(0.001, (Date.now() - started) / 1000));
      const payload = { rate, position: lastPosition ? formatPosition(lastPosition) : '-' };
      if (events === 0) bar.start(totalEvents, 0, payload);
      else bar.update(events, payload);
    },
  );
  bar.stop();
  const seconds = (Date.now() - started) / 1000;
  console.error(
    `restored ${result.events} events in ${result.streams} streams from ${result.chain.join(' → ')} in ${seconds.toFixed(1)} s` +
      (result.lastPosition ? `; last position ${formatPosition(result.lastPosition)}` : ''),
  );
  if (result.files.length > 0) console.error(`restored ${result.files.length} files into ${target.description}`);
  if (result.apiKeys !== undefined) console.error(`restored ${result.apiKeys} api keys (hashes; revoked ones stay revoked)`);
  for (const { part, reason } of result.parts.notRestored) console.error(`not restored: ${part}: ${reason}`);
  console.error(
    'side effects are paused on the restored store: start the service on it, check it, then POST /v1/admin/side-effects/resume ' +
      '(or npm run resume -- --target <the same target> with the service stopped)',
  );
  console.log(
    JSON.stringify({
      events: result.events,
      streams: result.streams,
      lastPosition: result.lastPosition && formatPosition(result.lastPosition),
      apiKeys: result.apiKeys ?? 0,
      restored: result.parts.restored,
      notRestored: result.parts.notRestored,
    }),
  );
} catch (error) {
  bar.stop();
  console.error(`restore failed: ${(error as Error).message}`);
  console.error('nothing was restored: the target is as it was.');
  exitCode = 1;
} finally {
  await target.close();
  lock?.release();
}
process.exit(exitCode);
