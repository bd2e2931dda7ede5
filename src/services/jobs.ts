import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline as pump } from 'node:stream/promises';
import type { Job, JobList } from '../api/schemas.js';
import type { Config } from '../config.js';
import type { JobCursor, JobRecord, JobsRepository } from '../db/repositories/jobs.js';
import {
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  UnprocessableError,
  UnsupportedMediaError,
  ValidationError,
  withoutPaths,
} from '../errors.js';
import { MediaLimitError } from '../media/limits.js';
import { ProbeError, type VideoProbe } from '../media/probe.js';
import type { BlobStore } from '../storage/local.js';
import type { Idempotency } from './idempotency.js';
import { checkCallbackHost, parseJobOptions, parseTag, sanitizeFilename } from './jobs-options.js';

/** What the HTTP layer hands over: @fastify/multipart's parts, structurally. */
export type UploadPart =
  | { type: 'file'; fieldname: string; filename?: string; file: Readable & { truncated?: boolean } }
  | { type: 'field'; fieldname: string; value: unknown; valueTruncated?: boolean };

/** What the jobs service asks of the pipeline: take a new job. (A canceled or deleted job needs
 * nothing: its remaining tasks see the status and stop.) */
export interface JobSubmitter {
  submit(job: { id: string; userId: string }): Promise<void>;
}

export interface JobsServiceDeps {
  jobs: JobsRepository;
  storage: BlobStore;
  probe(file: string): Promise<VideoProbe>;
  config: Pick<
    Config,
    'maxUploadBytes' | 'maxVideoSeconds' | 'callbackAllowlist' | 'userStorageBytes' | 'retentionDays'
  >;
  /** the labels of model `name`, or null when the registry has no such model */
  modelLabels(name: string): readonly string[] | null;
  pipeline: JobSubmitter;
  /** Idempotency-Key handling (absent: the header is refused) */
  idempotency?: Idempotency;
  log?: { warn(obj: unknown, msg?: string): void };
}

export interface CreateJobOptions {
  /** the request's Idempotency-Key */
  idempotencyKey?: string;
}

export interface JobsService {
  /**
   * Receives an upload and makes a job: `replayed` when an Idempotency-Key the user already used
   * (with the same request) named an existing job instead.
   */
  create(
    userId: string,
    parts: AsyncIterable<UploadPart>,
    opts?: CreateJobOptions,
  ): Promise<{ job: Job; replayed: boolean }>;
  /**
   * Refuses (413) an upload of about `bytes` that would take the user over USER_STORAGE_BYTES,
   * before it is read; not for a retry of a request whose Idempotency-Key is already known.
   */
  assertRoomFor(userId: string, bytes: number, idempotencyKey?: string): Promise<void>;
  get(userId: string, jobId: string): Promise<Job>;
  list(userId: string, opts: { limit?: number; cursor?: string; q?: string }): Promise<JobList>;
  cancel(userId: string, jobId: string): Promise<Job>;
  remove(userId: string, jobId: string): Promise<void>;
  /** For other routes (media, detections): the job if `userId` owns it, else null (a 404 for them). */
  getOwned(userId: string, jobId: string): Promise<JobRecord | null>;
  /** The stored video of any user's job (a signed media link is its own authorization). */
  getVideoKey(jobId: string): Promise<{
    key: string;
    formatName: string | null;
    pinnedFormat?: string | null;
    rotation?: number;
  } | null>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const notFound = () => new NotFoundError('The job was not found.', 'JOB_NOT_FOUND');

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** Pure: how far a job is, in percent of its analysed frames (100 once completed). */
export function progressPercent(
  job: Pick<JobRecord, 'status' | 'framesDone' | 'framesTotal'> & { framesSkipped?: number },
): number {
  if (job.status === 'completed') return 100;
  if (job.framesTotal <= 0) return 0;
  const settled = job.framesDone + (job.framesSkipped ?? 0); // skipped frames are settled too
  return Math.min(100, Math.round((settled / job.framesTotal) * 1000) / 10);
}

/** When a finished job will be deleted under RETENTION_DAYS (null: unfinished, or kept). Pure. */
export function expiresAt(
  job: Pick<JobRecord, 'finishedAt'>,
  retentionDays: number | null | undefined,
): Date | null {
  if (!retentionDays || !job.finishedAt) return null;
  return new Date(job.finishedAt.getTime() + retentionDays * 86_400_000);
}

/** The one place a job becomes the API's Job JSON. */
export function toJobView(job: JobRecord, opts: { retentionDays?: number | null } = {}): Job {
  const self = `/v1/jobs/${job.id}`;
  return {
    id: job.id,
    status: job.status,
    video: {
      originalName: job.originalName,
      sizeBytes: job.sizeBytes,
      sha256: job.sha256,
      probe: job.probe,
    },
    options: job.options,
    progress: {
      chunksDone: job.chunksDone,
      chunksTotal: job.chunksTotal,
      framesDone: job.framesDone,
      framesTotal: job.framesTotal,
      framesSkipped: job.framesSkipped ?? 0,
      percent: progressPercent(job),
    },
    error: job.error,
    warnings: job.warnings ?? [],
    summary: job.summary,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    expiresAt: iso(expiresAt(job, opts.retentionDays)),
    tag: job.tag,
    links: { self, detections: `${self}/detections`, events: `${self}/events` },
  };
}

export function encodeCursor(c: JobCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt.toISOString(), c.id])).toString('base64url');
}

