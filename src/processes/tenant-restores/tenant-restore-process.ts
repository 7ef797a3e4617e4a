// The tenant-restore process manager and its worker. TenantRestoreRequested enqueues one job (its id derived
// from the event, so a re-delivered event enqueues nothing new) in the tenant's group: a tenant's restores
// wait their turn (LONG_JOBS_PER_TENANT) while other tenants' go on, and every long job of the instance
// shares LONG_JOBS_TOTAL. The worker runs the restore (commands/tenant-restores); a retried job appends no
// step twice. A restore refused whole (a pruned history) fails at once; one whose job keeps failing is
// recorded `failed` on its last attempt, and the job is parked.
import type { CommandContext } from '../../commands/handle-command.js';
import { failTenantRestore, runTenantRestore } from '../../commands/tenant-restores/index.js';
import type { TemplateCommandDeps } from '../../commands/templates/template-access.js';
import type { JsonObject } from '../../domain/json.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { TENANT_RESTORE_CATEGORY } from '../../domain/tenant-restores/index.js';
import type { JobHandler } from '../../ports/job-queue.js';
import type { ProcessManager } from '../process-manager.js';

export const TENANT_RESTORE_QUEUE = 'tenant-restores';
export const TENANT_RESTORE_ATTEMPTS = 3;

export const tenantRestoreProcessManager: ProcessManager = {
  name: 'tenant_restores',
  filter: { categories: [TENANT_RESTORE_CATEGORY], eventTypes: ['TenantRestoreRequested'] },
  async handle(event, context) {
    const payload: JsonObject = {
      restoreId: String(event.data.restoreId),
      tenantId: String(event.metadata.tenantId ?? ''),
      // The requester: the restore's steps are theirs, as when the POST ran them.
      userId: String(event.metadata.userId ?? ''),
      correlationId: String(event.metadata.correlationId ?? event.id),
    };
    await context.enqueue(TENANT_RESTORE_QUEUE, payload, { attempts: TENANT_RESTORE_ATTEMPTS, group: payload.tenantId as string });
  },
};

export function tenantRestoreWorker(deps: TemplateCommandDeps, attempts = TENANT_RESTORE_ATTEMPTS): JobHandler {
  return async (job) => {
    const { restoreId, tenantId, userId, correlationId } = job.payload as Record<string, string>;
    const context: CommandContext = { tenantId: tenantId!, userId: userId!, commandId: restoreId!, correlationId: correlationId! };
    try {
      await runTenantRestore(deps, context, restoreId!);
    } catch (error) {
      const refused = error instanceof RuleViolation;
      // Another attempt may pass (the database away a moment): retried, and it repeats no step.
      if (!refused && job.attempt < attempts) throw error;
      const rule = refused ? error.rule : 'tenant_restore.job_failed';
      const reason = error instanceof Error ? error.message : String(error);
      await failTenantRestore(deps, context, restoreId!, { rule, reason });
      if (!refused) throw error;
    }
  };
}
