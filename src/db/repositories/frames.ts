import { type Kysely, sql } from 'kysely';
import type { Detection } from '../../api/schemas.js';
import { fromJson, toJson } from '../json.js';
import type { Database } from '../types.js';

/**
 * The `frames` table: one row per analysed frame, keyed by (job, frame index). Writes are upserts,
 * so a retried chunk overwrites its frames instead of duplicating them.
 */

/** A stored detection: `trackId` once the job's track step has run over its frame (absent before). */
export type StoredDetection = Detection & { trackId?: number | null };

export interface FrameRecord {
  frameIndex: number;
  timestamp: number;
  detections: StoredDetection[];
}

export interface FrameQuery {
  afterFrame?: number;
  limit: number;
  from?: number;
  to?: number;
  /** only frames having at least one detection with one of these labels */
  labels?: readonly string[];
  /** frames up to this index, inclusive */
  untilFrame?: number;
  /** only frames having a detection of this track */
  trackId?: number;
}

export interface FramesRepository {
  upsert(jobId: string, frames: FrameRecord[]): Promise<void>;
  /** Frames in frame order, keyset-paged by `afterFrame`. */
  list(jobId: string, q: FrameQuery): Promise<FrameRecord[]>;
}

export function createFramesRepository(db: Kysely<Database>): FramesRepository {
  return {
    async upsert(jobId, frames) {
      if (frames.length === 0) return;
      await db
        .insertInto('frames')
        .values(
          frames.map((f) => ({
            job_id: jobId,
            frame_index: f.frameIndex,
            timestamp: f.timestamp,
            detections: toJson(f.detections),
          })),
        )
        .onConflict((oc) =>
          oc.columns(['job_id', 'frame_index']).doUpdateSet((eb) => ({
            timestamp: eb.ref('excluded.timestamp'),
            detections: eb.ref('excluded.detections'),
          })),
        )
        .execute();
    },

    async list(jobId, q) {
      let query = db
        .selectFrom('frames')
        .select(['frame_index', 'timestamp', 'detections'])
        .where('job_id', '=', jobId)
        .orderBy('frame_index')
        .limit(q.limit);
      if (q.afterFrame !== undefined) query = query.where('frame_index', '>', q.afterFrame);
      if (q.from !== undefined) query = query.where('timestamp', '>=', q.from);
      if (q.to !== undefined) query = query.where('timestamp', '<=', q.to);
      if (q.untilFrame !== undefined) query = query.where('frame_index', '<=', q.untilFrame);
      if (q.trackId !== undefined)
        query = query.where(sql<boolean>`detections @> ${toJson([{ trackId: q.trackId }])}::jsonb`);
      const labels = q.labels;
      if (labels !== undefined && labels.length > 0) {
        query = query.where((eb) =>
          eb.or(labels.map((label) => sql<boolean>`detections @> ${toJson([{ label }])}::jsonb`)),
        );
      }
      const rows = await query.execute();
      return rows.map((r) => ({
        frameIndex: r.frame_index,
        timestamp: r.timestamp,
        detections: fromJson<StoredDetection[]>(r.detections),
      }));
    },
  };
}
