import { ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { FrameJpegError } from '../media/frame-jpeg.js';
import type { JobsService } from './jobs.js';
import type { MediaLinks } from './media-links.js';

/**
 * Job thumbnails: a small JPEG of one frame of the job's video, for the web UI's job list.
 *
 * An <img> cannot send an Authorization header, so (as for the video) the owner asks for a
 * signed link (`GET /v1/jobs/:id/thumbnail-url`, a 404 for anyone else's job) and the browser
 * fetches `GET /v1/media/:id/thumbnail?t&width&exp&sig`. The signature covers the job, the time
 * and the width, so a thumbnail link opens nothing else (not the video, not another frame), and
 * its expiry is rounded up to a bucket so the same thumbnail keeps the same URL for a while and
 * the browser's cache can answer a reload.
 *
 * Rendering is ffmpeg (one short process per thumbnail): at most `maxConcurrent` at once, the
 * same request in flight is shared, and recent JPEGs are kept in a small in-memory cache.
 */

export interface ThumbnailQuery {
  /** seconds from the start of the video (default 0: the first frame, the first analysed one) */
  t?: number;
  /** pixels (default DEFAULT_THUMBNAIL_WIDTH) */
  width?: number;
}

export const DEFAULT_THUMBNAIL_WIDTH = 160;

export interface ThumbnailsDeps {
  jobs: Pick<JobsService, 'getOwned' | 'getVideoKey'>;
  /** the stored file of a storage key */
  pathOf(key: string): string;
  links: Pick<MediaLinks, 'sign' | 'verify' | 'isExpired' | 'ttlSeconds'>;
  /**
   * renders the JPEG (src/media/frame-jpeg.ts frameJpeg, bound to the media settings); `video`
   * is what the probe stored: the pinned container format and the rotation
   */
  render(
    file: string,
    timeSec: number,
    width: number,
    video?: { formatName: string | null; pinnedFormat?: string | null; rotation?: number },
  ): Promise<Buffer>;
  now?: () => number;
  /** ffmpeg processes at once (default 2) */
  maxConcurrent?: number;
  /** JPEGs kept in memory (default 256, a few MB at list sizes) */
  cacheEntries?: number;
}

export interface ThumbnailLink {
  url: string;
  expiresAt: string;
}

export interface ThumbnailsService {
  /** A signed link to the owner's job's thumbnail; NotFoundError for anyone else. */
  link(userId: string, jobId: string, q: ThumbnailQuery): Promise<ThumbnailLink>;
  /** The JPEG for a signed link; ForbiddenError for a bad or expired link. */
  jpeg(
    jobId: string,
    q: { t?: number; width?: number; exp?: string; sig?: string },
  ): Promise<{ jpeg: Buffer; maxAgeSeconds: number }>;
}

const jobNotFound = () => new NotFoundError('The job was not found.', 'JOB_NOT_FOUND');

/** Pure: the time as the canonical string that is signed (milliseconds, no trailing zeros). */
export function canonicalTime(t: number): string {
  return String(Math.round(t * 1000) / 1000);
}

/** Pure: what a thumbnail link signs (job ids are UUIDs: no '/', unlike this). */
export function thumbnailSubject(jobId: string, t: number, width: number): string {
  return `${jobId}/thumbnail/${canonicalTime(t)}/${width}`;
}

/** Pure: an expiry at least `ttl` seconds away, rounded up to a bucket of a quarter of it (≥ 60 s). */
export function bucketedExpiry(nowMs: number, ttlSeconds: number): number {
  const bucket = Math.max(60, Math.floor(ttlSeconds / 4));
  return Math.ceil((Math.floor(nowMs / 1000) + ttlSeconds) / bucket) * bucket;
}

/** A counting semaphore: `run` waits for a free slot. */
function limiter(max: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async function run<T>(fn: () => Promise<T>): Promise<T> {
    if (active >= max) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

export function createThumbnailsService(deps: ThumbnailsDeps): ThumbnailsService {
  const now = deps.now ?? Date.now;
  const run = limiter(deps.maxConcurrent ?? 2);
  const cacheMax = deps.cacheEntries ?? 256;
  const cache = new Map<string, Buffer>(); // insertion order = least recently used first
  const inFlight = new Map<string, Promise<Buffer>>();

  function checkWidth(width: number): number {
    if (!Number.isInteger(width) || width < 16 || width > 640) {
      throw new ValidationError('width must be a whole number of pixels from 16 to 640.', 'INVALID_QUERY');
    }
    return width;
  }

  async function rendered(
    key: string,
    file: string,
    t: number,
    width: number,
    video?: { formatName: string | null; pinnedFormat?: string | null; rotation?: number },
  ): Promise<Buffer> {
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    let p = inFlight.get(key);
    if (!p) {
      p = run(() => deps.render(file, t, width, video)).finally(() => inFlight.delete(key));
      inFlight.set(key, p);
    }
    const jpeg = await p;
    cache.set(key, jpeg);
    while (cache.size > cacheMax) cache.delete(cache.keys().next().value as string);
    return jpeg;
  }

  return {
    async link(userId, jobId, q) {
      const job = await deps.jobs.getOwned(userId, jobId);
      if (!job) throw jobNotFound();
      const t = q.t ?? 0;
      const width = checkWidth(q.width ?? DEFAULT_THUMBNAIL_WIDTH);
      const duration = job.probe?.durationSec;
      if (!(t >= 0) || (typeof duration === 'number' && duration > 0 && t > duration)) {
        throw new ValidationError(
          `t must be a time within the video (0 to ${duration ?? 0} seconds).`,
          'INVALID_QUERY',
        );
      }
      const exp = bucketedExpiry(now(), deps.links.ttlSeconds);
      const sig = deps.links.sign(thumbnailSubject(job.id, t, width), exp);
      const query = new URLSearchParams({ t: canonicalTime(t), width: String(width), exp: String(exp), sig });
      return {
        url: `/v1/media/${encodeURIComponent(job.id)}/thumbnail?${query}`,
        expiresAt: new Date(exp * 1000).toISOString(),
      };
    },

    async jpeg(jobId, q) {
      const t = q.t ?? 0;
      const width = q.width ?? DEFAULT_THUMBNAIL_WIDTH;
      const { exp, sig } = q;
      if (
        !exp ||
        !sig ||
        !Number.isInteger(width) ||
        !deps.links.verify(thumbnailSubject(jobId, t, width), exp, sig)
      ) {
        throw exp && sig && deps.links.isExpired(exp)
          ? new ForbiddenError('This thumbnail link has expired; ask for a new one.', 'MEDIA_LINK_EXPIRED')
          : new ForbiddenError('This thumbnail link is not valid.', 'INVALID_MEDIA_LINK');
      }
      const ref = await deps.jobs.getVideoKey(jobId);
      if (!ref) throw jobNotFound();
      let jpeg: Buffer;
      try {
        jpeg = await rendered(thumbnailSubject(jobId, t, width), deps.pathOf(ref.key), t, width, ref);
      } catch (e) {
        if (e instanceof FrameJpegError) {
          throw new NotFoundError('There is no frame of this video at that time.', 'FRAME_NOT_FOUND');
        }
        throw e;
      }
      const maxAgeSeconds = Math.max(0, Math.min(3600, Number(exp) - Math.floor(now() / 1000)));
      return { jpeg, maxAgeSeconds };
    },
  };
}
