// Environment, config and config template command handlers: what the HTTP routes and process managers call.
export * from './config-claims.js';
export * from './config-handlers.js';
export * from './config-template-handlers.js';
export * from './environment-claims.js';
export * from './environment-handlers.js';
