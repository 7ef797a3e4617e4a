// Config commands. A secret's values are sealed here, before the decider sees them (envelope encryption
// with the keyring), bound to (tenant, config, version); everything else is plain. Names are claimed per
// (tenant, environment); a config scoped to an environment needs that environment to exist.
import {
  assertConfigExists,
  configDecider,
  configStreamId,
  environmentDecider,
  environmentStreamId,
  validConfigData,
  validConfigName,
  type ConfigCommand,
  type ConfigEvent,
  type ConfigPayload,
  type ConfigState,
  type ConfigType,
} from '../../domain/environments/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { WrongExpectedRevisionError } from '../../ports/event-store.js';
import type { SecretKeyring } from '../../ports/secret-keyring.js';
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
import { configNameClaim } from './config-claims.js';

export type ConfigCommandResult = CommandResult<ConfigState, ConfigEvent>;

export interface ConfigCommandDeps extends CommandDeps {
  readonly keyring: SecretKeyring;
}

/** What a secret version's ciphertext is bound to. */
export const secretContext = (tenantId: string, configId: string, version: number) => `${tenantId}:${configId.toLowerCase()}:${version}`;

function payloadFor(
  deps: ConfigCommandDeps,
  tenantId: string,
  configId: string,
  version: number,
  type: ConfigType,
  data: Record<string, string>,
): ConfigPayload {
  const keys = validConfigData(type, data);
  if (type !== 'secret') return { data };
  return { sealed: deps.keyring.seal(JSON.stringify(data), secretContext(tenantId, configId, version)), keys };
}

/** An environment a config may be scoped to: it exists for this tenant and is not being deleted. */
async function assertEnvironmentUsable(deps: CommandDeps, tenantId: string, environmentId: string): Promise<void> {
  const missing = () => new RuleViolation('config.environment.unknown', 'no such environment', 'unprocessable', 'environmentId');
  try {
    const { state } = await loadAggregate(deps, environmentDecider, environmentStreamId(tenantId, environmentId), { tenantId });
    if (state.status === 'absent' || state.status === 'deleted' || state.status === 'deleting') throw missing();
  } catch (error) {
    if (error instanceof RuleViolation && error.kind === 'not_found') throw missing();
    throw error;
  }
}

const load = (deps: CommandDeps, tenantId: string, configId: string, asOf?: Date) =>
  loadAggregate(deps, configDecider, configStreamId(tenantId, configId), { tenantId, ...(asOf ? { asOf } : {}) });

function run(
  deps: CommandDeps,
  context: CommandContext,
  configId: string,
  command: ConfigCommand,
  expectedRevision?: bigint | 'no_stream',
) {
  return handleCommand(deps, configDecider, {
    streamId: configStreamId(context.tenantId, configId),
    command,
    context,
    ...(expectedRevision !== undefined ? { expectedRevision } : {}),
  });
}

export async function createConfig(
  deps: ConfigCommandDeps,
  context: CommandContext,
  input: {
    configId: string;
    name: string;
    type: ConfigType;
    data: Record<string, string>;
    environmentId: string | null;
    rollServices: boolean;
  },
): Promise<ConfigCommandResult> {
  const configId = input.configId.toLowerCase();
  const environmentId = input.environmentId?.toLowerCase() ?? null;
  const name = validConfigName(input.name);
  const before = await load(deps, context.tenantId, configId);
  const handled = alreadyHandled(before, context);
  if (!handled && environmentId) await assertEnvironmentUsable(deps, context.tenantId, environmentId);
  const payload = payloadFor(deps, context.tenantId, configId, 1, input.type, input.data); // bad data fails before any claim
  const command: ConfigCommand = {
    type: 'CreateConfig',
    data: { configId, name, environmentId, type: input.type, rollServices: input.rollServices, payload },
  };
  if (before.revision !== undefined) return run(deps, context, configId, command);
  return claimRunGiveBack(deps, { claim: configNameClaim(deps, context, configId, environmentId, name) }, () =>
    run(deps, context, configId, command, 'no_stream'),
  );
}

