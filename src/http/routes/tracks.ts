import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  ExportQuery,
  errorResponses,
  JobIdParams,
  MediaQuery,
  TrackParams,
  TracksPage,
  TracksQuery,
} from '../../api/schemas.js';
import type { ExportsService } from '../../services/exports.js';
import type { TracksService } from '../../services/tracks.js';
import { requireUser } from '../plugins/auth.js';

/**
 * A job's objects: its tracks (paged, with signed thumbnail links), the thumbnails themselves
 * (by signature, no token: for <img>), and its results as a file for other tools. Another user's
 * job is a 404.
 */
export interface TracksRoutesOptions {
  tracks: TracksService;
  exports: Pick<ExportsService, 'open'>;
}

export const tracksRoutes: FastifyPluginAsyncTypebox<TracksRoutesOptions> = async (app, opts) => {
  const tags = ['jobs'];
  const security = [{ bearerAuth: [] }];

  app.get(
    '/v1/jobs/:id/tracks',
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        security,
        summary: "A job's tracks (distinct objects), paged by track id",
        description:
          'Each track: its label, first and last frame and time, frames seen, best score, the best frame ' +
          'and its box, and a signed thumbnailUrl (a JPEG of the best frame cropped to the box). Tracks ' +
          "seen in fewer than `minFrames` frames (default: the job's minTrackFrames) are noise and left " +
          'out; `minFrames=1` lists every track. `label`: one label or several, comma-separated.',
        params: JobIdParams,
        querystring: TracksQuery,
        response: { 200: TracksPage, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => opts.tracks.page(requireUser(request).id, request.params.id, request.query),
  );

  app.get(
    '/v1/media/:id/tracks/:trackId/thumbnail',
    {
      schema: {
        tags,
        summary: "A track's thumbnail JPEG, by the signed thumbnailUrl of GET /v1/jobs/:id/tracks",
        params: TrackParams,
        querystring: MediaQuery,
        produces: ['image/jpeg'],
        response: { ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const { jpeg, maxAgeSeconds } = await opts.tracks.thumbnail(
        request.params.id,
        request.params.trackId,
        request.query,
      );
      return reply
        .header('content-type', 'image/jpeg')
        .header('cache-control', `private, max-age=${maxAgeSeconds}`)
        .header('x-content-type-options', 'nosniff')
        .send(jpeg);
    },
  );

  app.get(
    '/v1/jobs/:id/export',
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        security,
        summary: "A job's results as a file for annotation and evaluation tools, streamed",
        description:
          'format=coco: COCO detection JSON (one image per analysed frame, track_id in attributes); ' +
          'mot: MOT Challenge text (frame 1-based, id, x, y, w, h, conf, -1, -1, -1); cvat: CVAT for ' +
          'video 1.1 XML (one <track> per track); yolo: a zip in the YOLO 1.1 layout CVAT imports; ' +
          'csv: one row per detection. The same filters as the detections: from, to, label, minScore, ' +
          'trackId, and noise left out unless includeNoise=true (minFrames: see the detections).',
        params: JobIdParams,
        querystring: ExportQuery,
        produces: ['application/json', 'text/plain', 'application/xml', 'application/zip', 'text/csv'],
        response: {
          200: Type.String({ description: 'the file (Content-Disposition: attachment)' }),
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const { format, ...q } = request.query;
      const file = await opts.exports.open(requireUser(request).id, request.params.id, format, q);
      reply.header('content-type', file.contentType);
      reply.header('content-disposition', `attachment; filename="${file.filename}"`);
      reply.header('x-content-type-options', 'nosniff');
      // a stream skips response serialization: memory stays flat however long the video
      return reply.send(Readable.from(file.body) as never);
    },
  );
};
