// Environment commands: the decider, plus the per-tenant uniqueness of names and targets (claimed before the
// event that takes them, given back after the one that frees them) and the deployments census that keeps an
// environment with running deployments from being deleted unless forced.
import {
  assertEnvironmentExists,
  assertMayDeleteEnvironment,
  assertMayUpdateEnvironment,
  ENVIRONMENT_CATEGORY,
  environmentDecider,
  environmentStreamId,
  validSettings,
  type EnvironmentCommand,
  type EnvironmentEvent,
  type EnvironmentSettings,
  type EnvironmentState,
} from '../../domain/environments/index.js';
import { notFoundOf } from '../../domain/not-found.js';
import { WrongExpectedRevisionError } from '../../ports/event-store.js';
import { normalizeReservedValue } from '../reservations.js';
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
import { assertUnclaimed, environmentNameClaim, environmentTargetClaim } from './environment-claims.js';

export type EnvironmentCommandResult = CommandResult<EnvironmentState, EnvironmentEvent>;

export interface EnvironmentCommandDeps extends CommandDeps {
  /** How many deployments run in the environment (the deployments feature's census). */
  readonly runningDeployments: (tenantId: string, environmentId: string) => Promise<number>;
}

export interface EnvironmentTarget {
  readonly environmentId: string;
  /** The revision the caller last saw (HTTP If-Match). */
  readonly expectedRevision?: bigint;
}

/** A partial update: top-level fields replace, the four groups merge field by field (`null` removes one). */
export interface EnvironmentChanges {
  name?: string;
  type?: EnvironmentSettings['type'];
  orchestrator?: EnvironmentSettings['orchestrator'];
  target?: string;
  flags?: Partial<EnvironmentSettings['flags']>;
  quotas?: { [K in keyof EnvironmentSettings['quotas']]?: EnvironmentSettings['quotas'][K] | null };
  networking?: { [K in keyof EnvironmentSettings['networking']]?: EnvironmentSettings['networking'][K] | null };
  security?: { [K in keyof EnvironmentSettings['security']]?: EnvironmentSettings['security'][K] | null };
}

function mergeGroup<T extends object>(current: T, changes: object | undefined): T {
  if (!changes) return current;
  const merged = { ...current } as Record<string, unknown>;
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else if (value !== undefined) merged[key] = value;
  }
  return merged as T;
}

export function mergeSettings(current: EnvironmentSettings, changes: EnvironmentChanges): EnvironmentSettings {
  return {
    name: changes.name ?? current.name,
    type: changes.type ?? current.type,
    orchestrator: changes.orchestrator ?? current.orchestrator,
    target: changes.target ?? current.target,
    flags: mergeGroup(current.flags, changes.flags),
    quotas: mergeGroup(current.quotas, changes.quotas),
    networking: mergeGroup(current.networking, changes.networking),
    security: mergeGroup(current.security, changes.security),
  };
}

const load = (deps: CommandDeps, context: CommandContext, environmentId: string, asOf?: Date) =>
  loadAggregate(deps, environmentDecider, environmentStreamId(context.tenantId, environmentId), {
    tenantId: context.tenantId,
    ...(asOf ? { asOf } : {}),
  });

function run(deps: CommandDeps, context: CommandContext, target: EnvironmentTarget, command: EnvironmentCommand, expectNew = false) {
  return handleCommand(deps, environmentDecider, {
    streamId: environmentStreamId(context.tenantId, target.environmentId),
    command,
    context,
    ...(target.expectedRevision !== undefined ? { expectedRevision: target.expectedRevision } : {}),
    ...(expectNew ? { expectNew } : {}),
  });
}

/** The claims an environment that leaves the living gives back. */
const claimsOf = (deps: CommandDeps, context: CommandContext, environmentId: string, settings: EnvironmentSettings) => [
  environmentNameClaim(deps, context, environmentId, settings.name),
  environmentTargetClaim(deps, context, environmentId, settings),
];

export async function createEnvironment(
  deps: CommandDeps,
  context: CommandContext,
  input: { environmentId: string; settings: EnvironmentSettings },
): Promise<EnvironmentCommandResult> {
  const environmentId = input.environmentId.toLowerCase();
  const settings = validSettings(input.settings); // bad input fails before any claim
  const command: EnvironmentCommand = { type: 'CreateEnvironment', data: { environmentId, settings } };
  // An existing stream needs no claim: the handler answers a retry, or refuses with environment.exists.
  const exists = (await load(deps, context, environmentId)).revision !== undefined;
  if (exists) return run(deps, context, { environmentId }, command);
  const nameClaim = environmentNameClaim(deps, context, environmentId, settings.name);
  const targetClaim = environmentTargetClaim(deps, context, environmentId, settings);
  for (const claim of [nameClaim, targetClaim]) await assertUnclaimed(deps, claim);
  return claimRunGiveBack(deps, { claim: nameClaim }, () =>
    claimRunGiveBack(deps, { claim: targetClaim }, () => run(deps, context, { environmentId }, command, true)),
  );
}