/** A new version. Sealing needs the version number, so the append is pinned to the revision it was sealed
 * for; without If-Match, a concurrent version makes it seal again for the next number. */
export async function updateConfig(
  deps: ConfigCommandDeps,
  context: CommandContext,
  input: { configId: string; data: Record<string, string>; rollServices: boolean; expectedRevision?: bigint; type?: ConfigType },
): Promise<ConfigCommandResult> {
  for (let attempt = 0; ; attempt++) {
    const before = await load(deps, context.tenantId, input.configId);
    const command = (payload: ConfigPayload): ConfigCommand => ({
      type: 'UpdateConfig',
      data: { rollServices: input.rollServices, payload },
    });
    assertConfigExists(before.state);
    // Values rendered from a secret template stay sealed: they never become a configmap's plain values.
    if (input.type !== undefined && input.type !== before.state.type)
      throw new RuleViolation(
        'config.type.mismatch',
        `the config is a ${before.state.type}; these values are for a ${input.type}`,
        'unprocessable',
        'configId',
      );
    if (alreadyHandled(before, context)) return run(deps, context, input.configId, command({ data: {} }));
    assertExpectedRevision(before.streamId, input.expectedRevision, before);
    const payload = payloadFor(deps, context.tenantId, before.state.configId, before.state.version + 1, before.state.type, input.data);
    try {
      return await run(deps, context, input.configId, command(payload), before.revision);
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || input.expectedRevision !== undefined || attempt >= 3) throw error;
    }
  }
}

export async function deleteConfig(deps: CommandDeps, context: CommandContext, input: { configId: string; expectedRevision?: bigint }) {
  const before = await load(deps, context.tenantId, input.configId);
  if (!alreadyHandled(before, context)) {
    assertConfigExists(before.state);
    assertExpectedRevision(before.streamId, input.expectedRevision, before);
  }
  const state = before.state;
  return claimRunGiveBack(
    deps,
    {
      giveBackAfter: (result: ConfigCommandResult) =>
        state.status === 'absent' || result.state.status !== 'deleted'
          ? []
          : [configNameClaim(deps, context, state.configId, state.environmentId, state.name)],
    },
    () => run(deps, context, input.configId, { type: 'DeleteConfig', data: {} }, input.expectedRevision),
  );
}

/** Re-wraps every version's data key of a secret with the current key-encryption key (rotation); the
 * values' ciphertext does not change. Answers how many versions were re-wrapped. */
export async function rewrapConfig(deps: ConfigCommandDeps, context: CommandContext, configId: string): Promise<number> {
  const { state } = await load(deps, context.tenantId, configId);
  if (state.status === 'absent') return 0;
  const rewrapped = state.versions.flatMap(({ version, sealed }) =>
    sealed && sealed.keyId !== deps.keyring.currentKeyId
      ? [{ version, ...deps.keyring.rewrap(sealed, secretContext(context.tenantId, state.configId, version)) }]
      : [],
  );
  if (rewrapped.length === 0) return 0;
  const result = await run(deps, context, configId, { type: 'RewrapConfigKeys', data: { rewrapped } });
  return result.events.length;
}

/** A config as it was at `asOf`, or now; undefined when it did not exist then (or is another tenant's). */
export async function loadConfig(deps: CommandDeps, tenantId: string, configId: string, asOf?: Date) {
  try {
    const loaded = await load(deps, tenantId, configId, asOf);
    return loaded.state.status === 'absent' ? undefined : { state: loaded.state, revision: loaded.revision!, events: loaded.events };
  } catch (error) {
    if (error instanceof RuleViolation && error.kind === 'not_found') return undefined;
    throw error;
  }
}

/** The values of one version, decrypted for a secret. Only for handing to an orchestrator. */
export function openVersion(
  keyring: SecretKeyring,
  tenantId: string,
  state: Exclude<ConfigState, { status: 'absent' }>,
  version = state.version,
) {
  const found = state.versions.find((v) => v.version === version);
  if (!found) return undefined;
  if (!found.sealed) return found.data ?? {};
  return JSON.parse(keyring.open(found.sealed, secretContext(tenantId, state.configId, version))) as Record<string, string>;
}
