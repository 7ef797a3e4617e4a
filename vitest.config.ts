import { defineConfig } from 'vitest/config';
import { SlowestFirstSequencer } from './test/support/slowest-first.js';

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
    // Longest files first (recorded in test/durations.json), so the run does not end with one long file alone.
    sequence: { sequencer: SlowestFirstSequencer },
  },
});
