export * from './backup-retention.js';
export * from './backup-schedule.js';
export * from './backup-policy-commands.js';
export * from './backup-policy-decider.js';
export * from './backup-policy-events.js';
export * from './backup-policy-streams.js';
