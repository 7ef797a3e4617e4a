import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deterministicUuid } from '../../src/commands/deterministic-uuid.js';

describe('deterministicUuid', () => {
  it('is a version 5, RFC 4122 variant UUID, the same for the same input', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (namespace, name) => {
        const id = deterministicUuid(namespace, name);
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(deterministicUuid(namespace, name)).toBe(id);
      }),
    );
  });

  it('differs when the namespace or the name differs, including where one ends and the other starts', () => {
    expect(deterministicUuid('stream-1', 'cmd:0')).not.toBe(deterministicUuid('stream-1', 'cmd:1'));
    expect(deterministicUuid('stream-1', 'cmd:0')).not.toBe(deterministicUuid('stream-2', 'cmd:0'));
    expect(deterministicUuid('ab', 'c')).not.toBe(deterministicUuid('a', 'bc'));
  });
});
