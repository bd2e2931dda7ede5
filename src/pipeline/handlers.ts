import type { ChunksRepository } from '../db/repositories/chunks.js';
import type { DeliveriesRepository } from '../db/repositories/deliveries.js';
import type { FramesRepository } from '../db/repositories/frames.js';
import type { TransactionRepositories } from '../db/repositories/index.js';
import type { JobsRepository } from '../db/repositories/jobs.js';
import type { RendersRepository } from '../db/repositories/renders.js';
import type { TrackerStatesRepository } from '../db/repositories/tracker-states.js';
import type { TracksRepository } from '../db/repositories/tracks.js';
import type { Detector } from '../inference/types.js';
import type { MediaBinaries } from '../media/binaries.js';
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
import type { RenderTaskDeps } from './tasks/render.js';
import { createRenderTask } from './tasks/render.js';
import { createTrackTask } from './tasks/track.js';

/**
 * The typed map from task name to handler: every task the queue carries has exactly one handler
 * (the compiler checks the map is complete, the queue checks names at start-up). The handlers are
 * the same functions under the in-process queue and under BullMQ.
 *
 * A job's story: `process` plans chunks → one `detect` per chunk (in parallel) → `track` runs
 * the tracker over the detected chunks in order → `finalize` completes the job once → `notify`
 * delivers its callback. What each step queues next is in next.ts.
 * Apart from a job's story, `render` makes an annotated video of a completed job (on demand, any
 * worker).
 */
export interface TaskHandlerDeps {
  jobs: JobsRepository;
  chunks: ChunksRepository;
  frames: FramesRepository;
  tracks: Pick<TracksRepository, 'countObjects'>;
  trackerStates: Pick<TrackerStatesRepository, 'init' | 'load'>;
  /** one transaction over frames, tracks and tracker states (the track step's writes) */
  transaction<T>(fn: (repos: TransactionRepositories) => Promise<T>): Promise<T>;
  /** the callback delivery log (one row per attempt) */
  deliveries: Pick<DeliveriesRepository, 'record'>;
  media: MediaBinaries;
  /** where the stored videos are (ffmpeg reads them by path); renders are written there too */
  storage: Pick<BlobStore, 'path' | 'commit' | 'remove'>;
  renders: Pick<RendersRepository, 'get' | 'start' | 'setProgress' | 'complete'>;
  renderVideo: RenderTaskDeps['renderVideo'];
  renderSettings?: RenderTaskDeps['settings'];
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
    track: createTrackTask(deps),
    finalize: createFinalizeTask(deps),
    notify: createNotifyTask(deps),
    render: createRenderTask({ ...deps, settings: deps.renderSettings }),
  };
}
