import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Suites share one throwaway PostgreSQL/Redis per run (see test/support/global-setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Stopping podman (test/support/local-services.ts) removes every container of the run first.
    teardownTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only fight the database for CPU.
    maxWorkers: 2,
  },
});
