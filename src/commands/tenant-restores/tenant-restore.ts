// Tenant point-in-time restore, in place: brings the tenant's categories and templates back to their state
// at a moment or position BY APPENDING EVENTS through each aggregate's own commands (the same handlers the
// HTTP routes use: name claims, ownership, lifecycle rules). Aggregates created after the target are
// archived, changed ones restored, unchanged ones left alone. The POST records the request; a job runs it
// (processes/tenant-restores). Every step's command id derives from the restore id, the stream and the
// step, so a retried job appends nothing twice.
import { archiveCategory, describeCategory, renameCategory, restoreCategory } from '../categories/index.js';
import {
  changeTemplateParent,
  changeTemplateStatus,
  deleteTemplate,
  restoreTemplateVersion,
  undeleteTemplate,
} from '../templates/index.js';
import type { TemplateCommandDeps } from '../templates/template-access.js';
import type { TemplateStatusAction } from '../templates/index.js';
import {
  RESTORABLE_TYPES,
  planCategoryRestore,
  planTemplateRestore,
  stepKey,
  tenantRestoreDecider,
  tenantRestoreStreamId,
  type AggregatePlan,
  type CategoryRestoreStep,
  type RestorableType,
  type TemplateRestoreStep,
  type TenantRestoreFailure,
  type TenantRestoreState,
} from '../../domain/tenant-restores/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import type { TemplateStatus } from '../../domain/templates/index.js';
import { formatPosition, parsePosition, type Position, type RecordedEvent } from '../../ports/event-store.js';
import { jobCommandContext } from '../job-command-context.js';
import { handleCommand, loadAggregate, type CommandContext } from '../handle-command.js';
import { assertTargetInLog, foldAggregates, tenantStreams, type FoldedAggregate, type RestoreTarget } from './tenant-restore-scan.js';

export interface TenantRestoreRequest {
  readonly restoreId: string;
  readonly target: RestoreTarget;
  /** Default: every restorable type. */
  readonly types?: readonly RestorableType[];
  /** Aggregate ids (UUIDs); default: all of the tenant's. */
  readonly ids?: readonly string[];
}

export interface PlannedChange {
  readonly aggregateType: RestorableType;
  readonly aggregateId: string;
  readonly action: AggregatePlan<unknown>['action'];
  readonly changed: readonly string[];
  readonly steps: readonly string[];
}

export interface TenantRestorePlan {
  readonly changes: readonly PlannedChange[];
  readonly unchanged: number;
}

const STATUS_ACTION: Record<TemplateStatus, TemplateStatusAction> = {
  active: 'activate',
  archived: 'archive',
  deprecated: 'deprecate',
  draft: 'unarchive',
};

type Planned = { aggregate: FoldedAggregate; plan: AggregatePlan<CategoryRestoreStep> | AggregatePlan<TemplateRestoreStep> };

function planOf(aggregate: FoldedAggregate, tenantId: string): Planned['plan'] {
  if (aggregate.type === 'category') return planCategoryRestore(aggregate.atTarget, aggregate.now);
  // Only the owner's templates, never system ones: what the tenant could change itself.
  const now = aggregate.now;
  const live = now.status === 'absent' ? now.deleted : now;
  if (!live || live.ownerTenantId !== tenantId || live.isSystemTemplate) return { action: 'unchanged', steps: [], changed: [] };
  return planTemplateRestore(aggregate.atTarget, now);
}

async function runStep(
  deps: TemplateCommandDeps,
  context: CommandContext,
  aggregate: FoldedAggregate,
  step: CategoryRestoreStep | TemplateRestoreStep,
): Promise<{ readonly position: Position }> {
  // Exhaustive: a step type without its command is a compile error, never a silent no-op.
  switch (step.type) {
    case 'archive':
      return archiveCategory(deps, context, { categoryId: aggregate.id });
    case 'restore':
      return restoreCategory(deps, context, { categoryId: aggregate.id });
    case 'rename':
      return renameCategory(deps, context, { categoryId: aggregate.id, name: step.name });
    case 'describe':
      return describeCategory(deps, context, { categoryId: aggregate.id, description: step.description });
    case 'undelete':
      return undeleteTemplate(deps, context, { templateId: aggregate.id });
    case 'delete':
      return deleteTemplate(deps, context, { templateId: aggregate.id });
    case 'status':
      return changeTemplateStatus(deps, context, { templateId: aggregate.id, action: STATUS_ACTION[step.to] });
    case 'restoreVersion':
      return restoreTemplateVersion(deps, context, { templateId: aggregate.id, version: step.version });
    case 'changeParent':
      return changeTemplateParent(deps, context, { templateId: aggregate.id, parentTemplateId: step.parentTemplateId });
  }
}

