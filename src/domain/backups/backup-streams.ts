// The backup stream, named in one place (the projector and the process manager subscribe to its category).
// Global: the server chooses backup ids (random UUIDs), so an id tells no tenant anything of another.
import { globalStreamId } from '../tenant-streams.js';

export const BACKUP_CATEGORY = 'backup';

export const canonicalBackupId = (backupId: string) => backupId.toLowerCase();
export const backupStreamId = (backupId: string) => globalStreamId(BACKUP_CATEGORY, backupId);
