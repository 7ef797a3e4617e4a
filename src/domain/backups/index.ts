export * from './backup-commands.js';
export * from './backup-decider.js';
export * from './backup-events.js';
export * from './backup-format.js';
export * from './backup-streams.js';
