// The side-effects switch seen from outside: a restored instance starts with everything that acts outside
// paused (process managers, job workers, schedulers, the reconciler, outbound webhooks) until an operator
// with the platform permission resumes it. `/ready` shows the pause as its `side-effects` check.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PLATFORM_PERMISSION } from '../../domain/principal.js';

export interface SideEffectsState {
  readonly state: 'paused' | 'running';
  readonly reason?: string;
  readonly since?: Date;
}

export interface SideEffectsRouteDeps {
  readonly state: () => SideEffectsState;
  /** Clears the pause (in the store) and starts what it held back; answers the new state. */
  readonly resume: () => Promise<SideEffectsState>;
}

const stateSchema = z.object({
  state: z.enum(['paused', 'running']),
  reason: z.string().optional().describe('Why it is paused, e.g. "restored from backup <id> (restore <id>)"'),
  since: z.string().optional(),
});
const view = (state: SideEffectsState): z.infer<typeof stateSchema> => ({
  state: state.state,
  ...(state.reason ? { reason: state.reason } : {}),
  ...(state.since ? { since: state.since.toISOString() } : {}),
});

export async function sideEffectsRoutes(app: FastifyInstance, deps: SideEffectsRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const config = { permission: PLATFORM_PERMISSION } as const;

  routes.get(
    '/v1/admin/side-effects',
    {
      config,
      schema: {
        tags: ['operations'],
        summary: 'Whether this instance acts outside (process managers, workers, schedulers, reconciler, webhooks) or is paused',
        response: { 200: stateSchema },
      },
    },
    async () => view(deps.state()),
  );

  routes.post(
    '/v1/admin/side-effects/resume',
    {
      config,
      schema: {
        tags: ['operations'],
        summary: 'Resume the side effects of a restored instance (idempotent: running stays running)',
        description:
          'A restore commits a pause with the restored log: a service started on it projects and answers reads, but starts ' +
          'no process manager, job worker, scheduler, reconciler or webhook until this is called. Check first that the ' +
          'restored instance is the one that should act (the original is stopped), then resume. The pause is cleared in the ' +
          'store: every other instance on it starts within SIDE_EFFECTS_PAUSE_CHECK_MS. Without a platform key at hand, ' +
          '`npm run resume -- --target <store>` does the same. Needs the platform permission (a tenant admin: 403).',
        response: { 200: stateSchema },
      },
    },
    async () => view(await deps.resume()),
  );
}
