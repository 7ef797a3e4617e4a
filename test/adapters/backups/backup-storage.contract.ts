// One contract for every backup storage adapter: objects round-trip byte for byte (buffers and streams,
// large ones too), a put replaces, listing is by prefix with keys as given, a missing object is its own
// error, delete is idempotent, and a put whose body fails midway leaves nothing under the key.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAll } from '../../../src/commands/backups/index.js';
import { BackupObjectNotFoundError, type BackupStorage } from '../../../src/ports/backup-storage.js';

export function backupStorageContract(label: string, make: () => Promise<{ storage: BackupStorage; cleanup: () => Promise<void> }>) {
  describe(`backup storage contract: ${label}`, () => {
    let storage: BackupStorage;
    let cleanup: () => Promise<void>;
    beforeAll(async () => ({ storage, cleanup } = await make()));
    afterAll(async () => cleanup?.());

    const read = async (key: string) => readAll(await storage.get(key));

    it('stores and returns bytes exactly, from a buffer and from a stream, large ones in parts', async () => {
      const small = randomBytes(1000);
      const large = randomBytes(12 * 1024 * 1024 + 17);
      await storage.put('a/small.bin', small);
      const put = await storage.put(
        'a/large.bin',
        Readable.from(
          (function* () {
            for (let at = 0; at < large.length; at += 1024 * 1024) yield large.subarray(at, at + 1024 * 1024);
          })(),
        ),
      );
      expect(put.bytes).toBe(large.length);
      expect((await read('a/small.bin')).equals(small)).toBe(true);
      expect((await read('a/large.bin')).equals(large)).toBe(true);
      expect(storage.location('a/small.bin')).toContain('a/small.bin');
    });

    it('a put replaces the object; exists and delete follow it; a missing object is BackupObjectNotFoundError', async () => {
      await storage.put('b/x', Buffer.from('one'));
      await storage.put('b/x', Buffer.from('two'));
      expect((await read('b/x')).toString()).toBe('two');
      expect(await storage.exists('b/x')).toBe(true);
      await storage.delete('b/x');
      await storage.delete('b/x');
      expect(await storage.exists('b/x')).toBe(false);
      await expect(storage.get('b/x')).rejects.toBeInstanceOf(BackupObjectNotFoundError);
      await expect(storage.get('never/there')).rejects.toBeInstanceOf(BackupObjectNotFoundError);
    });

    it('lists by prefix, with the keys as they were put and their sizes', async () => {
      await storage.put('c1/one', Buffer.alloc(3));
      await storage.put('c1/deep/two', Buffer.alloc(5));
      await storage.put('c2/three', Buffer.alloc(7));
      const listed = [];
      for await (const object of storage.list('c1/')) listed.push(object);
      expect(listed.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
        { key: 'c1/deep/two', bytes: 5 },
        { key: 'c1/one', bytes: 3 },
      ]);
      const all = [];
      for await (const object of storage.list('')) all.push(object.key);
      expect(all).toContain('c2/three');
    });

    it('a put whose body fails midway leaves nothing under the key', async () => {
      const failing = Readable.from(
        (async function* () {
          yield randomBytes(6 * 1024 * 1024);
          yield randomBytes(1024);
          throw new Error('source broke');
        })(),
      );
      await expect(storage.put('d/broken', failing)).rejects.toThrow();
      expect(await storage.exists('d/broken')).toBe(false);
      const listed = [];
      for await (const object of storage.list('d/')) listed.push(object.key);
      expect(listed).toEqual([]);
    });
  });
}
