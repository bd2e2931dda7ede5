import type { Kysely, Selectable } from 'kysely';
import type { Box } from '../../api/schemas.js';
import { fromJson, toJson } from '../json.js';
import type { Database, TracksTable } from '../types.js';

/**
 * The `tracks` table: one row per confirmed track of a job, with its aggregates (written by the
 * `track` step as tracks end, and while they are still open, so the row is always the latest).
 * Writes are upserts keyed by (job, track id): a re-run step rewrites the same rows.
 */

export interface TrackRecord {
  id: number;
  label: string;
  firstFrame: number;
  lastFrame: number;
  firstSeen: number;
  lastSeen: number;
  frames: number;
  maxScore: number;
  bestFrame: number;
  bestSeen: number;
  box: Box;
}

export interface TrackQuery {
  /** only tracks of these labels */
  labels?: readonly string[];
  /** only tracks with at least this many frames (the noise rule) */
  minFrames?: number;
  /** only this track */
  trackId?: number;
  /** keyset: tracks with a larger id */
  afterId?: number;
  limit: number;
}

export interface TracksRepository {
  upsert(jobId: string, tracks: readonly TrackRecord[]): Promise<void>;
  /** Tracks in id order, keyset-paged by `afterId`. */
  page(jobId: string, q: TrackQuery): Promise<TrackRecord[]>;
  get(jobId: string, trackId: number): Promise<TrackRecord | null>;
  /** Distinct objects per label: tracks with at least `minFrames` frames (one GROUP BY). */
  countObjects(jobId: string, minFrames: number): Promise<Map<string, number>>;
  /** Of `ids`, those whose track has at least `minFrames` frames (the non-noise ones of a page). */
  keptIds(jobId: string, ids: readonly number[], minFrames: number): Promise<Set<number>>;
}

function toRecord(r: Selectable<TracksTable>): TrackRecord {
  return {
    id: r.track_id,
    label: r.label,
    firstFrame: r.first_frame,
    lastFrame: r.last_frame,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    frames: r.frames,
    maxScore: r.max_score,
    bestFrame: r.best_frame,
    bestSeen: r.best_seen,
    box: fromJson<Box>(r.box),
  };
}

export function createTracksRepository(db: Kysely<Database>): TracksRepository {
  return {
    async upsert(jobId, tracks) {
      for (let i = 0; i < tracks.length; i += 200) {
        await db
          .insertInto('tracks')
          .values(
            tracks.slice(i, i + 200).map((t) => ({
              job_id: jobId,
              track_id: t.id,
              label: t.label,
              first_frame: t.firstFrame,
              last_frame: t.lastFrame,
              first_seen: t.firstSeen,
              last_seen: t.lastSeen,
              frames: t.frames,
              max_score: t.maxScore,
              best_frame: t.bestFrame,
              best_seen: t.bestSeen,
              box: toJson({ x1: t.box.x1, y1: t.box.y1, x2: t.box.x2, y2: t.box.y2 }),
            })),
          )
          .onConflict((oc) =>
            oc.columns(['job_id', 'track_id']).doUpdateSet((eb) => ({
              label: eb.ref('excluded.label'),
              first_frame: eb.ref('excluded.first_frame'),
              last_frame: eb.ref('excluded.last_frame'),
              first_seen: eb.ref('excluded.first_seen'),
              last_seen: eb.ref('excluded.last_seen'),
              frames: eb.ref('excluded.frames'),
              max_score: eb.ref('excluded.max_score'),
              best_frame: eb.ref('excluded.best_frame'),
              best_seen: eb.ref('excluded.best_seen'),
              box: eb.ref('excluded.box'),
            })),
          )
          .execute();
      }
    },

    async page(jobId, q) {
      let query = db
        .selectFrom('tracks')
        .selectAll()
        .where('job_id', '=', jobId)
        .orderBy('track_id')
        .limit(q.limit);
      if (q.afterId !== undefined) query = query.where('track_id', '>', q.afterId);
      if (q.minFrames !== undefined) query = query.where('frames', '>=', q.minFrames);
      if (q.trackId !== undefined) query = query.where('track_id', '=', q.trackId);
      if (q.labels !== undefined && q.labels.length > 0) query = query.where('label', 'in', [...q.labels]);
      return (await query.execute()).map(toRecord);
    },

    async get(jobId, trackId) {
      const r = await db
        .selectFrom('tracks')
        .selectAll()
        .where('job_id', '=', jobId)
        .where('track_id', '=', trackId)
        .executeTakeFirst();
      return r ? toRecord(r) : null;
    },

    async countObjects(jobId, minFrames) {
      const rows = await db
        .selectFrom('tracks')
        .select((eb) => ['label', eb.fn.countAll<number | string>().as('n')])
        .where('job_id', '=', jobId)
        .where('frames', '>=', minFrames)
        .groupBy('label')
        .execute();
      return new Map(rows.map((r) => [r.label, Number(r.n)]));
    },

    async keptIds(jobId, ids, minFrames) {
      if (ids.length === 0) return new Set();
      const rows = await db
        .selectFrom('tracks')
        .select('track_id')
        .where('job_id', '=', jobId)
        .where('track_id', 'in', [...ids])
        .where('frames', '>=', minFrames)
        .execute();
      return new Set(rows.map((r) => r.track_id));
    },
  };
}
