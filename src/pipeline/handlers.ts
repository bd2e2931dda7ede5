import type { ChunksRepository } from '../db/repositories/chunks.js';
import type { DeliveriesRepository } from '../db/repositories/deliveries.js';
import type { FramesRepository } from '../db/repositories/frames.js';
import type { JobsRepository } from '../db/repositories/jobs.js';
import type { Detector } from '../inference/types.js';
import type { MediaSettings } from '../media/settings.js';
import type { TaskHandler, TaskName } from '../queue/port.js';
import type { BlobStore } from '../storage/local.js';
import type { ChunkAnalysisDeps, ChunkAnalysisSettings } from './analyse-chunk.js';
import type { deliverCallback } from './callbacks.js';
import { withJobSlot } from './job-slots.js';
import type { JobScheduler } from './next.js';
import { createDetectTask } from './tasks/detect.js';
import { createFinalizeTask } from './tasks/finalize.js';
import { createNotifyTask } from './tasks/notify.js';
import { createProcessTask } from './tasks/process.js';

/**
 * The typed map from task name to handler: every task the queue carries has exactly one handler
 * (the compiler checks the map is complete, the queue checks names at start-up). The handlers are
 * the same functions under the in-process queue and under BullMQ.
 *
 * A job's story: `process` plans chunks → one `detect` per chunk → `finalize` completes the job
 * once → `notify` delivers its callback. What each step queues next is in next.ts.
 */
export interface TaskHandlerDeps {
  jobs: JobsRepository;
  chunks: ChunksRepository;
  frames: FramesRepository;
  /** the callback delivery log (one row per attempt) */
  deliveries: Pick<DeliveriesRepository, 'record'>;
  media: MediaSettings;
  /** where the stored videos are (the media tool reads them by path) */
  storage: Pick<BlobStore, 'path'>;
  detectors: { get(name?: string): Promise<Detector> };
  scheduler: JobScheduler;
  deliver: typeof deliverCallback;
  callbacks: { secret: string; allowlist: readonly string[] | null };
  settings: ChunkAnalysisSettings & { chunkSeconds: number };
  /** USER_MAX_ACTIVE_JOBS (0: no limit), and how often a job over it looks again (ms) */
  jobSlots?: { limit: number; pollMs?: number };
  metrics?: ChunkAnalysisDeps['metrics'];
}

export function createTaskHandlers(deps: TaskHandlerDeps): { [N in TaskName]: TaskHandler<N> } {
  return {
    process: withJobSlot(createProcessTask(deps), { jobs: deps.jobs, limit: 0, ...deps.jobSlots }),
    detect: createDetectTask(deps),
    finalize: createFinalizeTask(deps),
    notify: createNotifyTask(deps),
  };
}
