// Backup policy commands: the aggregate's decider, the unique name per tenant (a reservation stream), and
// runs. A run records itself on the policy's stream (appended at the revision that was read, so two runs
// racing cannot both pass the "last backup is not running" check) and then requests the backup, whose id
// derives from the run's command id: a retried run (same Idempotency-Key, or the scheduler's id for a
// slot) names the same backup and starts nothing new.
import {
  assertBackupPolicyExists,
  assertMinimumInterval,
  assertValidBackupPolicyId,
  assertValidSchedule,
  backupPolicyDecider,
  backupPolicyStreamId,
  canonicalBackupPolicyId,
  DEFAULT_MIN_SCHEDULE_INTERVAL_SECONDS,
  validBackupPolicySettings,
  type BackupPolicyCommand,
  type BackupPolicyEvent,
  type BackupPolicySettings,
  type BackupPolicyState,
  type ExistingBackupPolicy,
} from '../../domain/backup-policies/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { WrongExpectedRevisionError } from '../../ports/event-store.js';
import { backupIdFor, loadBackup, requestBackup } from '../backups/index.js';
import {
  alreadyHandled,
  assertExpectedRevision,
  handleCommand,
  loadAggregate,
  type CommandContext,
  type CommandDeps,
  type CommandResult,
} from '../handle-command.js';
import { claimRunGiveBack } from '../reservations.js';
import { policyNameClaim, samePolicyName } from './backup-policy-name-claim.js';

export type BackupPolicyCommandResult = CommandResult<BackupPolicyState, BackupPolicyEvent>;

export interface BackupPolicyTarget {
  readonly policyId: string;
  /** The revision the caller last saw (HTTP If-Match). */
  readonly expectedRevision?: bigint;
}

const now = (deps: CommandDeps) => deps.clock().toISOString();

function run(deps: CommandDeps, context: CommandContext, target: BackupPolicyTarget, command: BackupPolicyCommand) {
  return handleCommand(deps, backupPolicyDecider, {
    streamId: backupPolicyStreamId(context.tenantId, target.policyId),
    command,
    context,
    ...(target.expectedRevision !== undefined ? { expectedRevision: target.expectedRevision } : {}),
  });
}

export const loadBackupPolicy = (deps: CommandDeps, tenantId: string, policyId: string) =>
  loadAggregate(deps, backupPolicyDecider, backupPolicyStreamId(tenantId, policyId), { tenantId });

/** What the operator configures about schedules (BACKUP_POLICY_MIN_INTERVAL_SECONDS). */
export interface BackupPolicyLimits {
  readonly minIntervalSeconds?: number;
}

export async function createBackupPolicy(
  deps: CommandDeps,
  context: CommandContext,
  input: BackupPolicySettings & { policyId: string; enabled: boolean },
  limits: BackupPolicyLimits = {},
): Promise<BackupPolicyCommandResult> {
  const policyId = canonicalBackupPolicyId(input.policyId);
  const at = now(deps);
  assertValidBackupPolicyId(policyId);
  validBackupPolicySettings(input, new Date(at)); // bad input fails before any claim
  assertMinimumInterval(input.schedule, new Date(at), limits.minIntervalSeconds ?? DEFAULT_MIN_SCHEDULE_INTERVAL_SECONDS);
  const exists = (await loadBackupPolicy(deps, context.tenantId, policyId)).revision !== undefined;
  return claimRunGiveBack(deps, { claim: exists ? undefined : policyNameClaim(deps, context, policyId, input.name) }, () =>
    run(deps, context, { policyId }, { type: 'CreateBackupPolicy', data: { ...input, policyId, at } }),
  );
}

/** Changes any settings in one event; a new name is claimed first and the old one given back after. */
export async function updateBackupPolicy(
  deps: CommandDeps,
  context: CommandContext,
  input: BackupPolicyTarget & { changes: Partial<BackupPolicySettings> },
  limits: BackupPolicyLimits = {},
): Promise<BackupPolicyCommandResult> {
  const command: BackupPolicyCommand = { type: 'UpdateBackupPolicy', data: { ...input.changes, at: now(deps) } };
  if (input.changes.schedule !== undefined) {
    assertValidSchedule(input.changes.schedule, deps.clock()); // an impossible schedule is refused as such first
    assertMinimumInterval(input.changes.schedule, deps.clock(), limits.minIntervalSeconds ?? DEFAULT_MIN_SCHEDULE_INTERVAL_SECONDS);
  }
  const { name } = input.changes;
  if (name === undefined) return run(deps, context, input, command);
  const before = await loadBackupPolicy(deps, context.tenantId, input.policyId);
  const handled = alreadyHandled(before, context);
  if (!handled) {
    assertBackupPolicyExists(before.state);
    validBackupPolicySettings({ ...before.state, ...input.changes }, deps.clock());
    assertExpectedRevision(before.streamId, input.expectedRevision, before);
  }
  const keepsName = before.state.status === 'active' && samePolicyName(before.state.name, name);
  return claimRunGiveBack(
    deps,
    {
      claim: handled || keepsName ? undefined : policyNameClaim(deps, context, input.policyId, name),
      giveBackAfter: (result) =>
        result.events.flatMap((event) =>
          event.type === 'BackupPolicyUpdated' && !samePolicyName(event.data.previousName, event.data.name)
            ? [policyNameClaim(deps, context, input.policyId, event.data.previousName)]
            : [],
        ),
    },
    () => run(deps, context, input, command),
  );
}

