// Runs one batch item as template commands, through the template command layer (name reservations,
// parent chain on the streams, tenancy), each with commandId `batchId:itemIndex[:step]` and the first
// with If-Match on the revision the plan resolved. A redelivered or retried item finds its commands
// already in the template's stream and is answered with their result: an item is applied once.
import {
  batchItemCommandId,
  templateCommandsForItem,
  type BatchItem,
  type ItemOutcomeReport,
  type TemplateMark,
} from '../../domain/batches/index.js';
import { IdempotencyConflictError, WrongExpectedRevisionError, type RecordedEvent } from '../../ports/event-store.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import {
  templateDecider,
  templateStreamId,
  type CreateTemplateData,
  type TemplateCommand,
  type TemplateState,
} from '../../domain/templates/index.js';
import { loadAggregate, type CommandContext } from '../../commands/handle-command.js';
import {
  changeTemplateParent,
  changeTemplateStatus,
  createTemplate,
  deleteTemplate,
  restoreTemplateVersion,
  undeleteTemplate,
  updateTemplate,
  type TemplateCommandDeps,
  type TemplateCommandResult,
  type TemplateStatusAction,
} from '../../commands/templates/index.js';

export interface BatchItemTarget {
  readonly batchId: string;
  readonly tenantId: string;
  readonly requestedBy: string;
  readonly index: number;
  readonly item: BatchItem;
  /** If-Match for the item's first command; null: not checked. */
  readonly runAgainstRevision: number | null;
}

export type ItemOutcome =
  | Omit<Extract<ItemOutcomeReport, { outcome: 'succeeded' }>, 'attempt'>
  | Omit<Extract<ItemOutcomeReport, { outcome: 'failed' }>, 'attempt'>;

const STATUS_ACTIONS: Partial<Record<TemplateCommand['type'], TemplateStatusAction>> = {
  ActivateTemplate: 'activate',
  ArchiveTemplate: 'archive',
  DeprecateTemplate: 'deprecate',
  UnarchiveTemplate: 'unarchive',
};

const markOf = (state: TemplateState): TemplateMark | null =>
  state.status === 'absent'
    ? null
    : {
        version: state.version,
        status: state.status,
        parentTemplateId: state.parentTemplateId,
      };

function runTemplateCommand(
  deps: TemplateCommandDeps,
  context: CommandContext,
  templateId: string,
  command: TemplateCommand,
  expectedRevision: bigint | undefined,
): Promise<TemplateCommandResult> {
  const target = {
    templateId,
    ...(expectedRevision !== undefined ? { expectedRevision } : {}),
  };
  switch (command.type) {
    case 'CreateTemplate': {
      const { ownerTenantId: _owner, ...data } = command.data;
      return createTemplate(deps, context, data as Omit<CreateTemplateData, 'ownerTenantId'>);
    }
    case 'UpdateTemplate':
      return updateTemplate(deps, context, {
        ...target,
        changes: command.data,
      });
    case 'ChangeTemplateParent':
      return changeTemplateParent(deps, context, {
        ...target,
        parentTemplateId: command.data.parentTemplateId,
      });
    case 'RestoreTemplateVersion':
      return restoreTemplateVersion(deps, context, {
        ...target,
        version: command.data.version,
      });
    case 'DeleteTemplate':
      return deleteTemplate(deps, context, { ...target, checkChildren: false });
    case 'UndeleteTemplate':
      return undeleteTemplate(deps, context, target);
    default: {
      const action = STATUS_ACTIONS[command.type];
      if (action === undefined) throw new RuleViolation('batch.item.command', `a batch cannot run ${command.type}`, 'unprocessable');
      return changeTemplateStatus(deps, context, { ...target, action });
    }
  }
}

/**
 * The template as it was before this item's first command: the stream up to the first event of
 * `batchId:index` (so a re-run after a crash sees the same "before" and plans the same commands).
 */
async function stateBeforeItem(deps: TemplateCommandDeps, tenantId: string, templateId: string, commandId: string) {
  const loaded = await loadAggregate(deps, templateDecider, templateStreamId(templateId), { tenantId, access: () => true });
  const first = loaded.events.findIndex((event) => event.metadata.commandId === commandId);
  const prefix: readonly RecordedEvent[] = first === -1 ? loaded.events : loaded.events.slice(0, first);
  const state = prefix.reduce(
    (current, event) =>
      templateDecider.evolve(current, {
        type: event.type,
        data: event.data,
      } as never),
    templateDecider.initialState(),
  );
  const revision = prefix.at(-1)?.revision;
  return { state, revision: revision === undefined ? null : Number(revision) };
}

/** Whether running the item again could succeed: rule refusals and stale revisions will not. */
function failureOf(error: unknown): { reason: string; retryable: boolean } {
  if (error instanceof RuleViolation) return { reason: `${error.rule}: ${error.message}`, retryable: false };
  if (error instanceof WrongExpectedRevisionError)
    return {
      reason: `concurrency: the template is at revision ${String(error.actual)}, the item expected ${String(error.expected)}`,
      retryable: false,
    };
  if (error instanceof IdempotencyConflictError)
    return {
      reason: 'idempotency: this item id was used for a different change',
      retryable: false,
    };
  return {
    reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    retryable: true,
  };
}

export async function runBatchItem(deps: TemplateCommandDeps, target: BatchItemTarget): Promise<ItemOutcome> {
  const { batchId, tenantId, index, item } = target;
  try {
    // A create plans the same command whatever the stream holds, and its "before" is no template: no read.
    // (A template someone else created under that id is refused by the create itself: template.exists.)
    const before =
      item.operation === 'create'
        ? { state: templateDecider.initialState(), revision: null }
        : await stateBeforeItem(deps, tenantId, item.templateId, batchItemCommandId(batchId, index));
    const commands = templateCommandsForItem(item, tenantId, before.state);
    if (commands.length === 0) {
      if (item.operation !== 'restore' || before.revision === null)
        throw new RuleViolation('batch.item.nothing_to_run', 'the item maps to no template command', 'unprocessable');
      // Already at the restore target: nothing to append.
      return {
        index,
        outcome: 'succeeded',
        revisionBefore: before.revision,
        revision: before.revision,
        before: markOf(before.state),
        after: markOf(before.state),
      };
    }
    let result: TemplateCommandResult | undefined;
    for (const [step, command] of commands.entries()) {
      const context: CommandContext = {
        tenantId,
        userId: target.requestedBy,
        commandId: batchItemCommandId(batchId, index, step),
        correlationId: batchId,
        causationId: batchId,
      };
      const expected = step === 0 ? (target.runAgainstRevision === null ? undefined : BigInt(target.runAgainstRevision)) : result?.revision;
      result = await runTemplateCommand(deps, context, item.templateId, command, expected);
    }
    return {
      index,
      outcome: 'succeeded',
      revisionBefore: item.operation === 'create' ? null : before.revision,
      revision: Number(result!.revision),
      before: markOf(before.state),
      after: markOf(result!.state),
    };
  } catch (error) {
    return { index, outcome: 'failed', ...failureOf(error) };
  }
}
