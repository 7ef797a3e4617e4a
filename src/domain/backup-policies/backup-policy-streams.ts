// The backup policy stream, named in one place (the projector and the scheduler subscribe to its category).
export const BACKUP_POLICY_CATEGORY = 'backuppolicy';

export const canonicalBackupPolicyId = (policyId: string) => policyId.toLowerCase();
export const backupPolicyStreamId = (policyId: string) => `${BACKUP_POLICY_CATEGORY}-${canonicalBackupPolicyId(policyId)}`;
