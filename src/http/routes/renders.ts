import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  CreateRenderBody,
  errorResponses,
  JobIdParams,
  MediaQuery,
  MediaRenderParams,
  RenderCreated,
  RenderEnvelope,
  RenderIdParams,
} from '../../api/schemas.js';
import { NotFoundError } from '../../errors.js';
import type { RendersService } from '../../services/renders.js';
import type { BlobStore } from '../../storage/local.js';
import { requireUser } from '../plugins/auth.js';
import { sendBlob } from '../send-blob.js';

/**
 * Annotated videos: `POST /v1/jobs/:id/renders` asks for one (202), `GET /v1/jobs/:id/renders/:renderId`
 * tells how far it is and, once completed, gives a signed URL; `GET /v1/media/:id/renders/:renderId`
 * serves the MP4 for that URL with HTTP Range (the signature is the authorization).
 */
export interface RenderRoutesOptions {
  renders: RendersService;
  storage: Pick<BlobStore, 'stat' | 'createReadStream'>;
}

const renderGone = () => new NotFoundError('The annotated video is no longer stored.', 'RENDER_NOT_FOUND');

export const renderRoutes: FastifyPluginAsyncTypebox<RenderRoutesOptions> = async (
  app,
  { renders, storage },
) => {
  const tags = ['jobs'];
  const security = [{ bearerAuth: [] }];

  app.post(
    '/v1/jobs/:id/renders',
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        security,
        summary:
          'Make an annotated MP4 of a completed job: its boxes, labels, scores and track ids drawn into every frame',
        params: JobIdParams,
        body: CreateRenderBody,
        response: { 202: RenderCreated, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const render = await renders.create(requireUser(request).id, request.params.id, request.body ?? {});
      return reply.code(202).send({ render });
    },
  );

  app.get(
    '/v1/jobs/:id/renders/:renderId',
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        security,
        summary: 'A render: its status and progress, and a signed URL of the MP4 once completed',
        params: RenderIdParams,
        response: { 200: RenderEnvelope, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { id, renderId } = request.params;
      reply.header('cache-control', 'no-store');
      return { render: await renders.get(requireUser(request).id, id, renderId) };
    },
  );

  app.get(
    '/v1/media/:id/renders/:renderId',
    {
      schema: {
        tags,
        summary: 'An annotated video, by the signed URL of its render; supports HTTP Range (206)',
        params: MediaRenderParams,
        querystring: MediaQuery,
        produces: ['video/mp4'],
        response: { ...errorResponses(403, 404, 416) },
      },
    },
    async (request, reply) => {
      const { id, renderId } = request.params;
      const { key } = await renders.fileOf(id, renderId, request.query);
      return sendBlob(request, reply, {
        storage,
        key,
        contentType: 'video/mp4',
        missing: renderGone,
        what: 'video',
      });
    },
  );
};
