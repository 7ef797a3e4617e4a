// The backup stream, named in one place (the projector and the process manager subscribe to its category).
export const BACKUP_CATEGORY = 'backup';

export const canonicalBackupId = (backupId: string) => backupId.toLowerCase();
export const backupStreamId = (backupId: string) => `${BACKUP_CATEGORY}-${canonicalBackupId(backupId)}`;
