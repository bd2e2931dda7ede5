import type {} from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import {
  CreateJobHeaders,
  CreateJobMultipart,
  errorResponses,
  JobEnvelope,
  JobIdParams,
  JobList,
  ListJobsQuery,
} from '../../api/schemas.js';
import { PayloadTooLargeError } from '../../errors.js';
import type { JobsService, UploadPart } from '../../services/jobs.js';
import { requireUser } from '../plugins/auth.js';

export interface JobsRoutesOptions {
  jobs: JobsService;
  /** MAX_UPLOAD_BYTES: a request that declares a larger body is refused before it is read */
  maxUploadBytes: number;
}

/** Room for the multipart boundaries, part headers and option fields around the file. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** Pure: at least how many bytes of video a declared Content-Length carries (0 when unknown). */
export function declaredVideoBytes(contentLength: string | undefined): number {
  if (contentLength === undefined || !/^\d+$/.test(contentLength)) return 0;
  return Math.max(0, Number(contentLength) - MULTIPART_OVERHEAD_BYTES);
}

/** Pure: does a declared Content-Length already prove the upload is over the limit? */
export function declaredTooLarge(contentLength: string | undefined, maxUploadBytes: number): boolean {
  if (contentLength === undefined || !/^\d+$/.test(contentLength)) return false;
  return Number(contentLength) > maxUploadBytes + MULTIPART_OVERHEAD_BYTES;
}

const idempotencyKey = (request: FastifyRequest) => {
  const v = request.headers['idempotency-key'];
  return typeof v === 'string' ? v : undefined;
};

export const jobsRoutes: FastifyPluginAsyncTypebox<JobsRoutesOptions> = async (
  app,
  { jobs, maxUploadBytes },
) => {
  const tags = ['jobs'];
  const security = [{ bearerAuth: [] }];
  app.addHook('onRequest', app.authenticate);

  app.post(
    '/v1/jobs',
    {
      config: { openapiBody: CreateJobMultipart },
      // Refuse a declared-too-large upload (over MAX_UPLOAD_BYTES, or over the user's storage
      // quota) at once instead of streaming gigabytes first; `Connection: close` makes the server
      // drop the rest of the body instead of reading it. Chunked uploads (no Content-Length) are
      // still cut off by the streaming limit, and the quota is checked again with the real size.
      async preValidation(request, reply) {
        const declared = request.headers['content-length'];
        try {
          if (declaredTooLarge(declared, maxUploadBytes)) {
            throw new PayloadTooLargeError(
              `The video is larger than this server accepts (${maxUploadBytes} bytes).`,
              'UPLOAD_TOO_LARGE',
            );
          }
          const bytes = declaredVideoBytes(declared);
          if (bytes > 0) await jobs.assertRoomFor(requireUser(request).id, bytes, idempotencyKey(request));
        } catch (e) {
          reply.header('connection', 'close');
          throw e;
        }
      },
      schema: {
        tags,
        security,
        summary: 'Upload a video and start a detection job',
        description:
          'With an `Idempotency-Key` header, a retry of the same request (same video and options) ' +
          'within 24 h answers 200 with the job the first one made (header `Idempotent-Replayed: true`) ' +
          'instead of making another; the same key with a different request is a 422.',
        headers: CreateJobHeaders,
        response: {
          200: JobEnvelope,
          202: JobEnvelope,
          ...errorResponses(400, 401, 403, 409, 413, 415, 422),
        },
      },
    },
    async (request, reply) => {
      const { job, replayed } = await jobs.create(
        requireUser(request).id,
        request.parts() as AsyncIterable<UploadPart>,
        { idempotencyKey: idempotencyKey(request) },
      );
      if (replayed) return reply.code(200).header('idempotent-replayed', 'true').send({ job });
      return reply.code(202).header('location', job.links.self).send({ job });
    },
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        tags,
        security,
        summary: 'Your jobs, newest first',
        querystring: ListJobsQuery,
        response: { 200: JobList, ...errorResponses(400, 401) },
      },
    },
    async (request) => jobs.list(requireUser(request).id, request.query),
  );

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        tags,
        security,
        summary: 'One job: status, progress, probe, summary',
        params: JobIdParams,
        response: { 200: JobEnvelope, ...errorResponses(401, 404) },
      },
    },
    async (request) => ({ job: await jobs.get(requireUser(request).id, request.params.id) }),
  );

  app.delete(
    '/v1/jobs/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Delete a job, its video and its detections (cancels it if running)',
        params: JobIdParams,
        response: { 204: Type.Null(), ...errorResponses(401, 404) },
      },
    },
    async (request, reply) => {
      await jobs.remove(requireUser(request).id, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/jobs/:id/cancel',
    {
      schema: {
        tags,
        security,
        summary: 'Cancel a queued or running job',
        params: JobIdParams,
        response: { 200: JobEnvelope, ...errorResponses(401, 404, 409) },
      },
    },
    async (request) => ({ job: await jobs.cancel(requireUser(request).id, request.params.id) }),
  );
};
