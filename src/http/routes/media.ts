import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
// the OpenAPI fields (tags, summary, hide) that @fastify/swagger adds to route schemas
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { MediaLinks } from '../../services/media-links.js';

/**
 * The job's video for the browser's <video>: `GET /v1/jobs/:id/video-url` (bearer-authenticated)
 * returns a short-lived signed URL, and `GET /v1/media/:id?exp&sig` serves the stored file with
 * HTTP Range (206), no Authorization header needed.
 *
 * Register with its dependencies: `app.register(mediaRoutes, { links, jobs, storage })`.
 */

type MaybePromise<T> = T | Promise<T>;

/** What `getVideoKey` may return: the storage key, or the key with the container format/MIME type. */
export type VideoRef = string | { key: string; contentType?: string | null; formatName?: string | null };

export interface MediaRoutesDeps {
  links: MediaLinks;
  jobs: {
    /** The job when `userId` owns it, else null (another user's job is a 404, not a 403). */
    getOwned(userId: string, jobId: string): MaybePromise<{ videoKey?: string | null } | null | undefined>;
    /** The stored video of a job (whoever owns it: the signed link is the authorization). */
    getVideoKey(jobId: string): MaybePromise<VideoRef | null | undefined>;
  };
  storage: { path(key: string): string };
  /** Runs before `video-url` and sets `request.user`; default: `app.authenticate` when the auth plugin decorated it. */
  authenticate?: preHandlerHookHandler;
}

function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } });
}

function userIdOf(request: FastifyRequest): string | undefined {
  const user = (request as FastifyRequest & { user?: { id?: string | number } | null }).user;
  return user?.id === undefined || user?.id === null ? undefined : String(user.id);
}

/**
 * Parses a `Range` header against a file of `size` bytes (RFC 9110 §14.1.2). Returns the inclusive
 * byte range to send, 'unsatisfiable' for a 416, or null to ignore the header and send the whole
 * file (absent, malformed, not in bytes, or several ranges: a server may ignore Range).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null;
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    // suffix: the last n bytes
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  let end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return null; // invalid: ignore
  if (start >= size) return 'unsatisfiable';
  if (end >= size) end = size - 1;
  return { start, end };
}

const BY_EXTENSION: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  avi: 'video/x-msvideo',
  ogv: 'video/ogg',
  ts: 'video/mp2t',
  mpg: 'video/mpeg',
  mpeg: 'video/mpeg',
};

/** The MIME type for a stored video, from ffprobe's format name when known, else the key's extension; default video/mp4. */
export function videoContentType(key: string, formatName?: string | null): string {
  const f = (formatName ?? '').toLowerCase();
  if (f) {
    if (f.includes('mp4') || f.includes('mov')) return 'video/mp4';
    if (f.includes('webm') || f.includes('matroska')) return 'video/webm';
    if (f === 'avi') return 'video/x-msvideo';
    if (f === 'ogg') return 'video/ogg';
    if (f === 'mpegts') return 'video/mp2t';
    if (f.startsWith('mpeg')) return 'video/mpeg';
  }
  const ext = /\.([a-z0-9]+)$/i.exec(key)?.[1]?.toLowerCase();
  return (ext && BY_EXTENSION[ext]) || 'video/mp4';
}

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
  required: ['id'],
} as const;

const errorBody = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

export async function mediaRoutes(app: FastifyInstance, deps: MediaRoutesDeps): Promise<void> {
  const { links, jobs, storage } = deps;
  // the auth plugin's `app.authenticate` (sets request.user) when it is decorated and none is given
  const decorated = app.hasDecorator('authenticate')
    ? ((app as unknown as { authenticate: preHandlerHookHandler }).authenticate as preHandlerHookHandler)
    : undefined;
  const authenticate = deps.authenticate ?? decorated;

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/video-url',
    {
      preHandler: authenticate ? [authenticate] : undefined,
      schema: {
        tags: ['jobs'],
        summary: "A short-lived signed URL for the job's video (for <video src>, no Authorization header)",
        security: [{ bearerAuth: [] }],
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: { url: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } },
            required: ['url', 'expiresAt'],
          },
          401: errorBody,
          404: errorBody,
        },
      },
    },
    async (request, reply) => {
      const userId = userIdOf(request);
      if (!userId) return sendError(reply, 401, 'UNAUTHORIZED', 'Authentication is required.');
      const job = await jobs.getOwned(userId, request.params.id);
      if (!job) return sendError(reply, 404, 'JOB_NOT_FOUND', 'The job was not found.');
      if (job.videoKey === null) {
        return sendError(reply, 404, 'VIDEO_NOT_FOUND', "The job's video is no longer stored.");
      }
      const link = links.create(request.params.id);
      reply.header('cache-control', 'no-store');
      return { url: link.url, expiresAt: link.expiresAt };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { exp?: string; sig?: string } }>(
    '/v1/media/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: "The job's video, by a signed URL from video-url; supports HTTP Range (206)",
        params: idParams,
        querystring: {
          type: 'object',
          properties: { exp: { type: 'string' }, sig: { type: 'string' } },
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { exp, sig } = request.query;
      if (!exp || !sig || !links.verify(id, exp, sig)) {
        const expired = !!exp && !!sig && links.isExpired(exp);
        return expired
          ? sendError(reply, 403, 'MEDIA_LINK_EXPIRED', 'This video link has expired; ask for a new one.')
          : sendError(reply, 403, 'INVALID_MEDIA_LINK', 'This video link is not valid.');
      }
      const ref = await jobs.getVideoKey(id);
      if (!ref) return sendError(reply, 404, 'JOB_NOT_FOUND', 'The job was not found.');
      const key = typeof ref === 'string' ? ref : ref.key;
      const file = storage.path(key);
      let size: number;
      let mtime: Date;
      try {
        const st = await stat(file);
        if (!st.isFile()) throw new Error('not a file');
        size = st.size;
        mtime = st.mtime;
      } catch {
        return sendError(reply, 404, 'VIDEO_NOT_FOUND', "The job's video is no longer stored.");
      }
      const contentType =
        typeof ref === 'string'
          ? videoContentType(key)
          : ref.contentType || videoContentType(key, ref.formatName);
      const etag = `"${size.toString(16)}-${Math.floor(mtime.getTime()).toString(16)}"`;

      reply
        .header('accept-ranges', 'bytes')
        .header('content-type', contentType)
        .header('etag', etag)
        .header('last-modified', mtime.toUTCString())
        .header('cache-control', 'private, max-age=300')
        .header('x-content-type-options', 'nosniff');

      // If-Range: a range only if the file is still the one the client has
      const ifRange = request.headers['if-range'];
      const rangeHeader =
        ifRange && ifRange !== etag && ifRange !== mtime.toUTCString() ? undefined : request.headers.range;
      const range = parseRange(rangeHeader, size);
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${size}`);
        return sendError(
          reply,
          416,
          'RANGE_NOT_SATISFIABLE',
          'The requested byte range is outside the video.',
        );
      }
      if (range) {
        reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
          .header('content-length', range.end - range.start + 1);
        if (request.method === 'HEAD') return reply.send();
        return reply.send(createReadStream(file, { start: range.start, end: range.end }));
      }
      reply.code(200).header('content-length', size);
      if (request.method === 'HEAD' || size === 0) return reply.send();
      return reply.send(createReadStream(file));
    },
  );
}

export default mediaRoutes;
