export * from './audit-filter.js';
