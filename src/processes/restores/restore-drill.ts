// A restore drill proves a backup by restoring it: the backup's chain is restored into a scratch store,
// every read model is rebuilt there from the restored log, and compared with the read models built from
// the LIVE log up to the same position (the backup's last one), table by table and tenant by tenant.
//
// Why not compare with the live read models themselves: they are usually ahead of the backup (events
// arrived since), and a read model keeps no history to roll back to a position. Building the live side from
// the live log, cut at the backup's position, with the same projector code, gives the live read models AS
// OF that position exactly — so any difference is the backup's (a lost, altered or reordered event), not
// timing. Both sides are built in the scratch database, which is dropped afterwards; nothing live is
// written but the drill's events.
import type { Kysely } from 'kysely';
import { resolveBackupChain, type BackupKey } from '../../commands/backups/index.js';
import { chainEvents } from '../../commands/restores/restore-backup.js';
import type { BackupStorage } from '../../ports/backup-storage.js';
import {
  START,
  comparePositions,
  formatPosition,
  parsePosition,
  streamCategory,
  type AllFilter,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../../ports/event-store.js';
import type { ScratchStore, ScratchStores } from '../../ports/scratch-store.js';
import { compareChecksums, readModelChecksums, type ChecksumDifference } from './read-model-checksums.js';

/** The part of a projector a drill uses (structurally the projections' Projector). */
export interface DrillProjector {
  readonly name: string;
  readonly filter?: AllFilter;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as Projector: DDL before table types exist
  createSchema(db: Kysely<any>, schema: string): Promise<void>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as Projector: each narrows it to its tables
  apply(db: Kysely<any>, events: readonly RecordedEvent[]): Promise<void>;
}

export interface RestoreDrillDeps {
  readonly storage: BackupStorage;
  readonly key?: BackupKey;
  readonly eventStore: EventStore;
  readonly projectors: readonly DrillProjector[];
  readonly scratchStores: ScratchStores;
  readonly batchSize?: number;
}

export interface RestoreDrillOutcome {
  readonly passed: boolean;
  readonly position: Position;
  readonly events: number;
  /** (table, tenant) pairs compared. */
  readonly tables: number;
  readonly differences: readonly ChecksumDifference[];
  /** Why it failed when the backup could not even be restored (altered chunk, missing parent). */
  readonly reason?: string;
  readonly durationMs: number;
}

const matches = (filter: AllFilter | undefined, event: RecordedEvent) =>
  (!filter?.categories || filter.categories.includes(streamCategory(event.streamId))) &&
  (!filter?.eventTypes || filter.eventTypes.includes(event.type));

/** Builds every projector's tables under `<prefix>_<name>` in the scratch database from `batches`. */
async function buildReadModels(
  scratch: ScratchStore,
  projectors: readonly DrillProjector[],
  prefix: string,
  batches: AsyncIterable<readonly RecordedEvent[]>,
): Promise<void> {
  for (const projector of projectors) await projector.createSchema(scratch.db.kysely, `${prefix}_${projector.name}`);
  for await (const batch of batches) {
    await scratch.db.kysely.transaction().execute(async (trx) => {
      for (const projector of projectors) {
        const events = batch.filter((event) => matches(projector.filter, event));
        if (events.length > 0) await projector.apply(trx.withSchema(`${prefix}_${projector.name}`), events);
      }
    });
  }
}

/** A store's log from the start up to `end` (inclusive), optionally one tenant's events only. */
async function* logUpTo(store: EventStore, end: Position, batchSize: number, tenantId?: string): AsyncGenerator<RecordedEvent[]> {
  let after = START;
  for (;;) {
    const page = await store.readAll({ after, maxCount: batchSize });
    const cut = page.events.findIndex((event) => comparePositions(event.position, end) > 0);
    const events = (cut === -1 ? page.events : page.events.slice(0, cut)).filter(
      (event) => tenantId === undefined || event.metadata.tenantId === tenantId,
    );
    if (events.length > 0) yield events;
    if (cut !== -1 || page.isEnd) return;
    after = page.lastPosition;
  }
}

export async function runRestoreDrill(deps: RestoreDrillDeps, backupId: string, drillName: string): Promise<RestoreDrillOutcome> {
  const started = Date.now();
  const batchSize = deps.batchSize ?? 5000;
  const chain = await resolveBackupChain(deps.storage, backupId);
  const last = chain.at(-1)!;
  const position = parsePosition(last.position.to)!;
  const tenantId = last.scope.tenantId;
  const scratch = await deps.scratchStores(drillName);
  try {
    let events = 0;
    try {
      events = (await scratch.target.restore(chainEvents(deps.storage, chain, deps.key, {}), { restoreId: `drill-${drillName}`, backupId }))
        .events;
    } catch (error) {
      return {
        passed: false,
        position,
        events: 0,
        tables: 0,
        differences: [],
        reason: `restore failed: ${(error as Error).message}`,
        durationMs: Date.now() - started,
      };
    }
    await buildReadModels(scratch, deps.projectors, 'restored', logUpTo(scratch.eventStore, position, batchSize));
    await buildReadModels(scratch, deps.projectors, 'live', logUpTo(deps.eventStore, position, batchSize, tenantId));
    let tables = 0;
    const differences: ChecksumDifference[] = [];
    for (const projector of deps.projectors) {
      const live = await readModelChecksums(scratch.db, `live_${projector.name}`);
      const restored = await readModelChecksums(scratch.db, `restored_${projector.name}`);
      const found = compareChecksums(live, restored).map((d) => ({ ...d, table: `${projector.name}.${d.table}` }));
      tables += new Set([...live, ...restored].map((c) => `${c.table}\u0000${c.tenantId}`)).size;
      differences.push(...found);
    }
    const reason =
      differences.length > 0
        ? `${differences.length} read-model tables differ from the live log at ${formatPosition(position)}`
        : undefined;
    return {
      passed: differences.length === 0,
      position,
      events,
      tables,
      differences,
      ...(reason ? { reason } : {}),
      durationMs: Date.now() - started,
    };
  } finally {
    await scratch.drop();
  }
}
