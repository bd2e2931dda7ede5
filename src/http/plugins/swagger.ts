import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * OpenAPI 3.1 from the routes' TypeBox schemas, at GET /openapi.json; Swagger UI at /docs.
 * Routes that take multipart set `config.openapiBody` to a schema shown as their
 * multipart/form-data request body (Fastify does not validate multipart bodies against it).
 */
declare module 'fastify' {
  interface FastifyContextConfig {
    openapiBody?: unknown;
  }
}

export async function registerSwagger(app: FastifyInstance, opts: { version: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'web-detector',
        description: 'Detects objects in uploaded videos. Errors: `{ error: { code, message } }`.',
        version: opts.version,
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'an access token from /v1/auth/login, or an API key (wdk_…) from /v1/auth/api-keys',
          },
        },
      },
    },
    // components named by their $id (ErrorBody, Job) instead of def-N
    refResolver: {
      buildLocalReference(json, _baseUri, _fragment, i) {
        return typeof json.$id === 'string' ? json.$id : `def-${i}`;
      },
    },
    transform({ schema, url, route }) {
      const body = route.config?.openapiBody;
      if (!body || !schema) return { schema, url };
      return {
        schema: { ...schema, body, consumes: ['multipart/form-data'] } as typeof schema,
        url,
      };
    },
  });
  // Swagger UI needs more than the web UI's policy (its inline script and styles, by hash; data:
  // images): the plugin's own policy for its pages, framing refused like everywhere else, and no
  // upgrade-insecure-requests (it would break /docs on a plain-HTTP LAN address).
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true },
    staticCSP: true,
    transformStaticCSP: (header) =>
      header
        .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
        .replace(/\s*upgrade-insecure-requests;?/, ''),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
