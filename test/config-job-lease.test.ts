// JOB_LEASE_MS: how long a dead worker's job stays claimed on the SQL queue before it runs again. Tests that kill
// a service mid-job set it short; the default stays the 60 s the queue always had.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('JOB_LEASE_MS', () => {
  it('defaults to 60 s and takes a whole number of milliseconds from 1 s to 1 h', () => {
    expect(loadConfig({}).JOB_LEASE_MS).toBe(60_000);
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 3_600_000 }), (ms) => {
        expect(loadConfig({ JOB_LEASE_MS: String(ms) }).JOB_LEASE_MS).toBe(ms);
      }),
    );
  });

  it('refuses anything else, naming the variable', () => {
    for (const bad of ['999', '3600001', '1500.5', 'soon', '-5000']) {
      let error: unknown;
      try {
        loadConfig({ JOB_LEASE_MS: bad });
      } catch (caught) {
        error = caught;
      }
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message, bad).toMatch(/JOB_LEASE_MS/);
    }
  });
});
