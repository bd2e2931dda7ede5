import { randomUUID } from 'node:crypto';
import type { CreateRenderBody, Render, RenderCreated } from '../api/schemas.js';
import type { JobRecord } from '../db/repositories/jobs.js';
import type { RenderOptions, RenderRecord, RendersRepository } from '../db/repositories/renders.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { unknownLabelsSentence } from './jobs-options.js';
import type { MediaLinks } from './media-links.js';

/**
 * Annotated videos of a job (POST /v1/jobs/:id/renders): the owner asks for one (labels, minScore,
 * tracks to draw), a `render` task makes it on some worker, and once completed the render has a
 * signed URL that serves the MP4 with HTTP Range like the job's video. Another user's job is a 404.
 */
export interface RendersService {
  create(userId: string, jobId: string, body: CreateRenderBody): Promise<RenderCreated['render']>;
  get(userId: string, jobId: string, renderId: string): Promise<Render>;
  /** The stored MP4 of a signed render link; ForbiddenError for a bad or expired link. */
  fileOf(jobId: string, renderId: string, q: { exp?: string; sig?: string }): Promise<{ key: string }>;
}

export interface RendersServiceDeps {
  /** the job if the user owns it (null otherwise) */
  getOwned(userId: string, jobId: string): Promise<JobRecord | null>;
  renders: Pick<RendersRepository, 'create' | 'getForJob'>;
  scheduler: { render(job: { id: string; userId: string }, renderId: string): Promise<void> };
  links: Pick<MediaLinks, 'sign' | 'verify' | 'isExpired' | 'ttlSeconds'>;
  /** the labels of model `name`, or null when the registry has no such model */
  modelLabels(name: string): readonly string[] | null;
  now?: () => number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const jobNotFound = () => new NotFoundError('The job was not found.', 'JOB_NOT_FOUND');
const renderNotFound = () => new NotFoundError('The render was not found.', 'RENDER_NOT_FOUND');

/** Pure: what a render link signs (job ids are UUIDs: no '/', so it opens nothing else). */
export function renderSubject(jobId: string, renderId: string): string {
  return `${jobId}/render/${renderId}`;
}

/** Pure: the request body as stored options (checked against the model's labels). */
export function renderOptions(
  body: CreateRenderBody,
  model: string,
  known: readonly string[] | null,
): RenderOptions {
  let labels: string[] | null = null;
  if (body.labels && body.labels.length > 0) {
    labels = [...new Set(body.labels.map((l) => l.trim()).filter(Boolean))];
    const unknown = known ? labels.filter((l) => !known.includes(l)) : [];
    if (unknown.length > 0)
      throw new ValidationError(unknownLabelsSentence(unknown, model, known ?? []), 'INVALID_OPTION');
    if (labels.length === 0) labels = null;
  }
  const tracks =
    body.tracks && body.tracks.length > 0 ? [...new Set(body.tracks)].sort((a, b) => a - b) : null;
  return { labels, minScore: body.minScore ?? null, tracks };
}

export function createRendersService(deps: RendersServiceDeps): RendersService {
  const now = deps.now ?? Date.now;

  const owned = async (userId: string, jobId: string) => {
    const job = await deps.getOwned(userId, jobId);
    if (!job) throw jobNotFound();
    return job;
  };

  function view(r: RenderRecord): Render {
    const out: Render = {
      id: r.id,
      jobId: r.jobId,
      status: r.status,
      progress: r.status === 'completed' ? 100 : r.progress,
      options: r.options,
      error: r.error,
      createdAt: r.createdAt.toISOString(),
      finishedAt: r.finishedAt ? r.finishedAt.toISOString() : null,
    };
    if (r.status === 'completed' && r.storageKey) {
      const exp = Math.floor(now() / 1000) + deps.links.ttlSeconds;
      const sig = deps.links.sign(renderSubject(r.jobId, r.id), exp);
      out.url = `/v1/media/${r.jobId}/renders/${r.id}?exp=${exp}&sig=${sig}`;
      out.expiresAt = new Date(exp * 1000).toISOString();
    }
    return out;
  }

  return {
    async create(userId, jobId, body) {
      const job = await owned(userId, jobId);
      if (job.status !== 'completed') {
        throw new ConflictError(
          `The job is ${job.status}; an annotated video can be made once it has completed.`,
          'JOB_NOT_COMPLETED',
        );
      }
      const options = renderOptions(body, job.options.model, deps.modelLabels(job.options.model));
      const render = await deps.renders.create({ id: randomUUID(), jobId: job.id, options });
      await deps.scheduler.render(job, render.id);
      return { id: render.id, status: render.status };
    },

    async get(userId, jobId, renderId) {
      const job = await owned(userId, jobId);
      if (!UUID.test(renderId)) throw renderNotFound();
      const r = await deps.renders.getForJob(job.id, renderId);
      if (!r) throw renderNotFound();
      return view(r);
    },

    async fileOf(jobId, renderId, { exp, sig }) {
      if (!exp || !sig || !deps.links.verify(renderSubject(jobId, renderId), exp, sig)) {
        throw exp && sig && deps.links.isExpired(exp)
          ? new ForbiddenError('This video link has expired; ask for a new one.', 'MEDIA_LINK_EXPIRED')
          : new ForbiddenError('This video link is not valid.', 'INVALID_MEDIA_LINK');
      }
      const r =
        UUID.test(jobId) && UUID.test(renderId) ? await deps.renders.getForJob(jobId, renderId) : null;
      if (!r?.storageKey || r.status !== 'completed') throw renderNotFound();
      return { key: r.storageKey };
    },
  };
}