export function decodeCursor(s: string): JobCursor {
  const bad = () => new ValidationError('cursor is not a cursor this server returned.', 'INVALID_CURSOR');
  if (s.length > 200) throw bad();
  try {
    const [t, id] = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as [unknown, unknown];
    const createdAt = new Date(String(t));
    if (
      typeof t !== 'string' ||
      typeof id !== 'string' ||
      !UUID.test(id) ||
      Number.isNaN(createdAt.getTime())
    )
      throw bad();
    return { createdAt, id };
  } catch {
    throw bad();
  }
}

const FIELD_MAX = 4096;

/** What an Idempotency-Key is bound to: the video's content and every option, not the file's name. Pure. */
export function requestFingerprint(
  video: { sha256: string; size: number },
  options: unknown,
  tag: string | null,
): string {
  return createHash('sha256')
    .update(JSON.stringify([video.sha256, video.size, options, tag]))
    .digest('hex');
}

export function createJobsService(deps: JobsServiceDeps): JobsService {
  const { jobs, storage, config } = deps;
  const view = (job: JobRecord) => toJobView(job, { retentionDays: config.retentionDays });

  async function owned(userId: string, jobId: string): Promise<JobRecord> {
    if (!UUID.test(jobId)) throw notFound();
    const row = await jobs.getForOwner(jobId, userId);
    if (!row) throw notFound();
    return row;
  }

  /** Streams the file part to a temp blob, hashing it; never holds it in memory. */
  async function receive(part: Extract<UploadPart, { type: 'file' }>) {
    const temp = await storage.writeTemp();
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pump(part.file, tap, temp.stream);
    } catch (e) {
      await storage.remove(temp.key).catch(() => {});
      if ((e as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge();
      throw e;
    }
    return {
      key: temp.key,
      path: temp.path,
      size,
      sha256: hash.digest('hex'),
      truncated: part.file.truncated === true,
    };
  }

  const tooLarge = () =>
    new PayloadTooLargeError(
      `The video is larger than this server accepts (${config.maxUploadBytes} bytes).`,
      'UPLOAD_TOO_LARGE',
    );

  const overQuota = (bytes: number, used: number, quota: number) =>
    new PayloadTooLargeError(
      `This video (${bytes} bytes) would take your stored videos (${used} bytes) over your quota of ${quota} bytes; delete jobs to make room.`,
      'STORAGE_QUOTA_EXCEEDED',
    );

  /** Reads the form: the video to a temp blob, the text fields into a map. */
  async function receiveForm(parts: AsyncIterable<UploadPart>) {
    const fields = new Map<string, string[]>();
    let upload: Awaited<ReturnType<typeof receive>> | undefined;
    let originalName = 'video';
    try {
      for await (const part of parts) {
        if (part.type === 'file') {
          if (part.fieldname !== 'video' || upload) {
            part.file.resume(); // drain it so the request can finish
            throw new ValidationError(
              part.fieldname === 'video'
                ? 'Only one video file may be uploaded per job.'
                : `Unexpected file field ${JSON.stringify(part.fieldname.slice(0, 64))}: the file goes in field video.`,
              'INVALID_OPTION',
            );
          }
          originalName = sanitizeFilename(part.filename);
          upload = await receive(part);
          if (upload.truncated) throw tooLarge();
        } else {
          if (part.valueTruncated || (typeof part.value === 'string' && part.value.length > FIELD_MAX)) {
            throw new ValidationError(`${part.fieldname.slice(0, 64)} is too long.`, 'INVALID_OPTION');
          }
          const list = fields.get(part.fieldname) ?? [];
          list.push(String(part.value ?? ''));
          fields.set(part.fieldname, list);
        }
      }
    } catch (e) {
      if (upload) await removeUpload(upload.key);
      throw e;
    }
    if (!upload)
      throw new ValidationError(
        'No video was uploaded: send the file in multipart field video.',
        'EMPTY_UPLOAD',
      );
    return { fields, upload, originalName };
  }

  const removeUpload = (key: string) =>
    storage.remove(key).catch((err) => deps.log?.warn({ err }, 'could not remove upload'));

  async function probeUpload(path: string): Promise<VideoProbe> {
    let probe: VideoProbe;
    try {
      probe = await deps.probe(path);
    } catch (e) {
      if (e instanceof ProbeError) throw new UnsupportedMediaError(withoutPaths(e.message), 'NOT_A_VIDEO');
      if (e instanceof MediaLimitError) throw new UnprocessableError(e.message, e.refusal.code);
      throw e;
    }
    if (probe.durationSec > config.maxVideoSeconds) {
      throw new UnprocessableError(
        `The video lasts ${Math.round(probe.durationSec)} seconds, longer than the ${config.maxVideoSeconds} seconds this server accepts.`,
        'VIDEO_TOO_LONG',
      );
    }
    return probe;
  }

  return {
    async create(userId, parts, opts = {}) {
      const { idempotencyKey } = opts;
      if (idempotencyKey !== undefined && !deps.idempotency) {
        throw new ValidationError('This server does not take an Idempotency-Key.', 'INVALID_OPTION');
      }
      const { fields, upload, originalName } = await receiveForm(parts);
      let claimed = false;
      let stored = upload.key;
      try {
        if (upload.size === 0) throw new ValidationError('The uploaded video file is empty.', 'EMPTY_UPLOAD');
        const tag = parseTag(fields);
        fields.delete('tag');
        const options = parseJobOptions(fields, {
          modelLabels: deps.modelLabels,
          callbackAllowlist: config.callbackAllowlist,
        });
        await checkCallbackHost(options, { callbackAllowlist: config.callbackAllowlist });

        if (idempotencyKey !== undefined && deps.idempotency) {
          const fingerprint = requestFingerprint(upload, options, tag);
          const outcome = await deps.idempotency.begin(userId, idempotencyKey, fingerprint);
          if (outcome.kind === 'replay') {
            await removeUpload(upload.key); // the first request's video is the job's
            return { job: view(await owned(userId, outcome.jobId)), replayed: true };
          }
          claimed = true;
        }

        const probe = await probeUpload(upload.path);
        const id = randomUUID();
        const videoKey = `videos/${id}`;
        await storage.commit(upload.key, videoKey);
        stored = videoKey;
        const newJob = {
          id,
          userId,
          videoKey,
          originalName,
          sizeBytes: upload.size,
          sha256: upload.sha256,
          probe,
          options,
          tag,
        };
        const quota = config.userStorageBytes;
        const row = quota === null ? await jobs.create(newJob) : await jobs.createWithinQuota(newJob, quota);
        if (!row) throw overQuota(upload.size, await jobs.storedBytes(userId), quota ?? 0);
        if (claimed && idempotencyKey !== undefined)
          await deps.idempotency?.complete(userId, idempotencyKey, id);
        claimed = false; // the key now names the job: a failure below must not free it
        try {
          await deps.pipeline.submit(row);
        } catch (e) {
          await jobs.delete(id, userId).catch(() => {}); // the key's row goes with the job
          throw e;
        }
        return { job: view(row), replayed: false };
      } catch (e) {
        await removeUpload(stored);
        if (claimed && idempotencyKey !== undefined) {
          await deps.idempotency?.release(userId, idempotencyKey).catch(() => {});
        }
        throw e;
      }
    },

    async assertRoomFor(userId, bytes, idempotencyKey) {
      const quota = config.userStorageBytes;
      if (quota === null) return;
      if (idempotencyKey !== undefined && (await deps.idempotency?.isKnown(userId, idempotencyKey))) return;
      const used = await jobs.storedBytes(userId);
      if (used + bytes > quota) throw overQuota(bytes, used, quota);
    },

    async get(userId, jobId) {
      return view(await owned(userId, jobId));
    },

    async list(userId, { limit = 20, cursor, q }) {
      const after = cursor ? decodeCursor(cursor) : undefined;
      const nameContains = q?.trim() || undefined;
      const rows = await jobs.listByOwner(userId, { limit: limit + 1, after, nameContains });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const nextCursor =
        rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null;
      return { jobs: page.map(view), nextCursor };
    },

    async cancel(userId, jobId) {
      const row = await owned(userId, jobId);
      if (row.status === 'completed' || row.status === 'failed') {
        throw new ConflictError(
          `The job has already ${row.status === 'completed' ? 'completed' : 'failed'}.`,
          'JOB_FINISHED',
        );
      }
      if (row.status === 'canceled') return view(row);
      // running detect tasks see the status between batches and stop; queued ones do nothing
      const after = await jobs.cancel(jobId, userId);
      if (!after) throw notFound();
      if (after.status !== 'canceled') {
        throw new ConflictError(`The job has already ${after.status}.`, 'JOB_FINISHED');
      }
      return view(after);
    },

    async remove(userId, jobId) {
      // a running job's tasks find it gone and stop (its frames are deleted with it)
      const job = await owned(userId, jobId);
      if (!(await jobs.delete(jobId, userId))) throw notFound();
      await storage.remove(job.videoKey);
    },

    async getOwned(userId, jobId) {
      if (!UUID.test(jobId)) return null;
      return (await jobs.getForOwner(jobId, userId)) ?? null;
    },

    async getVideoKey(jobId) {
      if (!UUID.test(jobId)) return null;
      const job = await jobs.getById(jobId);
      if (!job) return null;
      return {
        key: job.videoKey,
        formatName: job.probe?.formatName ?? null,
        pinnedFormat: job.probe?.pinnedFormat ?? null,
        rotation: job.probe?.video?.rotation ?? 0,
      };
    },
  };
}
