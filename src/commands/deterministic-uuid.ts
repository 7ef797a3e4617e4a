import { createHash } from 'node:crypto';

/**
 * A name-based UUID (version 5 layout, SHA-1) from a namespace text and a name: the same command id gives
 * the same event ids on every retry, which the event store's idempotent append recognises.
 */
export function deterministicUuid(namespace: string, name: string): string {
  const hash = createHash('sha1').update(namespace).update('\u0000').update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
