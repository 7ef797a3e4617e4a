// The backup runner on a real event store (PGlite, and PostgreSQL when available) with filesystem storage:
// what a backup holds is exactly the log's range (every field, in order), per tenant when scoped; an
// incremental continues where its parent ended and the chain reads back the whole log; the reader refuses
// an altered chunk before yielding any of its events; encryption round-trips and needs the right key.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackupChainError,
  BackupIntegrityError,
  parseBackupKey,
  readBackupEvents,
  readBackupFileChunks,
  readManifest,
  resolveBackupChain,
  loadBackup,
} from '../../../src/commands/backups/index.js';
import { manifestKey, type BackupEventRecord, type BackupManifest } from '../../../src/domain/backups/index.js';
import { comparePositions, formatPosition, parsePosition, type RecordedEvent } from '../../../src/ports/event-store.js';
import { createReadAllEventExport } from '../../../src/adapters/backups/read-all-event-export.js';
import type { BackupRunnerDeps } from '../../../src/processes/backups/backup-runner.js';
import { createBackupStack, type BackupStack } from '../../support/backup-stack.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const postgres = postgresService();

async function collect(stack: BackupStack, manifests: readonly BackupManifest[], key?: ReturnType<typeof parseBackupKey>) {
  const events: BackupEventRecord[] = [];
  for (const manifest of manifests)
    for await (const event of readBackupEvents(stack.storage, manifest, key ? { key } : {})) events.push(event);
  return events;
}

const asRecord = (event: RecordedEvent) => ({
  streamId: event.streamId,
  revision: event.revision.toString(),
  position: formatPosition(event.position),
  id: event.id,
  type: event.type,
  data: event.data,
  metadata: event.metadata,
});
const withoutTime = ({ recordedAt: _recordedAt, ...rest }: BackupEventRecord) => rest;

