import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
  optional?: boolean;
}

const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockEntry> };

describe('declared Node engine', () => {
  // `npm ci` warns EBADENGINE for any installed package whose own engines exclude the Node we declare:
  // the oldest Node our `engines` admits must satisfy every package in the lock file.
  it('every locked package supports the oldest Node that package.json admits', () => {
    const oldest = semver.minVersion(packageJson.engines.node);
    expect(oldest).not.toBeNull();
    const unsupported = Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .flatMap(([path, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        if (!range || semver.satisfies(oldest!, range, { includePrerelease: true })) return [];
        return [`${path.replace(/^.*node_modules\//, '')}@${entry.version} needs node ${range}`];
      });
    expect(unsupported).toEqual([]);
  });
});
