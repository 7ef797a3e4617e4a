// Deployment commands: what the routes and the reconciler call. The checks that need other aggregates
// (the environment and its quotas, configs a service names, whether its orchestrator is configured) run
// here before anything is written; the name is unique per environment through a reservation stream.
import {
  assertDeploymentExists,
  assertWithinQuota,
  assertWithinQuotas,
  checkServices,
  configNamesOf,
  deploymentDecider,
  deploymentStreamId,
  validName,
  validReplicas,
  type DeploymentCommand,
  type DeploymentEvent,
  type DeploymentPolicy,
  type DeploymentState,
  type Quotas,
  type ServiceInput,
  type ServiceSpec,
} from '../../domain/deployments/index.js';
import { RuleViolation, collectViolations } from '../../domain/rule-violation.js';
import type { EnvironmentDirectory, EnvironmentView } from '../../ports/environment-directory.js';
import { ORCHESTRATOR_SETTING, type OrchestratorRegistry } from '../../ports/orchestrator.js';
import { deterministicUuid } from '../deterministic-uuid.js';
import {
  alreadyHandled,
  handleCommand,
  loadAggregate,
  type CommandContext,
  type CommandDeps,
  type CommandResult,
} from '../handle-command.js';
import { claimRunGiveBack, type ReservationRequest } from '../reservations.js';

export interface DeploymentCommandDeps extends CommandDeps {
  readonly directory: EnvironmentDirectory;
  readonly orchestrators: OrchestratorRegistry;
  /** Default progress deadline of a rollout (seconds). */
  readonly progressDeadlineSeconds?: number;
}

export type DeploymentCommandResult = CommandResult<DeploymentState, DeploymentEvent>;

export interface DeploymentTargetInput {
  readonly deploymentId: string;
  /** The revision the caller last saw (If-Match). */
  readonly expectedRevision?: bigint;
}

export const DEPLOYMENT_NAME_SCOPE = 'deployment.name';
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

const now = (deps: CommandDeps) => deps.clock().toISOString();
const rolloutIdOf = (deploymentId: string, context: CommandContext) => deterministicUuid(`rollout:${deploymentId}`, context.commandId);

function validVersion(version: string): string {
  if (!VERSION.test(version))
    throw new RuleViolation(
      'deployment.version.format',
      'version must be 1–128 letters, digits, . _ + -, starting with a letter or digit',
      'invalid',
      'version',
    );
  return version;
}

const quotasOf = (environment: EnvironmentView): Quotas => ({
  maxReplicasPerService: environment.quotas.maxReplicasPerService ?? null,
  maxTotalReplicas: environment.quotas.maxTotalReplicas ?? null,
  cpuMillis: environment.quotas.cpuMillis ?? null,
  memoryMb: environment.quotas.memoryMb ?? null,
});

/** The environment, refused as unknown when missing, deleted or another tenant's. */
async function environmentOf(deps: DeploymentCommandDeps, tenantId: string, environmentId: string): Promise<EnvironmentView> {
  const environment = environmentId.length > 0 ? await deps.directory.environment(tenantId, environmentId) : undefined;
  if (!environment || environment.status === 'deleted' || environment.status === 'deleting') {
    throw new RuleViolation('deployment.environment.not_found', `no environment ${environmentId}`, 'unprocessable', 'environmentId');
  }
  return environment;
}

/** Deploying needs the environment's orchestrator configured: a 409 that says what to set. */
function assertOrchestrator(deps: DeploymentCommandDeps, kind: 'docker' | 'kubernetes'): void {
  if (!deps.orchestrators.get(kind)) {
    throw new RuleViolation(
      'deployment.orchestrator.not_configured',
      `the environment runs on ${kind}, which this service is not configured for: set ${ORCHESTRATOR_SETTING[kind]}`,
      'conflict',
      'environmentId',
    );
  }
}

