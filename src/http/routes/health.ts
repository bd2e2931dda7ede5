import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { type Kysely, sql } from 'kysely';

export interface HealthRoutesOptions {
  db: Kysely<any>;
  readiness: { queue(): Promise<void> };
  /** per check, ms */
  timeoutMs?: number;
}

const Check = Type.Union([Type.Literal('ok'), Type.String()]);

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
  { db, readiness, timeoutMs = 2000 },
) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  const Ready = Type.Object({
    status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
    checks: Type.Object({ database: Check, queue: Check }),
  });
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: database and queue',
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_request, reply) => {
      const [database, queue] = await Promise.all([
        check(() => sql`select 1`.execute(db), timeoutMs),
        check(() => readiness.queue(), timeoutMs),
      ]);
      const ok = database === 'ok' && queue === 'ok';
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'unavailable', checks: { database, queue } });
    },
  );
};
