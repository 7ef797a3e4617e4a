// Process entry: read the configuration, start the service, stop it cleanly on SIGTERM/SIGINT.
import { pino } from 'pino';
import { DataDirectoryHeldError, lockDataDirectory } from './adapters/sql/data-directory-lock.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startService } from './service.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) console.error(`configuration: ${problem.variable} ${problem.message}`);
    process.exit(2);
  }
  throw error;
}

// The embedded database belongs to this process while it runs; `keys:create` and a second start are refused
// instead of writing where this process never looks. Released on every exit but SIGKILL (then the next
// start sees a dead pid and takes over).
if (!config.DATABASE_URL) {
  try {
    const lock = lockDataDirectory(config.dataDir, 'running service');
    process.once('exit', () => lock.release());
  } catch (error) {
    if (error instanceof DataDirectoryHeldError) {
      console.error(`${error.message}. Stop it first, or set DATA_DIR to another directory.`);
      process.exit(1);
    }
    throw error;
  }
}

const logger = pino({ level: config.LOG_LEVEL, redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] });
const service = await startService(config, logger);
if (config.SERVICE_ROLE === 'workers') logger.info({ mode: service.mode }, 'kyo platform job workers running');
else
  logger.info(
    { address: await service.http.listen({ port: config.PORT, host: config.HOST }), mode: service.mode },
    'kyo platform listening',
  );

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: draining requests, stopping subscriptions');
  const timer = setTimeout(() => {
    logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  try {
    await service.close();
    logger.info('stopped');
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