/** Every config a service names exists (in the environment or tenant-wide) and is of a fitting type. */
async function assertConfigsExist(
  deps: DeploymentCommandDeps,
  tenantId: string,
  environmentId: string,
  services: readonly ServiceSpec[],
): Promise<void> {
  const names = [...new Set(services.flatMap(configNamesOf))];
  if (names.length === 0) return;
  const refs = await deps.directory.configRefs(tenantId, environmentId, names);
  for (const [index, service] of services.entries()) {
    for (const [v, volume] of service.volumes.entries()) {
      if (!volume.source) continue;
      const ref = refs.get(volume.source);
      const field = `services.${index}.volumes.${v}.source`;
      if (!ref)
        throw new RuleViolation(
          `deployment.volume.${volume.kind}_missing`,
          `no ${volume.kind} named ${volume.source} in the environment`,
          'unprocessable',
          field,
        );
      if (volume.kind === 'secret' && ref.type !== 'secret')
        throw new RuleViolation('deployment.volume.not_secret', `${volume.source} is a ${ref.type}, not a secret`, 'unprocessable', field);
      if (volume.kind === 'configmap' && ref.type === 'secret')
        throw new RuleViolation(
          'deployment.volume.is_secret',
          `${volume.source} is a secret: mount it as a secret volume`,
          'unprocessable',
          field,
        );
    }
    for (const [e, name] of service.envFrom.entries()) {
      if (!refs.has(name))
        throw new RuleViolation(
          'deployment.env_from.missing',
          `no config named ${name} in the environment`,
          'unprocessable',
          `services.${index}.envFrom.${e}`,
        );
    }
  }
}

const load = (deps: CommandDeps, context: CommandContext, deploymentId: string) =>
  loadAggregate(deps, deploymentDecider, deploymentStreamId(context.tenantId, deploymentId), { tenantId: context.tenantId });

function run(
  deps: CommandDeps,
  context: CommandContext,
  target: DeploymentTargetInput,
  command: DeploymentCommand,
  expectNew = false,
): Promise<DeploymentCommandResult> {
  return handleCommand(deps, deploymentDecider, {
    streamId: deploymentStreamId(context.tenantId, target.deploymentId),
    command,
    context,
    ...(target.expectedRevision !== undefined ? { expectedRevision: target.expectedRevision } : {}),
    ...(expectNew ? { expectNew } : {}),
  });
}

function nameClaim(
  deps: CommandDeps,
  context: CommandContext,
  deploymentId: string,
  environmentId: string,
  name: string,
): ReservationRequest {
  return {
    scope: DEPLOYMENT_NAME_SCOPE,
    tenantId: context.tenantId,
    value: `${environmentId}/${name}`,
    ownerStreamId: deploymentStreamId(context.tenantId, deploymentId),
    context,
    field: 'name',
    stillHolds: async () => {
      const { state } = await load(deps, context, deploymentId).catch(() => ({ state: { status: 'absent' } as DeploymentState }));
      return state.status === 'exists' && !state.deleted;
    },
  };
}

export interface DeployInput {
  readonly deploymentId: string;
  readonly name: string;
  readonly applicationId: string;
  readonly environmentId: string;
  readonly version: string;
  readonly services: readonly ServiceInput[];
  readonly policy?: Partial<DeploymentPolicy>;
  readonly reason?: string;
}

export async function deploy(deps: DeploymentCommandDeps, context: CommandContext, input: DeployInput): Promise<DeploymentCommandResult> {
  const deploymentId = input.deploymentId.toLowerCase();
  const before = await load(deps, context, deploymentId);
  if (alreadyHandled(before, context)) return run(deps, context, { deploymentId }, { type: 'Deploy', data: {} as never });
  if (before.revision !== undefined)
    throw new RuleViolation('deployment.exists', 'this deployment already exists', 'conflict', 'deploymentId');
  // The whole request is checked before anything else is asked (the environment, its orchestrator): one
  // answer names every field at fault.
  const found = collectViolations();
  const name = found.attempt(() => validName(input.name, 'name'));
  if (input.applicationId.length < 1 || input.applicationId.length > 200)
    found.attempt(() => {
      throw new RuleViolation('deployment.application_id', 'applicationId must be 1–200 characters', 'invalid', 'applicationId');
    });
  const version = found.attempt(() => validVersion(input.version));
  const deadline = input.policy?.progressDeadlineSeconds ?? deps.progressDeadlineSeconds ?? 300;
  if (!Number.isInteger(deadline) || deadline < 1 || deadline > 86_400)
    found.attempt(() => {
      throw new RuleViolation(
        'deployment.policy.deadline',
        'progressDeadlineSeconds must be 1–86400',
        'invalid',
        'policy.progressDeadlineSeconds',
      );
    });
  const services = checkServices(input.services, found);
  found.throwIfAny();
  const environment = await environmentOf(deps, context.tenantId, input.environmentId);
  assertOrchestrator(deps, environment.orchestrator);
  assertWithinQuotas(services!, quotasOf(environment));
  await assertConfigsExist(deps, context.tenantId, environment.environmentId, services!);
  const policy: DeploymentPolicy = {
    autoRollback: input.policy?.autoRollback ?? environment.type === 'production',
    selfHeal: input.policy?.selfHeal ?? true,
    progressDeadlineSeconds: deadline,
  };
  const command: DeploymentCommand = {
    type: 'Deploy',
    data: {
      deploymentId,
      name: name!,
      applicationId: input.applicationId,
      environment: {
        environmentId: environment.environmentId,
        type: environment.type,
        orchestrator: environment.orchestrator,
        target: environment.target,
      },
      version: version!,
      services: services!,
      policy,
      reason: input.reason ?? 'initial deployment',
      rolloutId: rolloutIdOf(deploymentId, context),
      now: now(deps),
    },
  };
  return claimRunGiveBack(deps, { claim: nameClaim(deps, context, deploymentId, environment.environmentId, name!) }, () =>
    run(deps, context, { deploymentId }, command, true),
  );
}

