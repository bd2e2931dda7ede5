import type { ExportFormat } from '../api/schemas.js';
import type { ChunksRepository } from '../db/repositories/chunks.js';
import type { JobRecord } from '../db/repositories/jobs.js';
import type { TracksRepository } from '../db/repositories/tracks.js';
import { NotFoundError } from '../errors.js';
import { cocoExport } from '../exports/coco.js';
import { csvExport } from '../exports/csv.js';
import { cvatVideoExport, nextFrameIn } from '../exports/cvat.js';
import { motExport } from '../exports/mot.js';
import type { ExportTrack, ExportTrackBox, ExportVideo } from '../exports/types.js';
import { yoloExport } from '../exports/yolo.js';
import { displaySize } from '../media/orientation.js';
import {
  type DetectionFilter,
  type DetectionQuery,
  type DetectionsService,
  detectionFilter,
} from './detections.js';
import type { JobsService } from './jobs.js';

/**
 * A job's results as a file for other tools (COCO, MOT, CVAT for video, YOLO, CSV: the writers in
 * src/exports), streamed from the frames and tracks tables page by page with the same filters as
 * the detections (noise left out by default). Nothing is held but a page: a three-hour video
 * exports in flat memory (COCO and YOLO read the frames twice; CVAT reads each track's boxes
 * from its frames).
 */

export interface ExportFile {
  contentType: string;
  filename: string;
  body: AsyncIterable<string | Uint8Array>;
}

export const EXPORT_TYPES: Record<ExportFormat, { contentType: string; extension: string }> = {
  coco: { contentType: 'application/json; charset=utf-8', extension: 'coco.json' },
  mot: { contentType: 'text/plain; charset=utf-8', extension: 'mot.txt' },
  cvat: { contentType: 'application/xml; charset=utf-8', extension: 'cvat.xml' },
  yolo: { contentType: 'application/zip', extension: 'yolo.zip' },
  csv: { contentType: 'text/csv; charset=utf-8', extension: 'csv' },
};

export interface ExportsServiceDeps {
  jobs: Pick<JobsService, 'getOwned'>;
  detections: Pick<DetectionsService, 'all'>;
  tracks: Pick<TracksRepository, 'page'>;
  chunks: Pick<ChunksRepository, 'list'>;
  /** the labels of model `name` (the categories of COCO, YOLO and CVAT), or null */
  modelLabels(name: string): readonly string[] | null;
}

export interface ExportsService {
  /** The owner's job as `format`; NotFoundError for anyone else. */
  open(userId: string, jobId: string, format: ExportFormat, q: DetectionQuery): Promise<ExportFile>;
  /** The same for a job already read (the CLI). */
  write(job: JobRecord, format: ExportFormat, q: DetectionQuery): Promise<ExportFile>;
}

export function createExportsService(deps: ExportsServiceDeps): ExportsService {
  async function write(job: JobRecord, format: ExportFormat, q: DetectionQuery): Promise<ExportFile> {
    const filter = detectionFilter(job, q);
    const chunks = await deps.chunks.list(job.id);
    const size = displaySize(job.probe.video);
    const planned = chunks.reduce((n, c) => Math.max(n, c.startFrame + c.frameCount), 0);
    const video: ExportVideo = {
      name: job.originalName,
      width: size.width,
      height: size.height,
      frameCount: Math.max(planned, job.probe.video.frameCount),
    };
    const labels = deps.modelLabels(job.options.model) ?? [];
    const frames = () => deps.detections.all(job.id, filter);
    const { contentType, extension } = EXPORT_TYPES[format];
    const file = (body: AsyncIterable<string | Uint8Array>): ExportFile => ({
      contentType,
      filename: `${job.id}.${extension}`,
      body,
    });
    switch (format) {
      case 'csv':
        return file(csvExport(frames()));
      case 'mot':
        return file(motExport(frames()));
      case 'coco':
        return file(cocoExport({ video, labels, frames }));
      case 'yolo':
        return file(yoloExport({ video, labels, frames }));
      case 'cvat': {
        const analysed = chunks.flatMap((c) => c.sample.indices);
        return file(
          cvatVideoExport({
            video,
            labels,
            tracks: tracksOf(job.id, filter),
            nextAnalysedFrame: nextFrameIn(analysed),
          }),
        );
      }
    }
  }

  /** The filter's tracks in id order, each with its boxes read from its frames. */
  async function* tracksOf(jobId: string, filter: DetectionFilter): AsyncGenerator<ExportTrack> {
    let afterId: number | undefined;
    for (;;) {
      const page = await deps.tracks.page(jobId, {
        labels: filter.labels,
        trackId: filter.trackId,
        minFrames: filter.noise ? filter.noise.minFrames : undefined,
        afterId,
        limit: 200,
      });
      for (const t of page) {
        // a track with no box left under the filters (time range, score) is left out, not empty
        const boxes = boxesOf(jobId, { ...filter, trackId: t.id });
        const first = await boxes.next();
        if (first.done) continue;
        yield { id: t.id, label: t.label, boxes: prepend(first.value, boxes) };
      }
      if (page.length < 200) return;
      afterId = page[page.length - 1].id;
    }
  }

  async function* boxesOf(jobId: string, filter: DetectionFilter): AsyncGenerator<ExportTrackBox> {
    for await (const f of deps.detections.all(jobId, filter)) {
      for (const d of f.detections) yield { frameIndex: f.frameIndex, score: d.score, box: d.box };
    }
  }

  async function* prepend<T>(head: T, rest: AsyncIterator<T>): AsyncGenerator<T> {
    yield head;
    for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
  }

  return {
    write,
    async open(userId, jobId, format, q) {
      const job = await deps.jobs.getOwned(userId, jobId);
      if (!job) throw new NotFoundError('The job was not found.', 'JOB_NOT_FOUND');
      return write(job, format, q);
    },
  };
}
