import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses, JobIdParams, MediaIdParams, MediaQuery, VideoUrl } from '../../api/schemas.js';
import { ForbiddenError, NotFoundError } from '../../errors.js';
import type { JobsService } from '../../services/jobs.js';
import type { MediaLinks } from '../../services/media-links.js';
import type { BlobStore } from '../../storage/local.js';
import { requireUser } from '../plugins/auth.js';
import { videoContentType } from '../range.js';
import { sendBlob } from '../send-blob.js';

/**
 * The job's video for the browser's <video>: `GET /v1/jobs/:id/video-url` (bearer-authenticated)
 * returns a short-lived signed URL, and `GET /v1/media/:id?exp&sig` serves the stored file with
 * HTTP Range (206), no Authorization header needed: the signature is the authorization.
 */
export interface MediaRoutesOptions {
  links: MediaLinks;
  jobs: Pick<JobsService, 'getOwned' | 'getVideoKey'>;
  storage: Pick<BlobStore, 'stat' | 'createReadStream'>;
}

const videoGone = () => new NotFoundError("The job's video is no longer stored.", 'VIDEO_NOT_FOUND');

export const mediaRoutes: FastifyPluginAsyncTypebox<MediaRoutesOptions> = async (app, opts) => {
  const { links, jobs, storage } = opts;

  app.get(
    '/v1/jobs/:id/video-url',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['jobs'],
        summary: "A short-lived signed URL for the job's video (for <video src>, no Authorization header)",
        security: [{ bearerAuth: [] }],
        params: JobIdParams,
        response: { 200: VideoUrl, ...errorResponses(401, 404) },
      },
    },
    async (request, reply) => {
      const job = await jobs.getOwned(requireUser(request).id, request.params.id);
      if (!job) throw new NotFoundError('The job was not found.', 'JOB_NOT_FOUND');
      const link = links.create(job.id);
      reply.header('cache-control', 'no-store');
      return { url: link.url, expiresAt: link.expiresAt };
    },
  );

  app.get(
    '/v1/media/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: "The job's video, by a signed URL from video-url; supports HTTP Range (206)",
        params: MediaIdParams,
        querystring: MediaQuery,
        produces: ['video/*'],
        response: { ...errorResponses(403, 404, 416) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { exp, sig } = request.query;
      if (!exp || !sig || !links.verify(id, exp, sig)) {
        throw exp && sig && links.isExpired(exp)
          ? new ForbiddenError('This video link has expired; ask for a new one.', 'MEDIA_LINK_EXPIRED')
          : new ForbiddenError('This video link is not valid.', 'INVALID_MEDIA_LINK');
      }
      const ref = await jobs.getVideoKey(id);
      if (!ref) throw new NotFoundError('The job was not found.', 'JOB_NOT_FOUND');
      return sendBlob(request, reply, {
        storage,
        key: ref.key,
        contentType: videoContentType(ref.key, ref.formatName),
        missing: videoGone,
        what: 'video',
      });
    },
  );
};
