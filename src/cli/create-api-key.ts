// `npm run keys:create -- --tenant acme --user alice --permissions admin[,templates:write…] [--name ci]`
// Creates an API key directly in the database and prints it once. With the embedded database it runs only
// while the service is stopped (PGlite serves one process) and says so otherwise; with a running service,
// POST /v1/api-keys does the same.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createApiKeyStore } from '../adapters/auth/api-key-store.js';
import { DataDirectoryHeldError, lockDataDirectory, type DataDirectoryLock } from '../adapters/sql/data-directory-lock.js';
import { createPgDatabase } from '../adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../adapters/sql/pglite-database.js';
import { loadConfig } from '../config.js';
import { TENANT_ID_PATTERN, permissionProblem } from '../domain/principal.js';

const { values } = parseArgs({
  options: {
    tenant: { type: 'string' },
    user: { type: 'string' },
    permissions: { type: 'string', default: 'admin' },
    name: { type: 'string', default: 'cli' },
  },
});

if (!values.tenant || !TENANT_ID_PATTERN.test(values.tenant) || !values.user) {
  console.error(
    'usage: npm run keys:create -- --tenant <lowercase-id> --user <user-id> [--permissions admin,templates:write] [--name label]',
  );
  process.exit(2);
}

const permissions = values.permissions
  .split(',')
  .map((p) => p.trim())
  .filter(Boolean);
const problems = permissions.map(permissionProblem).filter((problem) => problem !== undefined);
if (permissions.length === 0 || problems.length > 0) {
  console.error(`invalid permissions: ${problems.join('; ') || '(none given)'}`);
  process.exit(2);
}

const config = loadConfig();
let lock: DataDirectoryLock | undefined;
if (!config.DATABASE_URL) {
  try {
    lock = lockDataDirectory(config.dataDir, 'keys:create command');
  } catch (error) {
    if (!(error instanceof DataDirectoryHeldError)) throw error;
    console.error(`${error.message}.`);
    console.error('No key was created. Create it through the running service (POST /v1/api-keys with an admin key, e.g. the one in');
    console.error(`${join(config.dataDir, 'bootstrap-api-key')}), or stop the service and run this command again.`);
    process.exit(1);
  }
}
const db = config.DATABASE_URL
  ? createPgDatabase({ connectionString: config.DATABASE_URL, connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS })
  : await createPgliteDatabase({ dataDir: join(config.dataDir, 'pglite') });
try {
  const store = createApiKeyStore(db);
  await store.migrate();
  const { keyId, apiKey } = await store.create({ tenantId: values.tenant, userId: values.user, name: values.name, permissions });
  console.error(`created key ${keyId} for ${values.user}@${values.tenant} with ${permissions.join(', ')}`);
  console.log(apiKey);
} finally {
  await db.close();
  lock?.release();
}
