// Per-suite access to the run's PostgreSQL, Redis and Docker API. A suite that cannot get its service skips and
// says why; CI sets REQUIRE_SERVICES so that a skip there is a failure instead.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

const required = new Set(
  (process.env.REQUIRE_SERVICES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

function availability(name: 'postgres' | 'redis' | 'docker', url: string, reason: string): { url?: string; skipReason?: string } {
  if (url) return { url };
  if (required.has(name)) throw new Error(`REQUIRE_SERVICES includes ${name} but it is unavailable: ${reason}`);
  return { skipReason: reason };
}

export const postgresService = () => availability('postgres', inject('postgresUrl'), inject('postgresSkipReason'));
export const redisService = () => availability('redis', inject('redisUrl'), inject('redisSkipReason'));
/** A Docker Engine API (podman's, for the run) with `BUSYBOX_IMAGE` loaded; its url is a DOCKER_HOST. */
export const dockerService = () => availability('docker', inject('dockerHost'), inject('dockerSkipReason'));

/** A fresh, empty database on the run's server; returns its URL. */
export async function createTestDatabase(adminUrl: string): Promise<string> {
  const name = `t_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
