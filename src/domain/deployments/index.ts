export * from './deployment-commands.js';
export * from './deployment-decider.js';
export * from './deployment-events.js';
export * from './deployment-plan.js';
export * from './deployment-spec.js';
export * from './deployment-state.js';
export * from './deployment-streams.js';
export * from './deployment-drift.js';
