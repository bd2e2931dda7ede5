import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  DetectionsQuery,
  type ExpiredEvent,
  errorResponses,
  FramesPage,
  JobIdParams,
  LabelsPage,
  type ProgressEvent,
  type StatusEvent,
} from '../../api/schemas.js';
import type { JobRecord } from '../../db/repositories/jobs.js';
import { NotFoundError, RateLimitedError, ValidationError } from '../../errors.js';
import {
  type DetectionFilter,
  type DetectionsService,
  InvalidCursorError,
  toLabelsView,
} from '../../services/detections.js';
import type { JobWatcher } from '../../services/job-watcher.js';
import { createUserSlots } from '../../services/job-watcher.js';
import { type JobsService, progressPercent } from '../../services/jobs.js';
import { requireUser } from '../plugins/auth.js';

/**
 * A job's results: detections (paged JSON, streamed NDJSON, per-frame labels view) and its
 * progress as Server-Sent Events. Both check ownership first: another user's job is a 404.
 */

export interface ResultsRoutesOptions {
  jobs: Pick<JobsService, 'getOwned'>;
  detections: DetectionsService;
  /** reads the watched jobs once per tick for all their streams */
  watcher: Pick<JobWatcher, 'watch'>;
  /** how often the watcher ticks (ms): keep-alives are counted in ticks */
  pollMs: number;
  /** event streams one user may hold open at once (USER_MAX_EVENT_STREAMS) */
  maxStreamsPerUser: number;
}

const FINAL = new Set(['completed', 'failed', 'canceled']);
/** Proxies close silent connections: a comment line at least this often. */
const KEEP_ALIVE_MS = 15_000;

const progressOf = (job: JobRecord): ProgressEvent => ({
  status: job.status,
  progress: {
    chunksDone: job.chunksDone,
    chunksTotal: job.chunksTotal,
    framesDone: job.framesDone,
    framesTotal: job.framesTotal,
    framesSkipped: job.framesSkipped ?? 0,
    percent: progressPercent(job),
  },
});

export const resultsRoutes: FastifyPluginAsyncTypebox<ResultsRoutesOptions> = async (app, opts) => {
  const tags = ['jobs'];
  // Event streams end when the server shuts down (EventSource reconnects, to another instance
  // if there is one); an open stream would otherwise hold app.close() until the client leaves.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  const slots = createUserSlots(opts.maxStreamsPerUser);
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
      config: { queryToken: true },
      schema: {
        tags,
        security,
        summary: "A job's progress as Server-Sent Events",
        description:
          '`event: progress` with { status, progress } whenever it changes, then `event: status` with ' +
          '{ status, error } once the job is completed, failed, canceled or deleted, and the stream ends. ' +
          '`event: expired` with { message } when the access token expires; the stream ends and the ' +
          'client reconnects with a fresh token. EventSource cannot send headers: `?access_token=<token>` ' +
          'is accepted here (and only here). At most USER_MAX_EVENT_STREAMS open streams per user (429).',
        params: JobIdParams,
        querystring: Type.Object({ access_token: Type.Optional(Type.String({ maxLength: 4096 })) }),
        produces: ['text/event-stream'],
        response: {
          200: Type.String({ description: 'text/event-stream' }),
          ...errorResponses(401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const release = slots.acquire(user.id);
      if (!release) {
        throw new RateLimitedError(
          `You have ${slots.max} event streams open, the most this server allows; close one first.`,
          'TOO_MANY_STREAMS',
        );
      }
      let job: JobRecord | null;
      try {
        job = await opts.jobs.getOwned(user.id, request.params.id); // null (404) for others' jobs
      } catch (e) {
        release();
        throw e;
      }
      if (!job) {
        release();
        throw new NotFoundError('The job was not found.', 'JOB_NOT_FOUND');
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      const send = (
        ...[event, data]: ['progress', ProgressEvent] | ['status', StatusEvent] | ['expired', ExpiredEvent]
      ) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

      let last = '';
      let idle = 0;
      let unwatch = () => {};
      let expiry: NodeJS.Timeout | undefined;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        unwatch();
        clearTimeout(expiry);
        open.delete(end);
        release();
        res.end();
      };
      request.raw.on('close', end);
      open.add(end);

      /** Sends what changed; true once the stream is over. */
      const update = (now: JobRecord | null): boolean => {
        if (!now) {
          send('status', { status: 'deleted', error: null });
          return true;
        }
        const progress = progressOf(now);
        const snapshot = JSON.stringify(progress);
        if (snapshot !== last) {
          send('progress', progress);
          last = snapshot;
          idle = 0;
        }
        if (FINAL.has(now.status)) {
          send('status', { status: now.status, error: now.error });
          return true;
        }
        return false;
      };

      if (update(job)) return end();
      // a stream lives no longer than the token that opened it (an API key has no expiry)
      const expiresAt = user.expiresAt;
      if (expiresAt) {
        const arm = () => {
          const left = expiresAt.getTime() - Date.now();
          if (left > 0) {
            // setTimeout holds at most ~24.8 days: a longer-lived token re-arms
            expiry = setTimeout(arm, Math.min(left, 2 ** 31 - 1));
            expiry.unref();
            return;
          }
          send('expired', { message: 'The access token has expired; reconnect with a fresh one.' });
          end();
        };
        arm();
      }
      unwatch = opts.watcher.watch(job.id, (now) => {
        if (ended) return;
        if (update(now)) return end();
        idle += opts.pollMs;
        if (idle >= KEEP_ALIVE_MS) {
          res.write(': keep-alive\n\n');
          idle = 0;
        }
      });
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
