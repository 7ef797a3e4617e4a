// Every decider's evolve ends in a `never` check (the compiler proves each event of its union is handled),
// and at run time an event type it does not know (written by a newer version, or a legacy type in an old
// stream) leaves the state as it was instead of turning it into `undefined` and breaking every later fold.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Decider, DomainEvent } from '../../src/domain/decider.js';
import { backupPolicyDecider } from '../../src/domain/backup-policies/backup-policy-decider.js';
import { backupDecider } from '../../src/domain/backups/backup-decider.js';
import { batchDecider } from '../../src/domain/batches/batch-decider.js';
import { categoryDecider } from '../../src/domain/categories/category-decider.js';
import { deploymentDecider } from '../../src/domain/deployments/deployment-decider.js';
import { configDecider } from '../../src/domain/environments/config-decider.js';
import { configTemplateDecider } from '../../src/domain/environments/config-template-decider.js';
import { environmentDecider } from '../../src/domain/environments/environment-decider.js';
import { restoreDecider } from '../../src/domain/restores/restore-aggregate.js';
import { templateDecider } from '../../src/domain/templates/template-decider.js';
import { tenantRestoreDecider } from '../../src/domain/tenant-restores/tenant-restore-record.js';

const DECIDERS = {
  backupPolicyDecider,
  backupDecider,
  batchDecider,
  categoryDecider,
  deploymentDecider,
  configDecider,
  configTemplateDecider,
  environmentDecider,
  restoreDecider,
  templateDecider,
  tenantRestoreDecider,
} as unknown as Record<string, Decider<unknown, unknown, DomainEvent>>; // fed events of no union on purpose

const knownTypes = new Set(['TemplateCreated', 'TemplateUndeleted']);
const unknownEvent = fc
  .string({ minLength: 1, maxLength: 30 })
  .filter((type) => !knownTypes.has(type))
  .map((type) => ({ type: `Future${type}`, data: {} }));

describe('evolve of every decider', () => {
  for (const [name, decider] of Object.entries(DECIDERS)) {
    it(`${name} ignores an event type it does not know`, () => {
      fc.assert(
        fc.property(unknownEvent, (event) => {
          const state = decider.initialState();
          expect(decider.evolve(state, event)).toBe(state);
        }),
        { numRuns: 20 },
      );
    });
  }

  it('templateDecider ignores favorites and usages written into template streams before they had their own', () => {
    const created = templateDecider.evolve(templateDecider.initialState(), {
      type: 'TemplateCreated',
      data: {
        templateId: '4b9f4f4e-8d7e-4f0a-9c1b-2a3b4c5d6e7f',
        ownerTenantId: 'acme',
        parentTemplateId: null,
        isSystemTemplate: false,
        status: 'draft',
        version: 1,
      },
    } as unknown as Parameters<typeof templateDecider.evolve>[1]);
    for (const type of ['TemplateFavorited', 'TemplateUnfavorited', 'TemplateUsageRecorded'])
      expect(templateDecider.evolve(created, { type, data: {} } as never)).toBe(created);
  });
});
