import type {} from '@fastify/rate-limit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  Credentials,
  errorResponses,
  LoginBody,
  RefreshBody,
  TokenPair,
  UserEnvelope,
} from '../../api/schemas.js';
import type { Config } from '../../config.js';
import { RateLimitedError } from '../../errors.js';
import type { AuthService } from '../../services/auth.js';
import { requireUser } from '../plugins/auth.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  config: Pick<Config, 'loginRateLimitPerMinute'>;
}

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, { auth, config }) => {
  const tags = ['auth'];

  app.post(
    '/v1/auth/register',
    {
      schema: {
        tags,
        summary: 'Create an account',
        body: Credentials,
        response: { 201: UserEnvelope, ...errorResponses(400, 403, 409, 413) },
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
      config: {
        rateLimit: {
          max: config.loginRateLimitPerMinute,
          timeWindow: 60_000,
          // per client address and username: one attacker cannot lock out everyone, nor guess one account fast
          keyGenerator: (request) => {
            const body = request.body as { username?: unknown } | undefined;
            return `login:${request.ip}:${typeof body?.username === 'string' ? body.username.toLowerCase() : ''}`;
          },
          errorResponseBuilder: (_request, ctx) =>
            new RateLimitedError(`Too many login attempts, try again in ${ctx.after}.`),
        },
      },
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
        security: [{ bearerAuth: [] }],
        response: { 200: UserEnvelope, ...errorResponses(401) },
      },
    },
    async (request) => ({ user: await auth.me(requireUser(request).id) }),
  );
};