export const enableBackupPolicy = (deps: CommandDeps, context: CommandContext, target: BackupPolicyTarget) =>
  run(deps, context, target, { type: 'EnableBackupPolicy', data: { at: now(deps) } });

export const disableBackupPolicy = (deps: CommandDeps, context: CommandContext, target: BackupPolicyTarget) =>
  run(deps, context, target, { type: 'DisableBackupPolicy', data: { at: now(deps) } });

export function deleteBackupPolicy(deps: CommandDeps, context: CommandContext, target: BackupPolicyTarget) {
  return claimRunGiveBack(
    deps,
    {
      giveBackAfter: (result) =>
        result.events.flatMap((event) =>
          event.type === 'BackupPolicyDeleted' ? [policyNameClaim(deps, context, target.policyId, event.data.name)] : [],
        ),
    },
    () => run(deps, context, target, { type: 'DeleteBackupPolicy', data: { at: now(deps) } }),
  );
}

/** The policy's last backup when it is still running (a policy never runs two at once). */
export async function runningBackupOf(deps: CommandDeps, tenantId: string, policy: ExistingBackupPolicy): Promise<string | undefined> {
  if (!policy.lastBackupId) return undefined;
  try {
    const { state } = await loadBackup(deps, tenantId, policy.lastBackupId);
    return state.status === 'running' && !state.deleted ? policy.lastBackupId : undefined;
  } catch (error) {
    if (error instanceof RuleViolation && error.kind === 'not_found') return undefined;
    throw error;
  }
}

export type PolicyRunOutcome =
  | { readonly outcome: 'started'; readonly backupId: string; readonly result: BackupPolicyCommandResult }
  | { readonly outcome: 'skipped'; readonly blockingBackupId: string; readonly result: BackupPolicyCommandResult }
  /** The slot is behind the schedule already (run, skipped, or the policy was changed since). */
  | { readonly outcome: 'not_due'; readonly result: BackupPolicyCommandResult };

export interface PolicyRunRequest {
  readonly trigger: 'schedule' | 'manual';
  readonly slot?: Date;
  readonly missed?: number;
}

/**
 * Runs a policy now: a manual run (409 while its last backup runs) or the scheduler's run of a slot (a
 * slot whose last backup still runs is recorded as skipped). Idempotent per command id.
 */
export async function runBackupPolicy(
  deps: CommandDeps,
  context: CommandContext,
  target: BackupPolicyTarget,
  request: PolicyRunRequest,
): Promise<PolicyRunOutcome> {
  const loaded = await loadBackupPolicy(deps, context.tenantId, target.policyId);
  const backupId = backupIdFor(context);
  const at = now(deps);
  const slot = request.slot?.toISOString() ?? null;
  let result: BackupPolicyCommandResult;
  if (alreadyHandled(loaded, context)) {
    // A retry: answer with the first run's events, and make sure its backup was requested.
    result = await run(deps, context, target, {
      type: 'RecordBackupPolicyRun',
      data: { backupId, trigger: request.trigger, slot, missed: request.missed ?? 1, at },
    });
    const skipped = result.events.find((event) => event.type === 'BackupPolicyRunSkipped');
    if (skipped) return { outcome: 'skipped', blockingBackupId: skipped.data.blockingBackupId, result };
  } else {
    assertBackupPolicyExists(loaded.state);
    assertExpectedRevision(loaded.streamId, target.expectedRevision, loaded);
    const blocking = await runningBackupOf(deps, context.tenantId, loaded.state);
    const pinned = { ...target, expectedRevision: loaded.revision ?? -1n };
    try {
      if (blocking && request.trigger === 'manual')
        throw new RuleViolation('backup_policy.run.running', `the policy's last backup ${blocking} is still running`, 'conflict');
      if (blocking) {
        const skippedResult = await run(deps, context, pinned, {
          type: 'SkipBackupPolicyRun',
          data: { slot: slot!, blockingBackupId: blocking, at },
        });
        return { outcome: 'skipped', blockingBackupId: blocking, result: skippedResult };
      }
      result = await run(deps, context, pinned, {
        type: 'RecordBackupPolicyRun',
        data: { backupId, trigger: request.trigger, slot, missed: request.missed ?? 1, at },
      });
    } catch (error) {
      // Another run (or change) got in between the check and the append: for a manual run a conflict,
      // for the scheduler a retry of its job.
      if (error instanceof WrongExpectedRevisionError && target.expectedRevision === undefined)
        throw new RuleViolation('backup_policy.run.concurrent', 'the policy changed or started a run meanwhile; try again', 'conflict');
      throw error;
    }
  }
  if (result.events.length === 0) return { outcome: 'not_due', result };
  const policy = result.state;
  assertBackupPolicyExists(policy);
  await requestBackup(deps, context, {
    name: `${policy.name} ${slot ?? at}`,
    type: policy.backupType,
    scope: policy.scope,
    incremental: policy.incremental,
    policyId: policy.policyId,
  });
  return { outcome: 'started', backupId, result };
}
