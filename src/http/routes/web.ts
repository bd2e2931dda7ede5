import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
// the OpenAPI fields (tags, summary, hide) that @fastify/swagger adds to route schemas
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/**
 * The browser UI: serves the files that `node scripts/build-web.mjs` bundles into `web/dist`
 * (index.html, app.js, app.css) at `/`. Only `/` and single-segment file names under it are
 * answered here, so `/v1/...`, `/docs`, `/openapi.json`, `/healthz`, `/readyz` and `/metrics` are
 * never shadowed (a name that is not a file falls through to the app's not-found handler).
 *
 * Register without fastify-plugin wrapping (it is encapsulated on purpose, so its `reply.sendFile`
 * does not clash with @fastify/swagger-ui's own @fastify/static): `app.register(webRoutes)`.
 */
export interface WebRoutesOptions {
  /** The folder with index.html, app.js and app.css; default `<repo>/web/dist`. */
  root?: string;
}

export const defaultWebRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../web/dist');

const FILE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*\.(?:js|css|map|svg|png|ico|webmanifest|txt)$/;
const RESERVED = new Set(['v1', 'docs', 'openapi.json', 'healthz', 'readyz', 'metrics']);

export async function webRoutes(app: FastifyInstance, opts: WebRoutesOptions = {}): Promise<void> {
  const root = resolve(opts.root ?? defaultWebRoot);
  await app.register(fastifyStatic, { root, serve: false, decorateReply: true });

  const missing =
    'The web UI is not built: run "node scripts/build-web.mjs" (npm install runs it as postinstall).';

  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    if (!existsSync(join(root, 'index.html'))) {
      return reply.code(503).type('text/plain; charset=utf-8').send(missing);
    }
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', root, { cacheControl: false });
  });

  app.get<{ Params: { file: string } }>('/:file', { schema: { hide: true } }, async (request, reply) => {
    const { file } = request.params;
    if (RESERVED.has(file) || !FILE_RE.test(file) || !existsSync(join(root, file))) {
      return reply.callNotFound();
    }
    // app.js/app.css are referenced with ?v=<content hash> from index.html: safe to cache a while
    return reply.sendFile(file, root, {
      maxAge: request.query && 'v' in (request.query as object) ? '7d' : 0,
    });
  });
}

export default webRoutes;
