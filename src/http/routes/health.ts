import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Health, Readiness } from '../../api/schemas.js';

export interface HealthRoutesOptions {
  /** each resolves when its part answers */
  readiness: { database(): Promise<void>; queue(): Promise<void> };
  /** per check, ms */
  timeoutMs?: number;
}

async function check(fn: () => Promise<unknown>, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch (e) {
    return `error: ${(e as Error).message ?? String(e)}`.slice(0, 200);
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (
  app,
  { readiness, timeoutMs = 2000 },
) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness',
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: database and queue',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const [database, queue] = await Promise.all([
        check(() => readiness.database(), timeoutMs),
        check(() => readiness.queue(), timeoutMs),
      ]);
      const ok = database === 'ok' && queue === 'ok';
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'unavailable', checks: { database, queue } });
    },
  );
};
