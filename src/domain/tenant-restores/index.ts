export * from './restore-plan.js';
export * from './tenant-restore-record.js';
