import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_MIN_SCORE, EXPORT_FORMATS, type ExportFormat } from '../api/schemas.js';
import { type Config, loadConfig } from '../config.js';
import { isAppError } from '../errors.js';
import { createLogger } from '../logger.js';
import { InvalidImageError, isStillImage } from '../media/image.js';
import { createDetectionEngine, createRuntime, type Runtime } from '../runtime.js';
import { detectionFilter } from '../services/detections.js';
import type { UploadPart } from '../services/jobs.js';
import { parseFlags, UsageError } from './args.js';
import { createProgressBar } from './progress.js';

/**
 * `web-detector detect <file>`: detections without a server. An image is run through the
 * detector directly; a video goes through the same pipeline as the service (probe, chunks,
 * detect, track, finalize) on a throwaway embedded database, with a progress bar on stderr. The
 * result is JSON on stdout (video, summary, tracks, frames), or NDJSON (a frame a line), or one of
 * the export formats (mot, coco, cvat, yolo, csv: the same writers as GET /v1/jobs/:id/export);
 * `--out file` writes it to a file instead. Noise (short tracks, detections in no track) is left
 * out as in the API unless --include-noise.
 * With `--render out.mp4` the same render task as POST /v1/jobs/:id/renders then writes the
 * annotated video there.
 */

const VIDEO_FORMATS = ['json', 'ndjson', ...EXPORT_FORMATS] as const;
type VideoFormat = (typeof VIDEO_FORMATS)[number];

const FLAGS = {
  'min-score': 'string',
  labels: 'string',
  model: 'string',
  fps: 'string',
  format: 'string',
  out: 'string',
  'min-track-frames': 'string',
  'include-noise': 'boolean',
  render: 'string',
} as const;

