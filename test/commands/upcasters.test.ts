import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnknownSchemaVersionError, schemaVersionOf, upcast, type Upcasters } from '../../src/commands/upcasters.js';
import { START, type RecordedEvent } from '../../src/ports/event-store.js';
import type { JsonObject } from '../../src/domain/json.js';

const recorded = (type: string, data: JsonObject, metadata: JsonObject): RecordedEvent => ({
  id: 'e1',
  type,
  streamId: 's-1',
  revision: 0n,
  position: START,
  data,
  metadata,
  recordedAt: new Date(0),
});

// TemplateRenamed v1 {title} → v2 {name} → v3 {name, locale}
const upcasters: Upcasters = {
  TemplateRenamed: [({ title, ...rest }) => ({ ...rest, name: title ?? '' }), (data) => ({ ...data, locale: 'en' })],
};

describe('upcast', () => {
  it('runs every step from the stored version to the current one, and stamps the current version', () => {
    const fromV1 = upcast(recorded('TemplateRenamed', { title: 'A' }, { schemaVersion: 1, tenantId: 't' }), upcasters);
    expect(fromV1.data).toEqual({ name: 'A', locale: 'en' });
    expect(fromV1.metadata).toEqual({ schemaVersion: 3, tenantId: 't' });
    expect(upcast(recorded('TemplateRenamed', { name: 'B' }, { schemaVersion: 2 }), upcasters).data).toEqual({ name: 'B', locale: 'en' });
    expect(upcast(recorded('TemplateRenamed', { title: 'C' }, {}), upcasters).data).toEqual({ name: 'C', locale: 'en' }); // no version = 1
  });

  it('leaves current events and types without steps untouched', () => {
    const current = recorded('TemplateRenamed', { name: 'A', locale: 'fr' }, { schemaVersion: 3 });
    expect(upcast(current, upcasters)).toBe(current);
    const other = recorded('Other', { x: 1 }, {});
    expect(upcast(other, upcasters)).toBe(other);
    expect(upcast(other, undefined)).toBe(other);
  });

  it('refuses versions it does not know instead of guessing', () => {
    for (const schemaVersion of [4, 0, 1.5, '2', null]) {
      expect(() => upcast(recorded('TemplateRenamed', {}, { schemaVersion }), upcasters), String(schemaVersion)).toThrow(
        UnknownSchemaVersionError,
      );
    }
    expect(() => upcast(recorded('Other', {}, { schemaVersion: 2 }), upcasters)).toThrow(UnknownSchemaVersionError);
  });

  it('reports the version new events are written with', () => {
    expect(schemaVersionOf('TemplateRenamed', upcasters)).toBe(3);
    expect(schemaVersionOf('Other', upcasters)).toBe(1);
    expect(schemaVersionOf('Other', undefined)).toBe(1);
  });

  it('upcasting in one go equals upcasting version by version', () => {
    const steps = [
      (d: JsonObject) => ({ ...d, a: 1 }),
      (d: JsonObject) => ({ ...d, b: Number(d.a ?? 0) + 1 }),
      (d: JsonObject) => ({ n: Object.keys(d).length }),
    ];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer()), (from, data) => {
        const all = upcast(recorded('T', data, { schemaVersion: from }), { T: steps });
        let stepwise = recorded('T', data, { schemaVersion: from });
        for (let version = from; version < 4; version++) stepwise = upcast(stepwise, { T: steps.slice(0, version) });
        expect(all.data).toEqual(stepwise.data);
        expect(all.metadata.schemaVersion).toBe(4);
      }),
    );
  });
});
