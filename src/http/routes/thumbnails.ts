import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  errorResponses,
  JobIdParams,
  MediaIdParams,
  MediaThumbnailQuery,
  ThumbnailQuery,
  ThumbnailUrl,
} from '../../api/schemas.js';
import type { ThumbnailsService } from '../../services/thumbnails.js';
import { requireUser } from '../plugins/auth.js';

/**
 * Job thumbnails for <img>: `GET /v1/jobs/:id/thumbnail-url` (bearer; another user's job is a
 * 404) hands out a signed link, and `GET /v1/media/:id/thumbnail` serves the JPEG for it.
 */
export interface ThumbnailRoutesOptions {
  thumbnails: ThumbnailsService;
}

export const thumbnailRoutes: FastifyPluginAsyncTypebox<ThumbnailRoutesOptions> = async (
  app,
  { thumbnails },
) => {
  app.get(
    '/v1/jobs/:id/thumbnail-url',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['jobs'],
        summary:
          'A signed URL of a small JPEG of one frame of the video (for <img src>, no Authorization header)',
        security: [{ bearerAuth: [] }],
        params: JobIdParams,
        querystring: ThumbnailQuery,
        response: { 200: ThumbnailUrl, ...errorResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const link = await thumbnails.link(requireUser(request).id, request.params.id, request.query);
      reply.header('cache-control', 'no-store');
      return link;
    },
  );

  app.get(
    '/v1/media/:id/thumbnail',
    {
      schema: {
        tags: ['jobs'],
        summary: 'The JPEG of a signed thumbnail URL from thumbnail-url',
        params: MediaIdParams,
        querystring: MediaThumbnailQuery,
        produces: ['image/jpeg'],
        response: { ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const { jpeg, maxAgeSeconds } = await thumbnails.jpeg(request.params.id, request.query);
      return reply
        .header('content-type', 'image/jpeg')
        .header('cache-control', `private, max-age=${maxAgeSeconds}, immutable`)
        .header('x-content-type-options', 'nosniff')
        .send(jpeg);
    },
  );
};