/** The deployment as it is, refused when missing (or another tenant's), and its environment. */
async function existing(deps: DeploymentCommandDeps, context: CommandContext, target: DeploymentTargetInput) {
  const loaded = await load(deps, context, target.deploymentId);
  assertDeploymentExists(loaded.state);
  return { loaded, state: loaded.state };
}

export async function updateDeployment(
  deps: DeploymentCommandDeps,
  context: CommandContext,
  input: DeploymentTargetInput & { version: string; services: readonly ServiceInput[]; reason?: string },
): Promise<DeploymentCommandResult> {
  const { loaded, state } = await existing(deps, context, input);
  if (!alreadyHandled(loaded, context)) {
    const found = collectViolations();
    const version = found.attempt(() => validVersion(input.version));
    const services = checkServices(input.services, found);
    found.throwIfAny();
    const environment = await environmentOf(deps, context.tenantId, state.environmentId);
    assertOrchestrator(deps, state.orchestrator);
    assertWithinQuotas(services!, quotasOf(environment));
    await assertConfigsExist(deps, context.tenantId, state.environmentId, services!);
    const command: DeploymentCommand = {
      type: 'Update',
      data: {
        version: version!,
        services: services!,
        reason: input.reason ?? 'update',
        rolloutId: rolloutIdOf(input.deploymentId, context),
        now: now(deps),
      },
    };
    return run(deps, context, input, command);
  }
  return run(deps, context, input, { type: 'Update', data: {} as never });
}

export async function scaleService(
  deps: DeploymentCommandDeps,
  context: CommandContext,
  input: DeploymentTargetInput & { service: string; replicas: number; reason?: string },
): Promise<DeploymentCommandResult> {
  const { state } = await existing(deps, context, input);
  validReplicas(input.replicas, 'replicas');
  const environment = await environmentOf(deps, context.tenantId, state.environmentId);
  assertWithinQuota(input, quotasOf(environment), 'replicas');
  assertOrchestrator(deps, state.orchestrator);
  return run(deps, context, input, {
    type: 'Scale',
    data: {
      service: input.service,
      replicas: input.replicas,
      reason: input.reason ?? `scale ${input.service} to ${input.replicas}`,
      rolloutId: rolloutIdOf(input.deploymentId, context),
      now: now(deps),
    },
  });
}

export async function rollbackDeployment(
  deps: DeploymentCommandDeps,
  context: CommandContext,
  input: DeploymentTargetInput & { toRelease?: number; reason?: string },
): Promise<DeploymentCommandResult> {
  const { state } = await existing(deps, context, input);
  assertOrchestrator(deps, state.orchestrator);
  return run(deps, context, input, {
    type: 'Rollback',
    data: {
      toRelease: input.toRelease ?? null,
      reason: input.reason ?? 'manual rollback',
      automatic: false,
      rolloutId: rolloutIdOf(input.deploymentId, context),
      now: now(deps),
    },
  });
}

export async function lifecycle(
  deps: DeploymentCommandDeps,
  context: CommandContext,
  action: 'Start' | 'Stop' | 'Restart' | 'Delete',
  input: DeploymentTargetInput & { reason?: string; services?: string[] },
): Promise<DeploymentCommandResult> {
  const { state } = await existing(deps, context, input);
  if (action !== 'Delete') assertOrchestrator(deps, state.orchestrator);
  const base = { reason: input.reason ?? action.toLowerCase(), rolloutId: rolloutIdOf(input.deploymentId, context), now: now(deps) };
  const command: DeploymentCommand =
    action === 'Restart' ? { type: 'Restart', data: { ...base, services: input.services ?? null } } : { type: action, data: base };
  if (action !== 'Delete') return run(deps, context, input, command);
  const claim = nameClaim(deps, context, input.deploymentId, state.environmentId, state.name);
  return claimRunGiveBack(deps, { giveBackAfter: () => [claim] }, () => run(deps, context, input, command));
}
