import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../../errors.js';
import type { AuthService, AuthUser } from '../../services/auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `app.authenticate` from the Bearer access token. */
    user: AuthUser | null;
  }
  interface FastifyInstance {
    /** onRequest/preHandler hook: requires a valid Bearer token and sets request.user. */
    authenticate(request: FastifyRequest): Promise<void>;
  }
}

/** Reads `Authorization: Bearer <jwt>` (or `?access_token=` when allowQueryToken, for EventSource). */
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

/** Decorates the app (not encapsulated: every plugin registered after sees it). */
export function registerAuth(app: FastifyInstance, auth: AuthService): void {
  app.decorateRequest('user', null);
  app.decorate('authenticate', async function authenticate(request: FastifyRequest) {
    const allowQuery = request.method === 'GET' && /\/events(\?|$)/.test(request.url);
    const token = bearerToken(request, allowQuery);
    if (!token)
      throw new UnauthorizedError(
        'An access token is required (Authorization: Bearer <token>).',
        'UNAUTHORIZED',
      );
    request.user = await auth.verifyAccessToken(token);
  });
}

/** The current user or a 401: for handlers behind `app.authenticate`. */
export function requireUser(request: FastifyRequest): AuthUser {
  if (!request.user)
    throw new UnauthorizedError(
      'An access token is required (Authorization: Bearer <token>).',
      'UNAUTHORIZED',
    );
  return request.user;
}
