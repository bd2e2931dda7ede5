import { randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DEFAULT_MIN_SCORE } from '../api/schemas.js';
import { type Config, loadConfig } from '../config.js';
import { isAppError } from '../errors.js';
import { createLogger } from '../logger.js';
import { InvalidImageError, isStillImage } from '../media/image.js';
import { createDetectionEngine, createRuntime } from '../runtime.js';
import type { UploadPart } from '../services/jobs.js';
import { parseFlags, UsageError } from './args.js';
import { createProgressBar } from './progress.js';

/**
 * `web-detector detect <file>`: detections without a server. An image is run through the
 * detector directly; a video goes through the same pipeline as the service (probe, chunks,
 * detect, finalize) on a throwaway embedded database, with a progress bar on stderr. The result
 * is JSON on stdout (or NDJSON, a frame a line, with --format ndjson).
 */

const FLAGS = {
  'min-score': 'string',
  labels: 'string',
  model: 'string',
  fps: 'string',
  format: 'string',
} as const;

export async function detectCommand(argv: string[]): Promise<void> {
  const { flags, positional } = parseFlags(argv, FLAGS);
  if (positional.length !== 1)
    throw new UsageError('Give exactly one image or video file: web-detector detect <file>.');
  const file = positional[0];
  const format = (flags.format as string | undefined) ?? 'json';
  if (format !== 'json' && format !== 'ndjson') throw new UsageError('--format must be json or ndjson.');
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
    if (await detectImage(config, file, flags)) return;
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
    still = await isStillImage(file);
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
  format: string,
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
    const frames = rt.repos.frames.list.bind(rt.repos.frames);
    const out = process.stdout;
    if (format === 'ndjson') {
      for await (const f of allFrames(frames, job.id)) out.write(`${JSON.stringify(f)}\n`);
    } else {
      out.write(`{"video":${JSON.stringify(job.video)},"summary":${JSON.stringify(job.summary)},"frames":[`);
      let first = true;
      for await (const f of allFrames(frames, job.id)) {
        out.write(`${first ? '' : ','}\n${JSON.stringify(f)}`);
        first = false;
      }
      out.write('\n]}\n');
    }
  } finally {
    await rt.close();
  }
}

async function* allFrames(
  list: (jobId: string, q: { afterFrame?: number; limit: number }) => Promise<{ frameIndex: number }[]>,
  jobId: string,
) {
  let after: number | undefined;
  for (;;) {
    const page = await list(jobId, { afterFrame: after, limit: 1000 });
    if (page.length === 0) return;
    yield* page;
    after = page[page.length - 1].frameIndex;
  }
}
