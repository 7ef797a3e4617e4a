// An environment: where deployments run (a Kubernetes namespace or a Docker network) and the rules they
// obey there (quotas, networking, security). It is logical: recording it needs no orchestrator, so it is
// `active` as soon as it exists, even when its orchestrator is not reachable now (deploying to it is what is
// refused). `failed` (with the reason) and back to `active` are recorded by whoever does orchestrator work
// for it; `deleting` lasts while a forced delete tears its deployments down. Names are unique per tenant
// through a reservation stream (commands/environments/environment-claims.ts), not here.
import type { Decider } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { ENVIRONMENT_CATEGORY } from './environment-streams.js';
import { isUuid } from '../uuid.js';
import type { EnvironmentCommand } from './environment-commands.js';
import type { EnvironmentEvent } from './environment-events.js';
import { validSettings, type EnvironmentSettings } from './environment-spec.js';

export const ENVIRONMENT_STATUSES = ['creating', 'active', 'updating', 'deleting', 'deleted', 'failed'] as const;
export type EnvironmentStatus = (typeof ENVIRONMENT_STATUSES)[number];
export const FAILURE_REASON_MAX = 2000;

export type EnvironmentState =
  { status: 'absent' } | { status: EnvironmentStatus; environmentId: string; settings: EnvironmentSettings; reason?: string };

type Existing = Exclude<EnvironmentState, { status: 'absent' }>;

export function assertEnvironmentExists(state: EnvironmentState): asserts state is Existing {
  if (state.status === 'absent' || state.status === 'deleted') throw notFoundOf(ENVIRONMENT_CATEGORY);
}

function assertNotDeleting(state: Existing): void {
  if (state.status === 'deleting') throw new RuleViolation('environment.deleting', 'the environment is being deleted', 'conflict');
}

/** The top-level settings that differ (what an update event lists as changed). */
export function changedSettings(before: EnvironmentSettings, after: EnvironmentSettings): string[] {
  return (Object.keys(after) as (keyof EnvironmentSettings)[]).filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

/** The checks an update must pass before the command layer claims a new name. */
export function assertMayUpdateEnvironment(state: EnvironmentState, settings: EnvironmentSettings): EnvironmentSettings {
  assertEnvironmentExists(state);
  assertNotDeleting(state);
  const valid = validSettings(settings);
  // Moving a namespace or network under running deployments is a migration, not an edit.
  for (const field of ['orchestrator', 'target'] as const) {
    if (valid[field] !== state.settings[field])
      throw new RuleViolation(
        `environment.${field}.immutable`,
        `${field} cannot change; create another environment`,
        'unprocessable',
        field,
      );
  }
  return valid;
}

/** Refuses a delete while deployments run in the environment, unless forced. */
export function assertMayDeleteEnvironment(state: EnvironmentState, force: boolean, runningDeployments: number): asserts state is Existing {
  assertEnvironmentExists(state);
  if (runningDeployments > 0 && !force)
    throw new RuleViolation(
      'environment.has_deployments',
      `${runningDeployments} deployment(s) still run in this environment; delete them first or pass force=true`,
      'conflict',
      'force',
    );
}

function decide(command: EnvironmentCommand, state: EnvironmentState): EnvironmentEvent[] {
  if (command.type === 'CreateEnvironment') {
    if (state.status !== 'absent')
      throw new RuleViolation('environment.exists', 'this environment already exists', 'conflict', 'environmentId');
    if (!isUuid(command.data.environmentId))
      throw new RuleViolation('environment.id.format', 'environmentId must be a UUID', 'invalid', 'environmentId');
    return [
      { type: 'EnvironmentCreated', data: { environmentId: command.data.environmentId, settings: validSettings(command.data.settings) } },
    ];
  }
  assertEnvironmentExists(state);
  const { environmentId } = state;
  switch (command.type) {
    case 'UpdateEnvironment': {
      const settings = assertMayUpdateEnvironment(state, command.data.settings);
      const changed = changedSettings(state.settings, settings);
      return changed.length === 0 ? [] : [{ type: 'EnvironmentUpdated', data: { environmentId, settings, changed } }];
    }
    case 'DeleteEnvironment': {
      const { force, runningDeployments } = command.data;
      assertMayDeleteEnvironment(state, force, runningDeployments);
      if (state.status === 'deleting') return [];
      const data = { environmentId, name: state.settings.name, force, runningDeployments };
      return [{ type: runningDeployments > 0 ? 'EnvironmentDeletionStarted' : 'EnvironmentDeleted', data }];
    }
    case 'MarkEnvironmentFailed': {
      assertNotDeleting(state);
      const reason = command.data.reason.trim().slice(0, FAILURE_REASON_MAX) || 'unspecified';
      return state.status === 'failed' && state.reason === reason ? [] : [{ type: 'EnvironmentFailed', data: { environmentId, reason } }];
    }
    case 'ActivateEnvironment':
      assertNotDeleting(state);
      return state.status === 'active' ? [] : [{ type: 'EnvironmentActivated', data: { environmentId } }];
    case 'FinishEnvironmentDeletion':
      if (state.status !== 'deleting') throw new RuleViolation('environment.not_deleting', 'no deletion is under way', 'conflict');
      return [{ type: 'EnvironmentDeleted', data: { environmentId, name: state.settings.name, force: true, runningDeployments: 0 } }];
    default: {
      const unknownCommand: never = command;
      throw new Error(`unknown command ${(unknownCommand as { type: string }).type}`);
    }
  }
}

function evolve(state: EnvironmentState, event: EnvironmentEvent): EnvironmentState {
  if (event.type === 'EnvironmentCreated')
    return { status: 'active', environmentId: event.data.environmentId, settings: event.data.settings };
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'EnvironmentUpdated':
      return { ...state, settings: event.data.settings };
    case 'EnvironmentFailed':
      return { ...state, status: 'failed', reason: event.data.reason };
    case 'EnvironmentActivated': {
      const { reason: _dropped, ...rest } = state;
      return { ...rest, status: 'active' };
    }
    case 'EnvironmentDeletionStarted':
      return { ...state, status: 'deleting' };
    case 'EnvironmentDeleted':
      return { ...state, status: 'deleted' };
    default: {
      // Every event of the union is handled above (checked here); one this version does not know
      // (written by a newer one) changes nothing, so a fold never fails on it.
      const unknownEvent: never = event;
      void unknownEvent;
      return state;
    }
  }
}

export const environmentDecider: Decider<EnvironmentState, EnvironmentCommand, EnvironmentEvent> = {
  initialState: () => ({ status: 'absent' }),
  decide,
  evolve,
};
