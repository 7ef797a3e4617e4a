import type { TestProject } from 'vitest/node';
import { ensureBusyboxImage } from './busybox-image.js';
import { startDocker, startPostgres, startRedis, type Service } from './local-services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    postgresSkipReason: string;
    redisUrl: string;
    redisSkipReason: string;
    dockerHost: string;
    dockerSkipReason: string;
  }
}

/** One PostgreSQL and one Redis for the whole run; each suite makes its own database or key prefix. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgres: Service = process.env.TEST_DATABASE_URL
    ? { url: process.env.TEST_DATABASE_URL, stop: async () => {} }
    : await startPostgres();
  const redis: Service = process.env.TEST_REDIS_URL ? { url: process.env.TEST_REDIS_URL, stop: async () => {} } : await startRedis();
  project.provide('postgresUrl', 'url' in postgres ? postgres.url : '');
  project.provide('postgresSkipReason', 'skipReason' in postgres ? postgres.skipReason : '');
  project.provide('redisUrl', 'url' in redis ? redis.url : '');
  project.provide('redisSkipReason', 'skipReason' in redis ? redis.skipReason : '');
  const docker = await dockerForRun();
  project.provide('dockerHost', 'url' in docker ? docker.url : '');
  project.provide('dockerSkipReason', 'skipReason' in docker ? docker.skipReason : '');
  for (const [name, service] of [
    ['PostgreSQL', postgres],
    ['Redis', redis],
    ['Docker', docker],
  ] as const) {
    if ('skipReason' in service) console.warn(`[services] ${name} suites will skip: ${service.skipReason}`);
  }
  return async () => {
    if ('stop' in postgres) await postgres.stop();
    if ('stop' in redis) await redis.stop();
    if ('stop' in docker) await docker.stop();
  };
}

/** TEST_DOCKER_HOST, or podman's Docker API started for the run; either way with the busybox image. */
async function dockerForRun(): Promise<Service> {
  const docker: Service = process.env.TEST_DOCKER_HOST ? { url: process.env.TEST_DOCKER_HOST, stop: async () => {} } : await startDocker();
  if ('skipReason' in docker) return docker;
  try {
    await ensureBusyboxImage(docker.url);
    return docker;
  } catch (error) {
    await docker.stop();
    return { skipReason: `could not make the busybox image: ${(error as Error).message}` };
  }
}
