import type { FramesRepository } from '../../db/repositories/frames.js';
import type { JobsRepository } from '../../db/repositories/jobs.js';
import type { RendersRepository } from '../../db/repositories/renders.js';
import { pinnedName } from '../../media/av/protocol.js';
import {
  type OverlayFrame,
  type RenderResult,
  type RenderVideoOptions,
  selectBoxes,
} from '../../media/render.js';
import type { TaskContext } from '../../queue/port.js';
import { renderKey } from '../../storage/keys.js';
import type { BlobStore } from '../../storage/local.js';
import { PermanentTaskError } from '../failures.js';

/**
 * The `render` task: draws a completed job's boxes into an annotated MP4 (src/media/render.ts),
 * on any worker. Only ids come through the queue; the frames are read from the database page by
 * page as the encoder goes. The file is written under tmp/ and moved to renders/<jobId>/ when
 * whole, then the row is completed; a render whose job was deleted meanwhile leaves no file.
 * A retried task starts over (the partial file was removed by the failed attempt).
 */
export interface RenderTaskDeps {
  jobs: Pick<JobsRepository, 'getById'>;
  renders: Pick<RendersRepository, 'get' | 'start' | 'setProgress' | 'complete'>;
  frames: Pick<FramesRepository, 'list'>;
  storage: Pick<BlobStore, 'path' | 'commit' | 'remove'>;
  renderVideo(opts: RenderVideoOptions): Promise<RenderResult>;
  settings?: {
    /** RENDER_TIMEOUT_SECONDS, in ms (default 4 h) */
    timeoutMs?: number;
    /** the render child's memory bound (MEDIA_MAX_RSS_MB) */
    maxRssMb?: number;
    /** MAX_VIDEO_PIXELS, for the render's decoder */
    maxPixels?: number;
    /** analysed frames read per query (default 500) */
    pageSize?: number;
    /** how often progress is written (ms, default 1000) */
    progressEveryMs?: number;
  };
}

export function createRenderTask(deps: RenderTaskDeps) {
  const pageSize = deps.settings?.pageSize ?? 500;
  const progressEveryMs = deps.settings?.progressEveryMs ?? 1000;
  return async function renderJob(
    { jobId, renderId }: { jobId: string; renderId: string },
    ctx: TaskContext,
  ): Promise<void> {
    const render = await deps.renders.get(renderId);
    if (!render || render.jobId !== jobId || render.status === 'completed' || render.status === 'failed')
      return;
    const job = await deps.jobs.getById(jobId);
    if (!job) return; // deleted: the render's row went with it
    if (job.status !== 'completed') throw new PermanentTaskError('The job is no longer completed.');
    if (!(await deps.renders.start(renderId))) return;

    const { options } = render;
    async function* pages(): AsyncGenerator<OverlayFrame[]> {
      let after: number | undefined;
      for (;;) {
        const page = await deps.frames.list(jobId, { afterFrame: after, limit: pageSize });
        if (page.length === 0) return;
        yield page.map((f) => ({ frameIndex: f.frameIndex, boxes: selectBoxes(f.detections, options) }));
        after = page[page.length - 1].frameIndex;
      }
    }
    const total = Math.max(1, job.probe.video.frameCount);
    let lastWrite = performance.now();
    let writing: Promise<void> = Promise.resolve();
    const onProgress = (frames: number) => {
      const now = performance.now();
      if (now - lastWrite < progressEveryMs) return;
      lastWrite = now;
      const percent = Math.min(99, Math.round((frames / total) * 1000) / 10);
      writing = writing.then(() => deps.renders.setProgress(renderId, percent)).catch(() => undefined);
    };

    const tempKey = `tmp/render-${renderId}.mp4`;
    try {
      await deps.renderVideo({
        input: deps.storage.path(job.videoKey),
        output: deps.storage.path(tempKey),
        rotation: job.probe.video.rotation,
        format: job.probe.pinnedFormat ?? pinnedName(job.probe.formatName),
        frames: pages(),
        onProgress,
        signal: ctx.signal,
        timeoutMs: deps.settings?.timeoutMs,
        maxRssMb: deps.settings?.maxRssMb,
        maxPixels: deps.settings?.maxPixels,
        fps: job.probe.video.fps,
      });
      await writing;
      const key = renderKey(jobId, renderId);
      await deps.storage.commit(tempKey, key);
      // the job (and so this row) may have been deleted meanwhile: then no file is kept either
      if (!(await deps.renders.complete(renderId, key))) await deps.storage.remove(key);
    } finally {
      await deps.storage.remove(tempKey).catch(() => undefined);
    }
  };
}