/** The context of the restore's own record (start, complete): on behalf of whoever asked for it. */
export const tenantRestoreRecordContext = (context: CommandContext, restoreId: string, step: string): CommandContext =>
  tenantRestoreContext(context, `${restoreId}:${step}`, context.correlationId, context.causationId);

/** The context of one restoring command (`step` names the aggregate and the step), caused by the restore's start. */
export const tenantRestoreStepContext = (context: CommandContext, restoreId: string, step: string, causationId: string): CommandContext =>
  tenantRestoreContext(context, `${restoreId}:${step}`, restoreId, causationId);

const tenantRestoreContext = (context: CommandContext, key: string, correlationId: string, causationId: string | undefined) =>
  jobCommandContext({
    tenantId: context.tenantId,
    process: 'tenant-restore',
    onBehalfOf: context.userId,
    namespace: 'tenant-restore',
    key,
    correlationId,
    ...(causationId === undefined ? {} : { causationId }),
  });

/** The checks the POST makes before queueing, cheap: the target against the clock and the head, and against
 * the tenant's first event (the scan stops there). */
async function checkTarget(deps: TemplateCommandDeps, tenantId: string, target: RestoreTarget, types: readonly RestorableType[]) {
  const { first } = await tenantStreams(deps.eventStore, tenantId, types, undefined, { firstOnly: true });
  assertTargetInLog(target, first, deps.clock(), await deps.eventStore.headPosition());
}

const targetOf = (record: { at: string | null; position: string | null }): RestoreTarget =>
  record.at !== null ? { at: new Date(record.at) } : { position: parsePosition(record.position ?? '')! };

/**
 * The dry run: what a restore would change, planned now, writing nothing. Bounded: more than
 * `maxAggregates` aggregates of the asked types and ids is a 422 before any of them is folded.
 */
export async function planTenantRestore(
  deps: TemplateCommandDeps,
  tenantId: string,
  request: TenantRestoreRequest,
  maxAggregates: number,
): Promise<TenantRestorePlan> {
  const types = request.types ?? RESTORABLE_TYPES;
  const ids = request.ids ? new Set(request.ids.map((id) => id.toLowerCase())) : undefined;
  const { streams, first, truncated } = await tenantStreams(deps.eventStore, tenantId, types, ids, { stopAfter: maxAggregates });
  assertTargetInLog(request.target, first, deps.clock(), await deps.eventStore.headPosition());
  if (truncated)
    throw new RuleViolation(
      'tenant_restore.dry_run.too_many',
      `a dry run plans at most ${maxAggregates} aggregates; narrow it with types or ids`,
      'unprocessable',
      'ids',
    );
  const folded = await foldAggregates(deps.eventStore, deps.upcasters, streams, request.target);
  const planned = folded.map((aggregate) => ({ aggregate, plan: planOf(aggregate, tenantId) }));
  const changes = planned.filter(({ plan }) => plan.action !== 'unchanged');
  return {
    unchanged: planned.length - changes.length,
    changes: changes.map(({ aggregate, plan }) => ({
      aggregateType: aggregate.type,
      aggregateId: aggregate.id,
      action: plan.action,
      changed: plan.changed,
      steps: plan.steps.map(stepKey),
    })),
  };
}

/** Records the request (`queued`); a job runs it (processes/tenant-restores). The same restore id again
 * appends nothing and answers with the record as it is. */
export async function requestTenantRestore(deps: TemplateCommandDeps, context: CommandContext, request: TenantRestoreRequest) {
  const types = request.types ?? RESTORABLE_TYPES;
  await checkTarget(deps, context.tenantId, request.target, types);
  return handleCommand(deps, tenantRestoreDecider, {
    streamId: tenantRestoreStreamId(context.tenantId, request.restoreId),
    context: tenantRestoreRecordContext(context, request.restoreId, 'request'),
    command: {
      type: 'RequestTenantRestore',
      data: {
        restoreId: request.restoreId,
        tenantId: context.tenantId,
        at: 'at' in request.target ? request.target.at.toISOString() : null,
        position: 'position' in request.target ? formatPosition(request.target.position) : null,
        types: [...types],
        ids: (request.ids ?? []).map((id) => id.toLowerCase()),
        requestedAt: deps.clock().toISOString(),
      },
    },
  });
}

/**
 * Runs a requested restore (the job's work): plans it, records the start, runs every step, records the
 * outcome. A finished restore is left as it is. A retried job plans at the position its first attempt
 * recorded, so it plans the same steps, and every step's command id is the one of the first attempt: the
 * steps already done append nothing again.
 */