export async function detectCommand(argv: string[]): Promise<void> {
  const { flags, positional } = parseFlags(argv, FLAGS);
  if (positional.length !== 1)
    throw new UsageError('Give exactly one image or video file: web-detector detect <file>.');
  const file = positional[0];
  const format = ((flags.format as string | undefined) ?? 'json') as VideoFormat;
  if (!VIDEO_FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${VIDEO_FORMATS.join(', ')}.`);
  if (flags.render === true || flags.render === '')
    throw new UsageError('--render needs the path of the MP4 to write: --render out.mp4.');
  // a throwaway data folder: the embedded database of a video run, never the user's ./data
  const dataDir = mkdtempSync(join(tmpdir(), 'web-detector-cli-'));
  try {
    const config = loadConfig({
      ...process.env,
      DATA_DIR: dataDir,
      DATABASE_URL: '',
      REDIS_URL: '',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      MAX_UPLOAD_BYTES: String(Number.MAX_SAFE_INTEGER),
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
    });
    if (await detectImage(config, file, flags)) {
      if (typeof flags.render === 'string') throw new UsageError('--render is for videos, not images.');
      return;
    }
    await detectVideo(config, file, flags, format);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Prints the detections of `file` if it is a still image; false when it is not one. */
async function detectImage(
  config: Config,
  file: string,
  flags: Record<string, string | boolean>,
): Promise<boolean> {
  const engine = await createDetectionEngine(config);
  let still: boolean;
  try {
    still = await isStillImage(engine.media.ffprobe, file);
  } catch (e) {
    await engine.models.close();
    if (e instanceof InvalidImageError) throw new UsageError(e.message);
    throw e;
  }
  if (still) {
    try {
      const minScore = flags['min-score'] === undefined ? DEFAULT_MIN_SCORE : Number(flags['min-score']);
      if (!(minScore >= 0 && minScore <= 1))
        throw new UsageError('--min-score must be a number from 0 to 1.');
      const result = await engine.imageDetection.detect(file, {
        minScore,
        labels: typeof flags.labels === 'string' ? flags.labels.split(',').map((s) => s.trim()) : undefined,
        model: flags.model as string | undefined,
      });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } catch (e) {
      if (isAppError(e)) throw new UsageError(e.message);
      throw e;
    } finally {
      await engine.models.close();
    }
    return true;
  }
  await engine.models.close();
  return false;
}

async function detectVideo(
  config: Config,
  file: string,
  flags: Record<string, string | boolean>,
  format: VideoFormat,
): Promise<void> {
  const rt = await createRuntime(config, { log: createLogger(config), workers: true });
  const bar = createProgressBar();
  try {
    const user = await rt.repos.users.create({ id: randomUUID(), username: 'cli', passwordHash: 'x' });
    const fields: [string, string | boolean | undefined][] = [
      ['fps', flags.fps],
      ['minScore', flags['min-score']],
      ['labels', flags.labels],
      ['model', flags.model],
      ['minTrackFrames', flags['min-track-frames']],
    ];
    async function* parts(): AsyncGenerator<UploadPart> {
      for (const [fieldname, value] of fields)
        if (typeof value === 'string') yield { type: 'field', fieldname, value };
      yield { type: 'file', fieldname: 'video', filename: basename(file), file: createReadStream(file) };
    }
    let { job } = await rt.services.jobs.create(user.id, parts()).catch((e: Error) => {
      throw new UsageError(e.message);
    });
    while (job.status === 'queued' || job.status === 'processing') {
      bar.update(job.progress.framesDone, job.progress.framesTotal, job.status);
      await new Promise((r) => setTimeout(r, 250));
      job = await rt.services.jobs.get(user.id, job.id);
    }
    bar.update(job.progress.framesDone, job.progress.framesTotal, job.status);
    bar.end();
    if (job.status !== 'completed')
      throw new UsageError(`The analysis ${job.status}: ${job.error ?? 'no reason given'}`);
    const record = await rt.repos.jobs.getById(job.id);
    if (!record) throw new UsageError('The analysis was lost.');
    const query = { includeNoise: flags['include-noise'] === true };
    const out: Writable = typeof flags.out === 'string' ? createWriteStream(flags.out) : process.stdout;
    let body: AsyncIterable<string | Uint8Array>;
    if (format === 'json' || format === 'ndjson') {
      const frames = rt.services.detections.all(record.id, detectionFilter(record, query));
      if (format === 'ndjson') body = ndjson(frames);
      else {
        const minFrames = query.includeNoise ? 1 : (record.options.minTrackFrames ?? 1);
        body = jsonDocument(job, await allTracks(rt.repos.tracks, record.id, minFrames), frames);
      }
    } else {
      body = (await rt.services.exports.write(record, format as ExportFormat, query)).body;
    }
    // stdout is not ended (the process may still print); a file is
    await pipeline(Readable.from(body), out, { end: out !== process.stdout });
    if (typeof flags.render === 'string') await renderTo(rt, user.id, job.id, resolve(flags.render));
  } finally {
    await rt.close();
  }
}

/** Runs the render task on the finished job (in this process's workers) and copies the MP4 to `out`. */
async function renderTo(rt: Runtime, userId: string, jobId: string, out: string): Promise<void> {
  const bar = createProgressBar();
  const { id } = await rt.services.renders.create(userId, jobId, {});
  let render = await rt.services.renders.get(userId, jobId, id);
  while (render.status === 'queued' || render.status === 'running') {
    bar.update(Math.round(render.progress), 100, `rendering ${render.status}`);
    await new Promise((r) => setTimeout(r, 250));
    render = await rt.services.renders.get(userId, jobId, id);
  }
  bar.update(Math.round(render.progress), 100, `rendering ${render.status}`);
  bar.end();
  const key = (await rt.repos.renders.get(id))?.storageKey;
  if (render.status !== 'completed' || !key) throw new UsageError(render.error ?? 'The render failed.');
  await mkdir(dirname(out), { recursive: true });
  await copyFile(rt.storage.path(key), out);
  process.stderr.write(`annotated video written to ${out}\n`);
}

async function allTracks(
  tracks: {
    page(jobId: string, q: { minFrames: number; afterId?: number; limit: number }): Promise<{ id: number }[]>;
  },
  jobId: string,
  minFrames: number,
) {
  const all: { id: number }[] = [];
  for (let afterId: number | undefined; ; ) {
    const page = await tracks.page(jobId, { minFrames, afterId, limit: 1000 });
    all.push(...page);
    if (page.length < 1000) return all;
    afterId = page[page.length - 1].id;
  }
}

async function* ndjson(frames: AsyncIterable<unknown>): AsyncGenerator<string> {
  for await (const f of frames) yield `${JSON.stringify(f)}\n`;
}

async function* jsonDocument(
  job: { video: unknown; summary: unknown },
  tracks: unknown[],
  frames: AsyncIterable<unknown>,
): AsyncGenerator<string> {
  yield `{"video":${JSON.stringify(job.video)},"summary":${JSON.stringify(job.summary)},"tracks":${JSON.stringify(tracks)},"frames":[`;
  let first = true;
  for await (const f of frames) {
    yield `${first ? '' : ','}\n${JSON.stringify(f)}`;
    first = false;
  }
  yield '\n]}\n';
}
