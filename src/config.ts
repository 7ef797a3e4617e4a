// One configuration, read once from the environment and validated with zod. With nothing set the service
// runs embedded (PGlite under DATA_DIR, in-process queue, in-memory cache); each URL switches one part to
// the real server.
import { resolve } from 'node:path';
import { z } from 'zod';

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);
const optionalUrl = (protocols: readonly string[]) =>
  z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .refine((text) => protocols.some((p) => text.startsWith(`${p}://`)), {
        message: `must be a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
      })
      .optional(),
  );
const integer = (min: number, max: number, fallback: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(min).max(max).default(fallback));

/** A key-encryption key: 32 bytes as 64 hex digits or as base64. */
const isKey = (text: string) =>
  /^[0-9a-fA-F]{64}$/.test(text.trim()) || (/^[A-Za-z0-9+/]{43}=$/.test(text.trim()) && Buffer.from(text.trim(), 'base64').length === 32);
const KEY_MESSAGE = { message: 'must be 32 bytes as 64 hex digits or base64' };

const environmentSchema = z.object({
  PORT: integer(0, 65535, 3000),
  HOST: z.preprocess(emptyAsUndefined, z.string().default('0.0.0.0')),
  DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default('./data')),
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  DATABASE_URL: optionalUrl(['postgres', 'postgresql']),
  DATABASE_POOL_SIZE: integer(1, 500, 20),
  /** How long a PostgreSQL connection attempt may take before it fails (every pool and client the service opens). */
  DATABASE_CONNECT_TIMEOUT_MS: integer(100, 120_000, 5_000),
  REDIS_URL: optionalUrl(['redis', 'rediss']),
  EVENTSTORE_CONNECTION_STRING: optionalUrl(['esdb', 'esdb+discover']),
  /** HS256 secret for JWTs (at least 32 characters); without it only API keys authenticate. */
  JWT_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
  JWT_ISSUER: z.preprocess(emptyAsUndefined, z.string().optional()),
  JWT_AUDIENCE: z.preprocess(emptyAsUndefined, z.string().optional()),
  /** Tenant of the admin key created on the first start of an empty database. */
  BOOTSTRAP_TENANT: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes')
      .default('default'),
  ),
  BODY_LIMIT_BYTES: integer(1024, 64 * 1024 * 1024, 1024 * 1024),
  RATE_LIMIT_PER_MINUTE: integer(1, 10_000_000, 6000),
  /** Upper bound for a query's wait on `minPosition` (read-your-writes). */
  READ_YOUR_WRITES_TIMEOUT_MS: integer(0, 60_000, 5000),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000, 10_000),
  /** `/ready` reports `degraded` once the oldest open transaction on the database server is older than this. */
  HORIZON_DEGRADED_SECONDS: integer(0, 86_400, 30),
  PROJECTION_BATCH_SIZE: integer(1, 100_000, 1000),
  /** PostgreSQL event store: append calls at once; appends beyond wait and commit together as a group. */
  APPENDS_IN_FLIGHT: integer(1, 256, 2),
  /** How often subscriptions and job workers look for work nobody announced: on the embedded store every
   * write is this process's own and wakes them; on PostgreSQL other processes announce theirs with
   * LISTEN/NOTIFY, and the fast poll (100 ms, 250 ms) only runs while that connection is down. */
  SAFETY_POLL_MS: integer(1_000, 3_600_000, 30_000),
  /** Embedded PGlite: its buffer cache in MiB (PostgreSQL's own default is 128; PGlite's memory is resident). */
  PGLITE_SHARED_BUFFERS_MB: integer(1, 4096, 16),
  /** Bytes the in-process read cache may hold (used when REDIS_URL is not set). */
  CACHE_MAX_BYTES: integer(64 * 1024, 64 * 1024 * 1024 * 1024, 32 * 1024 * 1024),
  /** Templates a tenant may have (all statuses). */
  /** Prefix of every Redis key (queue and cache), so environments can share one Redis. */
  REDIS_KEY_PREFIX: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _ . : - (1–64)')
      .default('kyo'),
  ),
  TEMPLATE_MAX_PER_TENANT: integer(1, 10_000_000, 10_000),
  /** Usage count from which a template counts as popular (search `popularOnly=true`). */
  TEMPLATE_POPULAR_THRESHOLD: integer(1, 1_000_000_000, 10),
  /** Template commands a tenant may send per minute (on top of RATE_LIMIT_PER_MINUTE for all requests). */
  TEMPLATE_OPS_PER_MINUTE: integer(1, 10_000_000, 1200),
  /** Items one batch may hold (POST /v1/batches). */
  BATCH_MAX_ITEMS: integer(1, 1_000_000, 100_000),
  /** Batches a tenant may start per minute. */
  BATCH_MAX_PER_MINUTE: integer(1, 1_000_000, 60),
  /** `all`: one process does everything; `api`: HTTP, projections and process managers, no job workers;
   * `workers`: only the job workers (no HTTP listener, projections or process managers), to scale them out. */
  SERVICE_ROLE: z.preprocess(emptyAsUndefined, z.enum(['all', 'api', 'workers']).default('all')),
  /** With Redis: how often unfinished batches get back jobs Redis lost (batch-requeue.ts). */
  BATCH_REQUEUE_INTERVAL_MS: integer(100, 3_600_000, 10_000),
  /** How often each running deployment is compared with what the orchestrator runs (drift check). */
  DEPLOYMENT_DRIFT_INTERVAL_MS: integer(100, 86_400_000, 30_000),
  /** A rollout whose services are not all healthy this long after it started fails (deployment default). */
  DEPLOYMENT_PROGRESS_DEADLINE_SECONDS: integer(1, 86_400, 300),
  /** How often the health gate asks the orchestrator again. */
  DEPLOYMENT_POLL_MS: integer(10, 60_000, 500),
  /** While side effects are paused (a restored store): how often an instance looks whether another resumed them. */
  SIDE_EFFECTS_PAUSE_CHECK_MS: integer(100, 600_000, 5000),
  /** How long the health gate sees every instance ready without a crash before a rollout passes it. */
  DEPLOYMENT_MIN_READY_MS: integer(0, 600_000, 2000),
  /** Key-encryption key of secrets: 32 bytes as base64 or 64 hex digits. Unset: generated into DATA_DIR/secrets-key (0600). */
  SECRETS_KEY: z.preprocess(emptyAsUndefined, z.string().refine(isKey, KEY_MESSAGE).optional()),
  /** Earlier key-encryption keys, comma-separated, still accepted to unwrap until every secret is re-wrapped. */
  SECRETS_KEY_PREVIOUS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .refine((text) => text.split(',').every((key) => isKey(key.trim())), KEY_MESSAGE)
      .optional(),
  ),
  /** Docker Engine API the Docker orchestrator drives (`unix:///var/run/docker.sock`, `tcp://host:2375`); unset: no Docker. */
  DOCKER_HOST: optionalUrl(['unix', 'tcp']),
  /** Path of a kubeconfig file for the Kubernetes orchestrator (its current context); unset: no Kubernetes. */
  KUBECONFIG: z.preprocess(emptyAsUndefined, z.string().optional()),
  /** Backups of one tenant running at once (across instances, SQL queue); the rest wait and tenants take turns. */
  BACKUP_JOBS_PER_TENANT: integer(1, 1000, 1),
  /** Long jobs of one tenant running at once per kind (restores, drills, batch chunks), across instances;
   * the rest wait (queued) and tenants take turns. Backups have BACKUP_JOBS_PER_TENANT. */
  LONG_JOBS_PER_TENANT: integer(1, 1000, 1),
  /** Long jobs (restores, drills, backups, batch chunks) one instance runs at once, every kind together. */
  LONG_JOBS_TOTAL: integer(1, 1000, 4),
  /** The most aggregates one tenant-restore dry run folds and plans (it answers synchronously); beyond, a 422
   * asks to narrow it with types or ids. The restore itself runs as a job and has no such bound. */
  TENANT_RESTORE_DRY_RUN_MAX: integer(1, 100_000, 1000),
  /** SQL job queue: a claimed job whose lease is not renewed within this (its worker died) runs again. */
  JOB_LEASE_MS: integer(1_000, 3_600_000, 60_000),
  /** Times in a row one event may fail in a process manager before it is parked (/v1/admin/parked) and the rest go on. */
  PROCESS_PARK_AFTER: integer(1, 100, 5),
  /** The shortest gap between two runs of one backup policy's schedule (a per-second cron is refused). */
  BACKUP_POLICY_MIN_INTERVAL_SECONDS: integer(1, 31 * 86_400, 300),
  /** Backups: AES-256-GCM key for the chunks (64 hex digits or base64 of 32 bytes); unset: not encrypted. */
  BACKUP_ENCRYPTION_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .refine((text) => /^[0-9a-fA-F]{64}$/.test(text) || Buffer.from(text, 'base64').length === 32, {
        message: 'must be 64 hex digits or the base64 of 32 bytes',
      })
      .optional(),
  ),
  /** Backups go to this S3 bucket when set, else to DATA_DIR/backups. */
  S3_BUCKET: z.preprocess(emptyAsUndefined, z.string().optional()),
  S3_PREFIX: z.preprocess(emptyAsUndefined, z.string().default('')),
  /** An S3-compatible endpoint (MinIO, s3rver); unset: AWS. */
  S3_ENDPOINT: optionalUrl(['http', 'https']),
  S3_REGION: z.preprocess(emptyAsUndefined, z.string().default('us-east-1')),
  S3_ACCESS_KEY_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
  S3_SECRET_ACCESS_KEY: z.preprocess(emptyAsUndefined, z.string().optional()),
  /** Path-style addressing (bucket in the path), as MinIO and s3rver need. */
  S3_FORCE_PATH_STYLE: z.preprocess(emptyAsUndefined, z.enum(['true', 'false']).default('false')),
  /** Server-side encryption of uploaded objects: none, AES256 (S3-managed keys) or aws:kms. */
  S3_SERVER_SIDE_ENCRYPTION: z.preprocess(emptyAsUndefined, z.enum(['none', 'AES256', 'aws:kms']).default('none')),
  S3_SSE_KMS_KEY_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
  /** Events per backup chunk. */
  BACKUP_CHUNK_EVENTS: integer(100, 1_000_000, 50_000),
});

export type Environment = z.infer<typeof environmentSchema>;

export interface Config extends Environment {
  readonly dataDir: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly { variable: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '?'), message: issue.message })));
  }
  return { ...parsed.data, dataDir: resolve(parsed.data.DATA_DIR) };
}
