export * from './backup-retention.js';
export * from './backup-schedule.js';
