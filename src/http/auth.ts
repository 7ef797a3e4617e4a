// Authentication: every non-public route needs `Authorization: Bearer <API key or JWT>` (or `X-API-Key`).
// It resolves to one tenant, one user and a set of permissions; routes declare the permission they need.
import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import type { ApiKeyStore } from '../ports/api-keys.js';
import { TENANT_ID_PATTERN, hasPermission, type Permission, type Principal } from '../domain/principal.js';
import { isStorableText } from './input-guard.js';
import { HttpProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** No credential needed (health, metrics, docs). */
    public?: boolean;
    /** The permission a caller needs, e.g. `categories:write`: one of the domain's list, nothing else. */
    permission?: Permission;
  }
}

export interface AuthOptions {
  readonly apiKeys: ApiKeyStore;
  readonly jwt?: { secret: string; issuer?: string; audience?: string };
  /** URL prefixes served without credentials (the Swagger UI's assets). */
  readonly publicPrefixes?: readonly string[];
}

const jwtClaims = z.object({
  // The subject becomes the userId in every event the caller writes: it must be storable text.
  sub: z.string().min(1).max(200).refine(isStorableText),
  tenant_id: z.string().regex(TENANT_ID_PATTERN),
  permissions: z.array(z.string().max(100)).max(100).optional(),
  scope: z.string().max(2000).optional(),
});

function credentialOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match)
      throw new HttpProblem(
        401,
        'auth.malformed',
        'the Authorization header must be `Bearer <credential>`',
        {},
        { 'www-authenticate': 'Bearer' },
      );
    return match[1];
  }
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.length > 0 ? apiKey : undefined;
}

/** Reads the principal a route handler runs for; routes are only reached authenticated. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HttpProblem(401, 'auth.required', 'authentication required');
  return request.principal;
}

async function authPlugin(app: FastifyInstance, options: AuthOptions): Promise<void> {
  if (options.jwt) {
    await app.register(fastifyJwt, {
      secret: options.jwt.secret,
      verify: {
        algorithms: ['HS256'],
        ...(options.jwt.issuer ? { allowedIss: options.jwt.issuer } : {}),
        ...(options.jwt.audience ? { allowedAud: options.jwt.audience } : {}),
      },
    });
  }

  async function authenticate(credential: string): Promise<Principal | undefined> {
    if (credential.startsWith('kyo_')) return options.apiKeys.authenticate(credential);
    if (!options.jwt) return undefined;
    let payload: unknown;
    try {
      payload = app.jwt.verify(credential);
    } catch {
      return undefined;
    }
    const claims = jwtClaims.safeParse(payload);
    if (!claims.success) return undefined;
    const permissions = claims.data.permissions ?? claims.data.scope?.split(' ').filter(Boolean) ?? [];
    return { tenantId: claims.data.tenant_id, userId: claims.data.sub, permissions: new Set(permissions), via: 'jwt' };
  }

  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (config.public || request.routeOptions.url === undefined) return; // public or unknown route (404)
    if (options.publicPrefixes?.some((prefix) => request.url.startsWith(prefix))) return;
    const credential = credentialOf(request);
    if (!credential)
      throw new HttpProblem(
        401,
        'auth.required',
        'send an API key or JWT as `Authorization: Bearer …`',
        {},
        { 'www-authenticate': 'Bearer' },
      );
    const principal = await authenticate(credential);
    if (!principal)
      throw new HttpProblem(
        401,
        'auth.invalid',
        'the credential is unknown, revoked, expired or forged',
        {},
        { 'www-authenticate': 'Bearer error="invalid_token"' },
      );
    request.principal = principal;
    if (config.permission && !hasPermission(principal, config.permission)) {
      throw new HttpProblem(403, 'auth.permission', `this operation needs the permission ${config.permission}`, {
        permission: config.permission,
      });
    }
  });
}

export const authentication = fp(authPlugin, { name: 'kyo-auth' });