export async function runTenantRestore(
  deps: TemplateCommandDeps,
  context: CommandContext,
  restoreId: string,
): Promise<Exclude<TenantRestoreState, { status: 'absent' }> | undefined> {
  const recordStream = tenantRestoreStreamId(context.tenantId, restoreId);
  const record = (await loadAggregate(deps, tenantRestoreDecider, recordStream, { tenantId: context.tenantId })).state;
  if (record.status === 'absent') return undefined;
  if (record.status !== 'queued' && record.status !== 'running') return record;

  const target = targetOf(record);
  const types = record.types as RestorableType[];
  const ids = record.ids.length > 0 ? new Set(record.ids) : undefined;
  const planAt = (record.planPosition ? parsePosition(record.planPosition) : undefined) ?? (await deps.eventStore.headPosition());
  const { streams } = await tenantStreams(deps.eventStore, context.tenantId, types, ids);
  const folded = await foldAggregates(deps.eventStore, deps.upcasters, streams, target, planAt);
  const planned: Planned[] = folded.map((aggregate) => ({ aggregate, plan: planOf(aggregate, context.tenantId) }));
  const changes = planned.filter(({ plan }) => plan.action !== 'unchanged');

  const started = await handleCommand(deps, tenantRestoreDecider, {
    streamId: recordStream,
    context: tenantRestoreRecordContext(context, restoreId, 'start'),
    command: {
      type: 'StartTenantRestore',
      data: {
        restoreId,
        tenantId: context.tenantId,
        at: record.at,
        position: record.position,
        types: [...types],
        ids: [...(ids ?? [])],
        planned: changes.length,
        startedAt: deps.clock().toISOString(),
        planPosition: formatPosition(planAt),
      },
    },
  });
  // Another attempt started first (at another position): plan again at the one it recorded.
  if (started.state.status === 'running' && started.state.planPosition !== null && started.state.planPosition !== formatPosition(planAt))
    return runTenantRestore(deps, context, restoreId);

  const failures: TenantRestoreFailure[] = [];
  // Archives first, all of them: an aggregate created after the target may hold a name that a restored one
  // takes back, and archiving gives names back. Then the restores.
  for (const phase of [changes.filter(({ plan }) => plan.action === 'archive'), changes.filter(({ plan }) => plan.action !== 'archive')])
    await runPhase(phase);

  async function runPhase(phase: readonly Planned[]): Promise<void> {
    let next = 0;
    // Aggregates in parallel (a few at a time), the steps of one aggregate in order.
    await Promise.all(
      Array.from({ length: Math.min(8, phase.length) }, async () => {
        for (let i = next++; i < phase.length; i = next++) {
          const { aggregate, plan } = phase[i]!;
          for (const step of plan.steps) {
            const stepContext = tenantRestoreStepContext(
              context,
              restoreId,
              `${aggregate.streamId}:${stepKey(step)}`,
              started.events[0]?.id ?? restoreId,
            );
            try {
              await runStep(deps, stepContext, aggregate, step);
            } catch (error) {
              if (!(error instanceof RuleViolation)) throw error;
              // A rule of today refuses the old state (its name is taken now, its parent is gone): reported, and
              // the aggregate's remaining steps are skipped; the others go on.
              failures.push({ aggregateType: aggregate.type, aggregateId: aggregate.id, rule: error.rule, reason: error.message });
              break;
            }
          }
        }
      }),
    );
  }

  const archived = changes.filter(({ plan }) => plan.action === 'archive').length;
  const completed = await handleCommand(deps, tenantRestoreDecider, {
    streamId: recordStream,
    context: tenantRestoreRecordContext(context, restoreId, 'complete'),
    command: {
      type: 'CompleteTenantRestore',
      data: {
        outcome: failures.length > 0 ? 'partially_failed' : 'completed',
        archived,
        restored: changes.length - archived,
        unchanged: planned.length - changes.length,
        failures,
        finishedAt: deps.clock().toISOString(),
      },
    },
  });
  if (completed.state.status === 'absent') throw new Error('the restore record vanished');
  return completed.state;
}

/** The whole restore could not run: recorded as `failed` with the rule and the reason (a finished one is kept). */
export async function failTenantRestore(
  deps: TemplateCommandDeps,
  context: CommandContext,
  restoreId: string,
  error: { rule: string; reason: string },
) {
  return handleCommand(deps, tenantRestoreDecider, {
    streamId: tenantRestoreStreamId(context.tenantId, restoreId),
    context: tenantRestoreRecordContext(context, restoreId, 'fail'),
    command: { type: 'FailTenantRestore', data: { ...error, finishedAt: deps.clock().toISOString() } },
  });
}

export const loadTenantRestore = (deps: TemplateCommandDeps, tenantId: string, restoreId: string) =>
  loadAggregate(deps, tenantRestoreDecider, tenantRestoreStreamId(tenantId, restoreId), { tenantId });

/** The position of a restore record's last event: what a reader waits for to see the restore's outcome. */
export const recordPosition = (loaded: { readonly events: readonly RecordedEvent[] }): string | null => {
  const last = loaded.events.at(-1);
  return last ? formatPosition(last.position) : null;
};
