export * from './backup-chain.js';
export * from './backup-codec.js';
export * from './backup-commands.js';
export * from './backup-manifest.js';
export * from './backup-reader.js';
export * from './backup-validate.js';
