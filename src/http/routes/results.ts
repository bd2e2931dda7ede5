import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  DetectionsQuery,
  errorResponses,
  FramesPage,
  type Job,
  JobIdParams,
  LabelsPage,
  type ProgressEvent,
  type StatusEvent,
} from '../../api/schemas.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import {
  type DetectionFilter,
  type DetectionsService,
  InvalidCursorError,
  toLabelsView,
} from '../../services/detections.js';
import type { JobsService } from '../../services/jobs.js';
import { requireUser } from '../plugins/auth.js';

/**
 * A job's results: detections (paged JSON, streamed NDJSON, per-frame labels view) and its
 * progress as Server-Sent Events. Both check ownership first: another user's job is a 404.
 */

export interface ResultsRoutesOptions {
  jobs: Pick<JobsService, 'get' | 'getOwned'>;
  detections: DetectionsService;
  /** how often the events stream re-reads the job (ms) */
  eventsPollMs?: number;
}

const FINAL = new Set(['completed', 'failed', 'canceled']);

export const resultsRoutes: FastifyPluginAsyncTypebox<ResultsRoutesOptions> = async (app, opts) => {
  const tags = ['jobs'];
  // Event streams end when the server shuts down (EventSource reconnects, to another instance
  // if there is one); an open stream would otherwise hold app.close() until the client leaves.
  let shuttingDown = false;
  app.addHook('preClose', async () => {
    shuttingDown = true;
  });
  const security = [{ bearerAuth: [] }];
  app.addHook('onRequest', app.authenticate);

  app.get(
    '/v1/jobs/:id/detections',
    {
      schema: {
        tags,
        security,
        summary: "A job's analysed frames with their detections, paged by frame index",
        description:
          'format=json: a page of frames and nextCursor. format=ndjson: every matching frame, one JSON ' +
          'object per line, streamed. format=labels: per frame, [label, score] pairs. `label` (one label, ' +
          'or several comma-separated) keeps only frames containing one of them, and only their ' +
          'detections; `minScore` drops weaker detections but keeps the frame.',
        params: JobIdParams,
        querystring: DetectionsQuery,
        response: {
          200: Type.Union([FramesPage, LabelsPage]),
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const owned = await opts.jobs.getOwned(user.id, request.params.id);
      if (!owned) throw new NotFoundError('The job was not found.', 'JOB_NOT_FOUND');
      const q = request.query;
      if (q.from !== undefined && q.to !== undefined && q.from > q.to) {
        throw new ValidationError('from must not be after to.', 'INVALID_QUERY');
      }
      const labels = q.label
        ?.split(',')
        .map((l) => l.trim())
        .filter(Boolean);
      const filter: DetectionFilter = {
        from: q.from,
        to: q.to,
        labels: labels?.length ? labels : undefined,
        minScore: q.minScore,
      };
      if (q.format === 'ndjson') {
        reply.header('content-type', 'application/x-ndjson; charset=utf-8');
        reply.header('content-disposition', `attachment; filename="${owned.id}.ndjson"`);
        // a stream skips response serialization: memory stays flat however long the video
        return reply.send(Readable.from(ndjsonStream(opts.detections.all(owned.id, filter))) as never);
      }
      try {
        const page = await opts.detections.page(owned.id, filter, q.cursor, q.limit);
        if (q.format === 'labels')
          return { frames: page.frames.map(toLabelsView), nextCursor: page.nextCursor };
        return page;
      } catch (e) {
        if (e instanceof InvalidCursorError) throw new ValidationError(e.message, 'INVALID_CURSOR');
        throw e;
      }
    },
  );

  app.get(
    '/v1/jobs/:id/events',
    {
      schema: {
        tags,
        security,
        summary: "A job's progress as Server-Sent Events",
        description:
          '`event: progress` with { status, progress } whenever it changes, then `event: status` with ' +
          '{ status, error } once the job is completed, failed or canceled, and the stream ends. ' +
          'EventSource cannot send headers: `?access_token=<jwt>` is accepted here.',
        params: JobIdParams,
        querystring: Type.Object({ access_token: Type.Optional(Type.String({ maxLength: 4096 })) }),
        produces: ['text/event-stream'],
        response: { 200: Type.String({ description: 'text/event-stream' }), ...errorResponses(401, 404) },
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      let job: Job = await opts.jobs.get(user.id, request.params.id); // 404 for others' jobs
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      const send = (...[event, data]: ['progress', ProgressEvent] | ['status', StatusEvent]) =>
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      let closed = false;
      request.raw.on('close', () => {
        closed = true;
      });
      let last = '';
      let idle = 0;
      const pollMs = opts.eventsPollMs ?? 1000;
      // Polling the database (not an in-process emitter) works the same when the workers that
      // make progress run in other processes or on other machines.
      while (!closed && !shuttingDown) {
        const snapshot = JSON.stringify({ status: job.status, progress: job.progress });
        if (snapshot !== last) {
          send('progress', { status: job.status, progress: job.progress });
          last = snapshot;
          idle = 0;
        } else {
          idle += pollMs;
          if (idle >= 15_000) {
            res.write(': keep-alive\n\n'); // proxies close silent connections
            idle = 0;
          }
        }
        if (FINAL.has(job.status)) {
          send('status', { status: job.status, error: job.error });
          break;
        }
        await new Promise((r) => setTimeout(r, pollMs));
        try {
          job = await opts.jobs.get(user.id, request.params.id);
        } catch {
          send('status', { status: 'deleted', error: null });
          break;
        }
      }
      res.end();
    },
  );
};

async function* ndjsonStream(frames: AsyncIterable<unknown>): AsyncGenerator<string> {
  let buf = '';
  for await (const f of frames) {
    buf += `${JSON.stringify(f)}\n`;
    if (buf.length > 64 * 1024) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}
