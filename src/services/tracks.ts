import type { Track, TracksPage } from '../api/schemas.js';
import type { JobRecord } from '../db/repositories/jobs.js';
import type { TrackRecord, TracksRepository } from '../db/repositories/tracks.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { type FrameCrop, FrameJpegError } from '../media/frame-jpeg.js';
import { DEFAULT_MIN_TRACK_FRAMES } from '../tracking/noise.js';
import { parseLabels } from './detections.js';
import type { JobsService } from './jobs.js';
import type { MediaLinks } from './media-links.js';
import { bucketedExpiry, createJpegCache, type JpegCache } from './thumbnails.js';

/**
 * A job's tracks (the objects it found): pages in track-id order, filtered by label and by the
 * noise rule (`minFrames`, default the job's minTrackFrames), each with a signed link to its
 * thumbnail: the best frame (highest score) cropped to the track's box there. As for the job
 * thumbnail, an <img> cannot send a token, so the link is signed (media-links.ts) over the job and
 * the track, with an expiry rounded up to a bucket so a reload hits the browser's cache; the JPEG
 * is rendered by ffmpeg on first request and kept in the shared in-memory JPEG cache.
 */

export interface TracksQuery {
  label?: string;
  minFrames?: number;
  cursor?: string;
  limit: number;
}

export interface TracksServiceDeps {
  jobs: Pick<JobsService, 'getOwned' | 'getVideoKey'>;
  tracks: Pick<TracksRepository, 'page' | 'get'>;
  links: Pick<MediaLinks, 'sign' | 'verify' | 'isExpired' | 'ttlSeconds'>;
  /** the stored file of a storage key */
  pathOf(key: string): string;
  /** renders the crop (frameJpeg with `crop`, bound to the ffmpeg binary) */
  render(file: string, timeSec: number, width: number, crop: FrameCrop): Promise<Buffer>;
  jpegs?: JpegCache;
  now?: () => number;
}

export interface TracksService {
  /** A page of the owner's job's tracks; NotFoundError for anyone else. */
  page(userId: string, jobId: string, q: TracksQuery): Promise<TracksPage>;
  /** The JPEG of a signed track-thumbnail link; ForbiddenError for a bad or expired link. */
  thumbnail(
    jobId: string,
    trackId: number,
    q: { exp?: string; sig?: string },
  ): Promise<{ jpeg: Buffer; maxAgeSeconds: number }>;
}

const jobNotFound = () => new NotFoundError('The job was not found.', 'JOB_NOT_FOUND');

export function encodeTrackCursor(id: number): string {
  return Buffer.from(`t:${id}`).toString('base64url');
}

export function decodeTrackCursor(cursor: string): number {
  const m = /^t:(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m)
    throw new ValidationError(
      'The cursor is not valid: use nextCursor from the previous page.',
      'INVALID_CURSOR',
    );
  return Number(m[1]);
}

/** Pure: what a track thumbnail link signs (job ids are UUIDs: no '/'). */
export function trackThumbnailSubject(jobId: string, trackId: number): string {
  return `${jobId}/track/${trackId}`;
}

/** Pure: the thumbnail's width: the box's own, within 32..160 px (even). */
export function trackThumbnailWidth(box: TrackRecord['box']): number {
  const w = Math.round(Math.min(160, Math.max(32, box.x2 - box.x1)));
  return w - (w % 2);
}

/** Pure: a track's box as the crop of its best frame. */
export function trackCrop(box: TrackRecord['box']): FrameCrop {
  return { x: box.x1, y: box.y1, width: box.x2 - box.x1, height: box.y2 - box.y1 };
}

export function createTracksService(deps: TracksServiceDeps): TracksService {
  const now = deps.now ?? Date.now;
  const jpegs = deps.jpegs ?? createJpegCache();

  function view(job: JobRecord, t: TrackRecord, exp: number): Track {
    const sig = deps.links.sign(trackThumbnailSubject(job.id, t.id), exp);
    return {
      id: t.id,
      label: t.label,
      firstFrame: t.firstFrame,
      lastFrame: t.lastFrame,
      firstSeen: t.firstSeen,
      lastSeen: t.lastSeen,
      frames: t.frames,
      maxScore: t.maxScore,
      bestFrame: t.bestFrame,
      box: { x1: t.box.x1, y1: t.box.y1, x2: t.box.x2, y2: t.box.y2 },
      thumbnailUrl: `/v1/media/${encodeURIComponent(job.id)}/tracks/${t.id}/thumbnail?exp=${exp}&sig=${sig}`,
    };
  }

  return {
    async page(userId, jobId, q) {
      const job = await deps.jobs.getOwned(userId, jobId);
      if (!job) throw jobNotFound();
      const afterId = q.cursor ? decodeTrackCursor(q.cursor) : undefined;
      const rows = await deps.tracks.page(job.id, {
        labels: parseLabels(q.label),
        minFrames: q.minFrames ?? job.options.minTrackFrames ?? DEFAULT_MIN_TRACK_FRAMES,
        afterId,
        limit: q.limit + 1,
      });
      const more = rows.length > q.limit;
      const page = rows.slice(0, q.limit);
      const exp = bucketedExpiry(now(), deps.links.ttlSeconds);
      return {
        tracks: page.map((t) => view(job, t, exp)),
        nextCursor: more && page.length > 0 ? encodeTrackCursor(page[page.length - 1].id) : null,
      };
    },

    async thumbnail(jobId, trackId, q) {
      const { exp, sig } = q;
      if (!exp || !sig || !deps.links.verify(trackThumbnailSubject(jobId, trackId), exp, sig)) {
        throw exp && sig && deps.links.isExpired(exp)
          ? new ForbiddenError('This thumbnail link has expired; ask for a new one.', 'MEDIA_LINK_EXPIRED')
          : new ForbiddenError('This thumbnail link is not valid.', 'INVALID_MEDIA_LINK');
      }
      const ref = await deps.jobs.getVideoKey(jobId);
      const track = ref ? await deps.tracks.get(jobId, trackId) : null;
      if (!ref || !track) throw new NotFoundError('The track was not found.', 'TRACK_NOT_FOUND');
      const file = deps.pathOf(ref.key);
      let jpeg: Buffer;
      try {
        // keyed by the best frame too: an open track of a running job may still find a better one
        jpeg = await jpegs.get(`${trackThumbnailSubject(jobId, trackId)}/${track.bestFrame}`, () =>
          deps.render(file, track.bestSeen, trackThumbnailWidth(track.box), trackCrop(track.box)),
        );
      } catch (e) {
        if (e instanceof FrameJpegError)
          throw new NotFoundError("The track's frame could not be read from the video.", 'FRAME_NOT_FOUND');
        throw e;
      }
      const maxAgeSeconds = Math.max(0, Math.min(3600, Number(exp) - Math.floor(now() / 1000)));
      return { jpeg, maxAgeSeconds };
    },
  };
}
