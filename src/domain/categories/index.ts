export * from './category-commands.js';
export * from './category-decider.js';
export * from './category-events.js';
export * from './category-streams.js';