function suite(label: string, databaseUrl: () => Promise<string | undefined>) {
  describe(label, () => {
    let stack: BackupStack;
    beforeAll(async () => {
      const url = await databaseUrl();
      stack = await createBackupStack(url ? { databaseUrl: url } : {});
      await stack.seed('acme', 450);
      await stack.seed('globex', 130);
    });
    afterAll(async () => stack?.close());

    const upTo = (events: RecordedEvent[], manifest: BackupManifest, tenantId?: string) =>
      events.filter(
        (event) =>
          comparePositions(event.position, parsePosition(manifest.position.from)!) > 0 &&
          comparePositions(event.position, parsePosition(manifest.position.to)!) <= 0 &&
          (tenantId === undefined || event.metadata.tenantId === tenantId),
      );

    it('a full database backup holds exactly the log up to its end position, every field, in order', async () => {
      const backupId = await stack.backup('acme', { name: 'nightly', type: 'database', scope: {} });
      const manifest = (await readManifest(stack.storage, backupId))!;
      const log = await stack.readAllEvents();
      const expected = upTo(log, manifest);
      const restored = await collect(stack, [manifest]);
      expect(restored.map(withoutTime)).toEqual(expected.map(asRecord));
      restored.forEach((record, i) => expect(Date.parse(record.recordedAt)).toBe(expected[i]!.recordedAt.getTime()));
      expect(manifest.eventCount).toBe(expected.length);
      expect(manifest.chunks.length).toBe(Math.ceil(expected.length / 100));
      expect(manifest.parentBackupId).toBeNull();
      expect(manifest.position.from).toBe('0.0');
      const state = (await loadBackup({ eventStore: stack.eventStore, clock: () => new Date() }, 'acme', backupId)).state;
      expect(state.status).toBe('completed');
    });

    it('every export path cuts the same chunks: exactly chunkEvents each, in order, whatever the page size', async () => {
      const variants: Partial<BackupRunnerDeps>[] = [
        { exportPageEvents: 7 },
        { exportPageEvents: 7, parallelChunks: 1 },
        { exportPageEvents: 33, parallelChunks: 3 },
        { eventExport: createReadAllEventExport(stack.eventStore), exportPageEvents: 9 },
      ];
      for (const [variant, overrides] of variants.entries()) {
        for (const scope of [{}, { tenantId: 'globex' }]) {
          const backupId = await stack.backup('globex', { name: `paths-${variant}`, type: 'database', scope }, overrides);
          const manifest = (await readManifest(stack.storage, backupId))!;
          const expected = upTo(await stack.readAllEvents(), manifest, scope.tenantId);
          expect((await collect(stack, [manifest])).map(withoutTime)).toEqual(expected.map(asRecord));
          expect(manifest.chunks.map((chunk) => [chunk.events, chunk.firstPosition, chunk.lastPosition])).toEqual(
            Array.from({ length: Math.ceil(expected.length / 100) }, (_, i) => {
              const part = expected.slice(i * 100, i * 100 + 100);
              return [part.length, formatPosition(part[0]!.position), formatPosition(part.at(-1)!.position)];
            }),
          );
        }
      }
    });

    it("a tenant's backup holds only that tenant's events", async () => {
      const backupId = await stack.backup('globex', { name: 'mine', type: 'database', scope: { tenantId: 'globex' } });
      const manifest = (await readManifest(stack.storage, backupId))!;
      const restored = await collect(stack, [manifest]);
      expect(restored.length).toBeGreaterThanOrEqual(130);
      expect(new Set(restored.map((event) => event.metadata.tenantId))).toEqual(new Set(['globex']));
      expect(restored.map(withoutTime)).toEqual(upTo(await stack.readAllEvents(), manifest, 'globex').map(asRecord));
    });

    it('an incremental continues its parent; the chain reads back the whole log; a missing parent is a clear error', async () => {
      const full = await stack.backup('acme', { name: 'base', type: 'database', scope: { tenantId: 'acme' } });
      await stack.seed('acme', 70);
      const inc1 = await stack.backup('acme', { name: 'inc', type: 'database', scope: { tenantId: 'acme' }, incremental: true });
      await stack.seed('acme', 30);
      const inc2 = await stack.backup('acme', { name: 'inc', type: 'database', scope: { tenantId: 'acme' }, incremental: true });
      const chain = await resolveBackupChain(stack.storage, inc2);
      expect(chain.map((m) => m.backupId)).toEqual([full, inc1, inc2]);
      expect(chain[1]!.position.from).toBe(chain[0]!.position.to);
      expect(chain[1]!.eventCount).toBeGreaterThanOrEqual(70);
      const restored = await collect(stack, chain);
      expect(restored.map(withoutTime)).toEqual(
        upTo(await stack.readAllEvents(), { ...chain[2]!, position: { from: '0.0', to: chain[2]!.position.to } }, 'acme').map(asRecord),
      );

      await stack.storage.delete(manifestKey(inc1));
      const error = await resolveBackupChain(stack.storage, inc2).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackupChainError);
      expect((error as BackupChainError).reason).toBe('missing_parent');
      expect((error as Error).message).toContain(inc1);
    });

    it('an altered chunk is refused before any of its events is read', async () => {
      const backupId = await stack.backup('acme', { name: 'tamper', type: 'database', scope: { tenantId: 'acme' } });
      const manifest = (await readManifest(stack.storage, backupId))!;
      const victim = manifest.chunks[1]!;
      const path = join(stack.dataDir, 'backups', backupId, victim.name);
      const bytes = await readFile(path);
      bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
      await writeFile(path, bytes);
      const seen: BackupEventRecord[] = [];
      const error = await (async () => {
        for await (const event of readBackupEvents(stack.storage, manifest)) seen.push(event);
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackupIntegrityError);
      expect((error as Error).message).toContain('sha256');
      expect(seen.length).toBe(manifest.chunks[0]!.events); // the first chunk only
    });

    it('encrypted chunks round-trip with the key and are refused without it or with another', async () => {
      const key = parseBackupKey(randomBytes(32).toString('hex'));
      const backupId = await stack.backup('globex', { name: 'secret', type: 'database', scope: { tenantId: 'globex' } }, { key });
      const manifest = (await readManifest(stack.storage, backupId))!;
      expect(manifest.encryption).toEqual({ algorithm: 'aes-256-gcm', keyId: key.keyId });
      const stored = await readFile(join(stack.dataDir, 'backups', backupId, manifest.chunks[0]!.name));
      expect(stored.includes(Buffer.from('Seeded'))).toBe(false);
      expect((await collect(stack, [manifest], key)).length).toBe(manifest.eventCount);
      await expect(collect(stack, [manifest])).rejects.toThrow(/BACKUP_ENCRYPTION_KEY/);
      await expect(collect(stack, [manifest], parseBackupKey(randomBytes(32).toString('base64')))).rejects.toThrow(
        /not with the configured key/,
      );
    });

    it('a files backup holds the files of the data directory, not the database nor the backups', async () => {
      await mkdir(join(stack.dataDir, 'blobs', 'x'), { recursive: true });
      const big = randomBytes(2.5 * 1024 * 1024);
      await writeFile(join(stack.dataDir, 'blobs', 'x', 'big.bin'), big);
      await writeFile(join(stack.dataDir, 'blobs', 'empty'), '');
      const backupId = await stack.backup('acme', { name: 'files', type: 'files', scope: {} });
      const manifest = (await readManifest(stack.storage, backupId))!;
      const files = new Map<string, Buffer[]>();
      for await (const { records } of readBackupFileChunks(stack.storage, manifest))
        for (const record of records) files.set(record.path, [...(files.get(record.path) ?? []), Buffer.from(record.data, 'base64')]);
      expect([...files.keys()].sort()).toEqual(['blobs/empty', 'blobs/x/big.bin']);
      expect(Buffer.concat(files.get('blobs/x/big.bin')!).equals(big)).toBe(true);
      expect(manifest.chunks.length).toBeGreaterThan(1);
    });

    it('key material (the key-encryption key, the bootstrap key) goes only into an encrypted files backup; chunks are 0600 (#15.9)', async () => {
      await writeFile(join(stack.dataDir, 'secrets-key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
      await writeFile(join(stack.dataDir, 'bootstrap-api-key'), 'kyo_000000000000_secret\n', { mode: 0o600 });
      await writeFile(join(stack.dataDir, 'notes.txt'), 'kept');
      const pathsOf = async (backupId: string, key?: ReturnType<typeof parseBackupKey>) => {
        const manifest = (await readManifest(stack.storage, backupId))!;
        const paths = new Set<string>();
        for await (const { records } of readBackupFileChunks(stack.storage, manifest, key ? { key } : {}))
          for (const record of records) paths.add(record.path);
        return { manifest, paths };
      };
      // In the clear: left out by default.
      const plain = await pathsOf(await stack.backup('acme', { name: 'files', type: 'files', scope: {} }));
      expect(plain.paths.has('notes.txt')).toBe(true);
      expect(plain.paths.has('secrets-key')).toBe(false);
      expect(plain.paths.has('bootstrap-api-key')).toBe(false);
      for (const chunk of plain.manifest.chunks) {
        const raw = await readFile(join(stack.dataDir, 'backups', plain.manifest.backupId, chunk.name));
        expect(raw.includes(Buffer.from('kyo_000000000000_secret'))).toBe(false);
      }
      // Encrypted with a key that is not in the data directory: included, so a restore brings them back.
      const key = parseBackupKey(randomBytes(32).toString('hex'));
      const sealed = await pathsOf(await stack.backup('acme', { name: 'files', type: 'files', scope: {} }, { key }), key);
      expect(sealed.paths.has('secrets-key')).toBe(true);
      expect(sealed.paths.has('bootstrap-api-key')).toBe(true);
      // Whoever holds the backup storage reads nothing of it: owner-only files.
      for (const backupId of [plain.manifest.backupId, sealed.manifest.backupId])
        for (const name of await readdir(join(stack.dataDir, 'backups', backupId)))
          expect((await stat(join(stack.dataDir, 'backups', backupId, name))).mode & 0o777, name).toBe(0o600);
    });
  });
}

suite('PGlite', async () => undefined);
describe.skipIf(!postgres.url)('PostgreSQL', () => suite('backups', () => createTestDatabase(postgres.url!)));
