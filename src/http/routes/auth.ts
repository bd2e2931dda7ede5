import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  ApiKeyCreated,
  ApiKeyIdParams,
  ApiKeyList,
  CreateApiKeyBody,
  Credentials,
  errorResponses,
  LoginBody,
  RefreshBody,
  TokenPair,
  UserEnvelope,
} from '../../api/schemas.js';
import type { Config } from '../../config.js';
import type { ApiKeysService } from '../../services/api-keys.js';
import type { AuthService } from '../../services/auth.js';
import { requireUser } from '../plugins/auth.js';
import { clientAddress, rateLimits } from '../plugins/rate-limits.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  apiKeys: ApiKeysService;
  config: Pick<
    Config,
    'loginRateLimitPerMinute' | 'loginRateLimitPerAddressPerHour' | 'registerRateLimitPerAddressPerHour'
  >;
}

const HOUR = 3600_000;

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (
  app,
  { auth, apiKeys, config },
) => {
  const tags = ['auth'];
  const security = [{ bearerAuth: [] }];

  app.post(
    '/v1/auth/register',
    {
      preHandler: rateLimits(app, [
        {
          name: 'register',
          max: config.registerRateLimitPerAddressPerHour,
          windowMs: HOUR,
          key: clientAddress,
          message: (after) => `Too many accounts were made from your address; try again ${after}.`,
        },
      ]),
      schema: {
        tags,
        summary: 'Create an account',
        body: Credentials,
        response: { 201: UserEnvelope, ...errorResponses(400, 403, 409, 413, 429) },
      },
    },
    async (request, reply) => {
      const user = await auth.register(request.body.username, request.body.password);
      return reply.code(201).send({ user });
    },
  );

  app.post(
    '/v1/auth/login',
    {
      // Per address over every username (password spraying), then per address and username (one
      // account guessed fast): one attacker cannot lock out everyone, nor try many accounts.
      preHandler: rateLimits(app, [
        {
          name: 'login-address',
          max: config.loginRateLimitPerAddressPerHour,
          windowMs: HOUR,
          key: clientAddress,
          message: (after) => `Too many login attempts from your address; try again ${after}.`,
        },
        {
          name: 'login',
          max: config.loginRateLimitPerMinute,
          windowMs: 60_000,
          key: (request) => {
            const body = request.body as { username?: unknown } | undefined;
            const username = typeof body?.username === 'string' ? body.username.toLowerCase() : '';
            return `${clientAddress(request)}:${username}`;
          },
          message: (after) => `Too many login attempts, try again ${after}.`,
        },
      ]),
      schema: {
        tags,
        summary: 'Log in: an access token and a refresh token',
        body: LoginBody,
        response: { 200: TokenPair, ...errorResponses(400, 401, 413, 429) },
      },
    },
    async (request) => auth.login(request.body.username, request.body.password),
  );

  app.post(
    '/v1/auth/refresh',
    {
      schema: {
        tags,
        summary: 'Rotate a refresh token (reuse of an old one revokes its family)',
        body: RefreshBody,
        response: { 200: TokenPair, ...errorResponses(400, 401) },
      },
    },
    async (request) => auth.refresh(request.body.refreshToken),
  );

  app.post(
    '/v1/auth/logout',
    {
      schema: {
        tags,
        summary: "Revoke a refresh token's family",
        body: RefreshBody,
        response: { 204: Type.Null(), ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      await auth.logout(request.body.refreshToken);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/auth/me',
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        summary: 'The current user',
        security,
        response: { 200: UserEnvelope, ...errorResponses(401) },
      },
    },
    async (request) => ({ user: await auth.me(requireUser(request).id) }),
  );

  // ---- API keys: made, listed and revoked by a signed-in user (never with an API key) ----

  app.post(
    '/v1/auth/api-keys',
    {
      onRequest: app.authenticate,
      config: { scope: 'session' },
      schema: {
        tags,
        summary: 'Make an API key for scripts (the key is in this answer only)',
        description:
          'Send it as `Authorization: Bearer <key>`. Scopes: `read` (GET requests) and `write` ' +
          '(everything else: creating, cancelling and deleting jobs, detecting).',
        security,
        body: CreateApiKeyBody,
        response: { 201: ApiKeyCreated, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const created = await apiKeys.create(requireUser(request).id, request.body.name, request.body.scopes);
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.get(
    '/v1/auth/api-keys',
    {
      onRequest: app.authenticate,
      config: { scope: 'session' },
      schema: {
        tags,
        summary: 'Your API keys (without their secrets)',
        security,
        response: { 200: ApiKeyList, ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ apiKeys: await apiKeys.list(requireUser(request).id) }),
  );

  app.delete(
    '/v1/auth/api-keys/:id',
    {
      onRequest: app.authenticate,
      config: { scope: 'session' },
      schema: {
        tags,
        summary: 'Revoke an API key (at once: its next request is a 401)',
        security,
        params: ApiKeyIdParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await apiKeys.revoke(requireUser(request).id, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