/** Merges on the current settings; without If-Match, a concurrent change makes it merge again on the newer
 * ones (at most three times) rather than overwrite that change or refuse. */
export async function updateEnvironment(
  deps: CommandDeps,
  context: CommandContext,
  input: EnvironmentTarget & { changes: EnvironmentChanges },
): Promise<EnvironmentCommandResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await updateOnce(deps, context, input);
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || input.expectedRevision !== undefined || attempt >= 3) throw error;
    }
  }
}

async function updateOnce(
  deps: CommandDeps,
  context: CommandContext,
  input: EnvironmentTarget & { changes: EnvironmentChanges },
): Promise<EnvironmentCommandResult> {
  const before = await load(deps, context, input.environmentId);
  if (alreadyHandled(before, context)) {
    assertEnvironmentExists(before.state);
    return run(deps, context, input, { type: 'UpdateEnvironment', data: { settings: before.state.settings } });
  }
  assertEnvironmentExists(before.state);
  const settings = assertMayUpdateEnvironment(before.state, mergeSettings(before.state.settings, input.changes));
  assertExpectedRevision(before.streamId, input.expectedRevision, before);
  const oldName = before.state.settings.name;
  const renamed = normalizeReservedValue(oldName) !== normalizeReservedValue(settings.name);
  // Pinned to the revision the merge was computed on: a concurrent change makes this one fail, not undo it.
  const pinned = { ...input, expectedRevision: input.expectedRevision ?? before.revision! };
  return claimRunGiveBack(
    deps,
    {
      claim: renamed ? environmentNameClaim(deps, context, input.environmentId, settings.name) : undefined,
      giveBackAfter: () => (renamed ? [environmentNameClaim(deps, context, input.environmentId, oldName)] : []),
    },
    () => run(deps, context, pinned, { type: 'UpdateEnvironment', data: { settings } }),
  );
}

export async function deleteEnvironment(
  deps: EnvironmentCommandDeps,
  context: CommandContext,
  input: EnvironmentTarget & { force: boolean },
): Promise<EnvironmentCommandResult> {
  const before = await load(deps, context, input.environmentId);
  const handled = alreadyHandled(before, context);
  assertEnvironmentExists(before.state);
  const runningDeployments = handled ? 0 : await deps.runningDeployments(context.tenantId, input.environmentId.toLowerCase());
  if (!handled) {
    assertMayDeleteEnvironment(before.state, input.force, runningDeployments);
    assertExpectedRevision(before.streamId, input.expectedRevision, before);
  }
  const settings = before.state.settings;
  return claimRunGiveBack(
    deps,
    { giveBackAfter: (result) => (result.state.status === 'deleted' ? claimsOf(deps, context, input.environmentId, settings) : []) },
    () => run(deps, context, input, { type: 'DeleteEnvironment', data: { force: input.force, runningDeployments } }),
  );
}

/** For whoever does orchestrator work for the environment (the reconciler): it failed, with the reason. */
export const markEnvironmentFailed = (deps: CommandDeps, context: CommandContext, input: EnvironmentTarget & { reason: string }) =>
  run(deps, context, input, { type: 'MarkEnvironmentFailed', data: { reason: input.reason } });

/** For the reconciler: the environment's orchestrator work succeeded (after a failure). */
export const activateEnvironment = (deps: CommandDeps, context: CommandContext, input: EnvironmentTarget) =>
  run(deps, context, input, { type: 'ActivateEnvironment', data: {} });

/** For the reconciler: a forced delete has torn every deployment down; frees the name and target. */
export async function finishEnvironmentDeletion(deps: CommandDeps, context: CommandContext, input: EnvironmentTarget) {
  return claimRunGiveBack(
    deps,
    {
      giveBackAfter: (result: EnvironmentCommandResult) =>
        result.state.status === 'deleted' ? claimsOf(deps, context, input.environmentId, result.state.settings) : [],
    },
    () => run(deps, context, input, { type: 'FinishEnvironmentDeletion', data: {} }),
  );
}

/** The environment as it was at `asOf` (audit); undefined if it did not exist then. */
/**
 * The environment as it was at `asOf`; undefined when it did not exist yet then. One that never existed (or
 * is another tenant's) is the environment's not-found, so "not at that moment" tells nothing of other tenants.
 */
export async function environmentAsOf(deps: CommandDeps, context: Pick<CommandContext, 'tenantId'>, environmentId: string, asOf: Date) {
  const streamId = environmentStreamId(context.tenantId, environmentId);
  const loaded = await loadAggregate(deps, environmentDecider, streamId, { tenantId: context.tenantId, asOf });
  if (loaded.state.status !== 'absent') return { state: loaded.state, revision: loaded.revision!, events: loaded.events };
  const now = await loadAggregate(deps, environmentDecider, streamId, { tenantId: context.tenantId });
  if (now.revision === undefined) throw notFoundOf(ENVIRONMENT_CATEGORY);
  return undefined;
}
