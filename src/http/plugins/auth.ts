import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyScope } from '../../api/schemas.js';
import { ForbiddenError, UnauthorizedError } from '../../errors.js';
import { type ApiKeysService, isApiKey } from '../../services/api-keys.js';
import type { AuthService, AuthUser } from '../../services/auth.js';

/**
 * Authentication and scopes. A request carries `Authorization: Bearer <token>`, where the token
 * is an access token (a signed-in session: every scope) or an API key (`wdk_…`: the scopes it was
 * made with). Only a route that a browser cannot send headers to (the events stream, read by
 * EventSource) declares `config.queryToken` and also takes `?access_token=`; the check is on the
 * matched route, never on the raw URL. Each route needs a scope: `config.scope`, or by default
 * `read` for GET/HEAD and `write` for everything else; `session` means an API key will not do
 * (managing API keys).
 */

export type RequiredScope = ApiKeyScope | 'session';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `app.authenticate` from the Bearer credential. */
    user: AuthUser | null;
  }
  interface FastifyInstance {
    /** onRequest/preHandler hook: requires a valid credential with the route's scope and sets request.user. */
    authenticate(request: FastifyRequest): Promise<void>;
  }
  interface FastifyContextConfig {
    /** accept `?access_token=` (GET only): for EventSource, which cannot set headers */
    queryToken?: boolean;
    /** the scope the route needs (default: read for GET/HEAD, write otherwise) */
    scope?: RequiredScope;
  }
}

/** Reads `Authorization: Bearer <token>` (or `?access_token=` when allowQueryToken). */
export function bearerToken(request: FastifyRequest, allowQueryToken = false): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m?.[1];
  }
  if (allowQueryToken) {
    const q = (request.query as Record<string, unknown> | undefined)?.access_token;
    if (typeof q === 'string' && q.length > 0) return q;
  }
  return undefined;
}

/** The scope a route needs: its own `config.scope`, else by method. */
export function requiredScope(method: string, configured: RequiredScope | undefined): RequiredScope {
  if (configured) return configured;
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** Throws 403 when `user` may not do what `required` asks. Pure. */
export function checkScope(user: Pick<AuthUser, 'scopes' | 'via'>, required: RequiredScope): void {
  if (required === 'session') {
    if (user.via !== 'session')
      throw new ForbiddenError(
        'API keys are managed by a signed-in user, not with an API key.',
        'SESSION_REQUIRED',
      );
    return;
  }
  if (!user.scopes.includes(required)) {
    throw new ForbiddenError(
      `This API key has the ${user.scopes.join(' and ')} scope; this request needs ${required}.`,
      'INSUFFICIENT_SCOPE',
    );
  }
}

const tokenRequired = () =>
  new UnauthorizedError('An access token is required (Authorization: Bearer <token>).', 'UNAUTHORIZED');

/** Decorates the app (not encapsulated: every plugin registered after sees it). */
export function registerAuth(
  app: FastifyInstance,
  deps: { auth: AuthService; apiKeys: ApiKeysService },
): void {
  app.decorateRequest('user', null);
  app.decorate('authenticate', async function authenticate(request: FastifyRequest) {
    const config = request.routeOptions.config;
    const allowQuery = request.method === 'GET' && config?.queryToken === true;
    const token = bearerToken(request, allowQuery);
    if (!token) throw tokenRequired();
    const user = isApiKey(token)
      ? await deps.apiKeys.verify(token)
      : await deps.auth.verifyAccessToken(token);
    checkScope(user, requiredScope(request.method, config?.scope));
    request.user = user;
  });
}

/** The current user or a 401: for handlers behind `app.authenticate`. */
export function requireUser(request: FastifyRequest): AuthUser {
  if (!request.user) throw tokenRequired();
  return request.user;
}
