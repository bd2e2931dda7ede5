import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';

export interface StandaloneServer {
  rt: Runtime;
  app: FastifyInstance;
  base: string;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * The whole service in this process as `serve` runs it standalone (PGlite in a temp DATA_DIR,
 * in-process queue and workers), listening on a free loopback port. `env` overrides configuration.
 */
export async function startStandalone(
  env: Record<string, string> = {},
  opts: { workers?: boolean; backoffMs?: number; prefix?: string } = {},
): Promise<StandaloneServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `wd-${opts.prefix ?? 'standalone'}-`));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
    ...env,
  });
  const rt = await createRuntime(config, {
    log: createLogger(config),
    workers: opts.workers ?? true,
    backoffMs: opts.backoffMs ?? 100,
  });
  const app = await rt.buildHttpApp();
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    rt,
    app,
    dataDir,
    base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    async close() {
      await app.close();
      await rt.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
