export * from './backup-policy-commands.js';
export * from './backup-policy-name-claim.js';
