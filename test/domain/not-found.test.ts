// #15.6: one "not found" per resource type, whichever path refuses: the command handler meeting another
// tenant's stream (notFound of the stream id) and the decider meeting no stream must be the same error.
import { describe, expect, it } from 'vitest';
import { notFound } from '../../src/commands/handle-command.js';
import { BACKUP_POLICY_CATEGORY, backupPolicyStreamId } from '../../src/domain/backup-policies/backup-policy-streams.js';
import { BACKUP_CATEGORY } from '../../src/domain/backups/backup-streams.js';
import { BATCH_CATEGORY } from '../../src/domain/batches/batch-streams.js';
import { CATEGORY_CATEGORY } from '../../src/domain/categories/category-streams.js';
import { DEPLOYMENT_CATEGORY } from '../../src/domain/deployments/deployment-streams.js';
import { CONFIG_CATEGORY, CONFIG_TEMPLATE_CATEGORY, ENVIRONMENT_CATEGORY } from '../../src/domain/environments/environment-streams.js';
import { NOT_FOUND_CATEGORIES, notFoundOf } from '../../src/domain/not-found.js';
import { RESTORE_CATEGORY } from '../../src/domain/restores/restore-aggregate.js';
import { TEMPLATE_CATEGORY } from '../../src/domain/templates/template-streams.js';
import { TENANT_RESTORE_CATEGORY } from '../../src/domain/tenant-restores/tenant-restore-record.js';
import { backupPolicyDecider } from '../../src/domain/backup-policies/index.js';

const shape = (error: { rule: string; message: string; kind: string; field?: string | undefined }) => ({
  rule: error.rule,
  message: error.message,
  kind: error.kind,
  field: error.field,
});

describe('notFoundOf', () => {
  it("has a not-found of its own for every feature's stream category", () => {
    const categories = [
      BACKUP_POLICY_CATEGORY,
      BACKUP_CATEGORY,
      BATCH_CATEGORY,
      CATEGORY_CATEGORY,
      DEPLOYMENT_CATEGORY,
      CONFIG_CATEGORY,
      CONFIG_TEMPLATE_CATEGORY,
      ENVIRONMENT_CATEGORY,
      RESTORE_CATEGORY,
      TEMPLATE_CATEGORY,
      TENANT_RESTORE_CATEGORY,
    ];
    expect([...NOT_FOUND_CATEGORIES].sort()).toEqual([...categories].sort());
    for (const category of categories) {
      expect(notFoundOf(category)).toMatchObject({ kind: 'not_found', rule: expect.stringMatching(/^[a-z_]+\.not_found$/) });
      expect(notFoundOf(category).message).toMatch(/^no such [a-z ]+$/);
    }
  });

  it("is the same error for another tenant's stream (the handler) and for no stream (the decider)", () => {
    const fromHandler = notFound(backupPolicyStreamId('acme', '0b6f3f5e-1111-4222-8333-944455556666'));
    let fromDecider: unknown;
    try {
      backupPolicyDecider.decide({ type: 'DisableBackupPolicy', data: { at: '2026-01-01T00:00:00Z' } }, backupPolicyDecider.initialState());
    } catch (error) {
      fromDecider = error;
    }
    expect(shape(fromHandler)).toEqual(shape(fromDecider as never));
    expect(shape(fromHandler)).toEqual({
      rule: 'backup_policy.not_found',
      message: 'no such backup policy',
      kind: 'not_found',
      field: undefined,
    });
  });
});
