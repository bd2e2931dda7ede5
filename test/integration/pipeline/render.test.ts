import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labelColor } from '../../../src/api/label-colors.js';
import { outlineRect, overlayMetrics } from '../../../src/media/render/draw.js';
import { runProgram } from '../../../src/media/run.js';
import { createBullmqQueue, deleteQueueKeys } from '../../../src/queue/bullmq.js';
import { renderFolder } from '../../../src/storage/keys.js';
import { personThenCupVideo } from '../../helpers/content.js';
import { call, registerAndLogin, upload } from '../../helpers/http.js';
import { makerFfmpeg, makerFfprobe } from '../../helpers/maker.js';
import { createTestDatabase, startServer, type TestDatabase, type TestServer } from '../../helpers/server.js';
import { type ApiFrame, allFramesPaged, sleep, waitForJob } from './checks.js';

/**
 * Annotated videos end to end in one standalone process (PGlite, in-process queue and workers),
 * over real HTTP: a real-content video with an audio track, analysed with fps sampling, rendered,
 * fetched by its signed URL with Range, and checked with Debian's ffprobe/ffmpeg (an independent
 * build): H.264 yuv420p, same size, frame count and frame rate, moov before mdat, audio present,
 * and the pixels on a detection's box edge in the label's colour. Then deleted with the job.
 */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const W = 640;
const H = 360;
const FPS = 10;
const SEGMENT = 1;
const N = 2 * SEGMENT * FPS;
let tdb: TestDatabase;
let srv: TestServer;
let base: string;
let work: string;
let video: string;
let alice: { accessToken: string };
let bob: { accessToken: string };

async function ff(program: string, args: string[]) {
  const r = await runProgram(program, args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  return r;
}

async function probe(file: string) {
  const r = await ff(makerFfprobe(), [
    '-v',
    'error',
    '-count_frames',
    '-show_entries',
    'stream=codec_type,codec_name,pix_fmt,width,height,avg_frame_rate,nb_read_frames:stream_side_data=rotation',
    '-of',
    'json',
    file,
  ]);
  return JSON.parse(r.stdout.toString()) as {
    streams: {
      codec_type: string;
      codec_name: string;
      pix_fmt?: string;
      width?: number;
      height?: number;
      avg_frame_rate: string;
      nb_read_frames?: string;
      side_data_list?: unknown[];
    }[];
  };
}

/** The top-level MP4 boxes in file order (type names). */
function topLevelBoxes(buf: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  for (let i = 0; i < 64 && at + 8 <= buf.length; i++) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    if (size === 1) size = Number(buf.readBigUInt64BE(at + 8));
    if (size === 0) size = buf.length - at;
    out.push(type);
    if (size < 8) break;
    at += size;
  }
  return out;
}

/** Frame n of a video as RGB24, decoded by Debian's ffmpeg. */
async function rgbFrame(file: string, n: number): Promise<Buffer> {
  const r = await ff(makerFfmpeg(), [
    '-v',
    'error',
    '-i',
    file,
    '-vf',
    `select=eq(n\\,${n})`,
    '-frames:v',
    '1',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ]);
  assert.equal(r.stdout.length, W * H * 3);
  return r.stdout;
}

const hexRgb = (hex: string) => {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
};

async function waitForRender(jobId: string, renderId: string, token = alice.accessToken) {
  let last: { status: string; progress: number } | undefined;
  for (let i = 0; i < 600; i++) {
    const res = await call(base, 'GET', `/v1/jobs/${jobId}/renders/${renderId}`, { token });
    assert.equal(res.status, 200, res.text);
    last = res.body.render;
    if (res.body.render.status === 'completed' || res.body.render.status === 'failed') return res.body.render;
    await sleep(200);
  }
  throw new Error(`the render did not finish: ${JSON.stringify(last)}`);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'wd-render-'));
  const silent = await personThenCupVideo({
    width: W,
    height: H,
    fps: FPS,
    segmentSeconds: SEGMENT,
    gop: FPS,
  });
  video = join(work, 'with-audio.mp4');
  await ff(makerFfmpeg(), [
    '-y',
    '-v',
    'error',
    '-i',
    silent,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${2 * SEGMENT}`,
    '-c:v',
    'copy',
    '-c:a',
    'aac',
    '-shortest',
    video,
  ]);
  tdb = await createTestDatabase('pglite');
  srv = await startServer(tdb, { TASK_BACKOFF_MS: '100' }, { workers: true });
  base = srv.url;
  alice = await registerAndLogin(base);
  bob = await registerAndLogin(base);
});

after(async () => {
  await srv?.close();
  await tdb?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('annotated video (renders)', () => {
  let jobId: string;
  let frames: ApiFrame[];
  let renderId: string;
  let url: string;
  let mp4: Buffer;

  test('POST /v1/jobs/:id/renders: 409 before completion, 404 for another user, 400 for an unknown label', async () => {
    const up = await upload(base, alice.accessToken, video, { fps: '5' });
    assert.equal(up.status, 202, up.text);
    jobId = up.body.job.id;
    // the job is not completed yet right after the upload (or it is, on a fast machine: then 202)
    const early = await call(base, 'POST', `/v1/jobs/${jobId}/renders`, {
      token: alice.accessToken,
      json: {},
    });
    if (early.status !== 202) {
      assert.equal(early.status, 409, early.text);
      assert.equal(early.body.error.code, 'JOB_NOT_COMPLETED');
    }
    const job = await waitForJob(base, alice.accessToken, jobId);
    assert.equal(job.status, 'completed');
    frames = (await allFramesPaged(base, alice.accessToken, jobId, '', 100)).frames;
    assert.equal(frames.length, N / 2, 'fps=5 of 10: every other frame analysed');

    const other = await call(base, 'POST', `/v1/jobs/${jobId}/renders`, { token: bob.accessToken, json: {} });
    assert.equal(other.status, 404);
    assert.equal(other.body.error.code, 'JOB_NOT_FOUND');
    const bad = await call(base, 'POST', `/v1/jobs/${jobId}/renders`, {
      token: alice.accessToken,
      json: { labels: ['persn'] },
    });
    assert.equal(bad.status, 400, bad.text);
    assert.match(
      bad.body.error.message,
      /"persn" is not a label of model centernet \(did you mean "person"\?\)/,
    );
    const extra = await call(base, 'POST', `/v1/jobs/${jobId}/renders`, {
      token: alice.accessToken,
      json: { colour: 'red' },
    });
    assert.equal(extra.status, 400);
  });

  test('the render completes with progress 100 and a signed URL; another user gets 404', async () => {
    const res = await call(base, 'POST', `/v1/jobs/${jobId}/renders`, {
      token: alice.accessToken,
      json: { labels: ['person', 'cup'], minScore: 0.3 },
    });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(Object.keys(res.body.render).sort(), ['id', 'status']);
    assert.equal(res.body.render.status, 'queued');
    renderId = res.body.render.id;
    const render = await waitForRender(jobId, renderId);
    assert.equal(render.status, 'completed', render.error);
    assert.equal(render.progress, 100);
    assert.deepEqual(render.options, { labels: ['person', 'cup'], minScore: 0.3, tracks: null });
    assert.match(
      render.url,
      new RegExp(`^/v1/media/${jobId}/renders/${renderId}\\?exp=\\d+&sig=[\\w-]{43}$`),
    );
    url = base + render.url;
    const notYours = await call(base, 'GET', `/v1/jobs/${jobId}/renders/${renderId}`, {
      token: bob.accessToken,
    });
    assert.equal(notYours.status, 404);
    const unknown = await call(
      base,
      'GET',
      `/v1/jobs/${jobId}/renders/00000000-0000-4000-8000-000000000000`,
      {
        token: alice.accessToken,
      },
    );
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'RENDER_NOT_FOUND');
  });

  test('the signed URL serves the MP4 with Range; a forged one is 403', async () => {
    const whole = await fetch(url);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'video/mp4');
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    mp4 = Buffer.from(await whole.arrayBuffer());
    assert.equal(whole.headers.get('content-length'), String(mp4.length));
    const part = await fetch(url, { headers: { range: 'bytes=100-1099' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-1099/${mp4.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(mp4.subarray(100, 1100)));
    const past = await fetch(url, { headers: { range: `bytes=${mp4.length}-` } });
    assert.equal(past.status, 416);
    await past.arrayBuffer();
    const forged = new URL(url);
    forged.pathname = `/v1/media/${jobId}/renders/00000000-0000-4000-8000-000000000000`;
    const f = await fetch(forged);
    assert.equal(f.status, 403);
    await f.arrayBuffer();
  });

  test('ffprobe: h264 yuv420p, same size, frame count and rate, moov first, audio kept', async () => {
    const file = join(work, 'render.mp4');
    writeFileSync(file, mp4);
    const src = await probe(video);
    const out = await probe(file);
    const sv = src.streams.find((s) => s.codec_type === 'video');
    const ov = out.streams.find((s) => s.codec_type === 'video');
    assert.ok(sv && ov);
    assert.equal(ov.codec_name, 'h264');
    assert.equal(ov.pix_fmt, 'yuv420p');
    assert.equal(ov.width, W);
    assert.equal(ov.height, H);
    assert.equal(Number(ov.nb_read_frames), N);
    assert.equal(Number(sv.nb_read_frames), N);
    assert.equal(ov.avg_frame_rate, sv.avg_frame_rate);
    assert.ok(
      out.streams.some((s) => s.codec_type === 'audio'),
      'the audio track is kept',
    );
    const boxes = topLevelBoxes(mp4);
    assert.ok(boxes.includes('moov') && boxes.includes('mdat'), boxes.join(','));
    assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), `moov before mdat: ${boxes.join(',')}`);
  });

  test("the pixels on a detection's box edge have its label's colour, on analysed and in-between frames", async () => {
    const file = join(work, 'render.mp4');
    const { thickness } = overlayMetrics(W, H);
    // the biggest person box (the astronaut fills the first segment)
    const withPerson = frames
      .flatMap((f) => f.detections.map((d) => ({ f, d })))
      .filter(({ d }) => d.label === 'person' && d.score >= 0.3)
      .sort((a, b) => b.d.score - a.d.score)[0];
    assert.ok(withPerson, 'a person was found');
    const { f, d } = withPerson;
    const rect = outlineRect(d.box, W, H);
    assert.ok(rect);
    const want = hexRgb(labelColor('person'));
    // the analysed frame itself, and the next source frame (not analysed: it shows the nearest)
    for (const n of [f.frameIndex, f.frameIndex + 1].filter((k) => k < N)) {
      const rgb = await rgbFrame(file, n);
      const px = (x: number, y: number) => [...rgb.subarray((y * W + x) * 3, (y * W + x) * 3 + 3)];
      const y = Math.round((rect.y0 + rect.y1) / 2);
      // the middle of the left edge's line, averaged over a few rows (compression blurs a 2 px line)
      const samples = [-4, -2, 0, 2, 4].map((dy) => px(rect.x0 + Math.floor(thickness / 2), y + dy));
      const mean = [0, 1, 2].map((c) => samples.reduce((s, p) => s + p[c], 0) / samples.length);
      const dist = Math.max(...mean.map((v, c) => Math.abs(v - want[c])));
      assert.ok(
        dist < 48,
        `frame ${n}: edge ${mean.map(Math.round)} vs ${want} (off by ${Math.round(dist)})`,
      );
    }
  });

  test('the render task under BullMQ (Redis), on another runtime sharing the database: the same MP4', async () => {
    const prefix = `wdtest-render-${process.pid}`;
    const queue = createBullmqQueue({ url: REDIS_URL, prefix, lockDuration: 5000, stalledInterval: 2000 });
    const srv2 = await startServer(tdb, { TASK_BACKOFF_MS: '100' }, { workers: true, queue });
    try {
      const res = await call(srv2.url, 'POST', `/v1/jobs/${jobId}/renders`, {
        token: alice.accessToken,
        json: { labels: ['person', 'cup'], minScore: 0.3 },
      });
      assert.equal(res.status, 202, res.text);
      // only srv2's BullMQ queue knows this task: completing it means a BullMQ worker ran it
      let render: { status: string; url?: string; error?: string } | undefined;
      for (let i = 0; i < 600; i++) {
        const r = await call(srv2.url, 'GET', `/v1/jobs/${jobId}/renders/${res.body.render.id}`, {
          token: alice.accessToken,
        });
        render = r.body.render;
        if (render?.status === 'completed' || render?.status === 'failed') break;
        await sleep(200);
      }
      assert.equal(render?.status, 'completed', render?.error);
      const again = Buffer.from(await (await fetch(srv2.url + render?.url)).arrayBuffer());
      const file = join(work, 'render-bullmq.mp4');
      writeFileSync(file, again);
      const v = (await probe(file)).streams.find((x) => x.codec_type === 'video');
      assert.equal(Number(v?.nb_read_frames), N);
      assert.equal(v?.width, W);
    } finally {
      await srv2.close();
      await deleteQueueKeys(REDIS_URL, prefix);
    }
  });

  test('a render that cannot be made fails with a sentence; the job stays completed', async () => {
    rmSync(srv.storage.path(`videos/${jobId}`)); // the source is gone
    const res = await call(base, 'POST', `/v1/jobs/${jobId}/renders`, { token: alice.accessToken, json: {} });
    assert.equal(res.status, 202, res.text);
    const render = await waitForRender(jobId, res.body.render.id);
    assert.equal(render.status, 'failed');
    assert.match(render.error, /^The annotated video could not be made: .+\.$/);
    assert.ok(!render.error.includes(srv.storage.root), render.error);
    assert.equal(render.url, undefined);
    const job = await call(base, 'GET', `/v1/jobs/${jobId}`, { token: alice.accessToken });
    assert.equal(job.body.job.status, 'completed');
  });

  test('deleting the job deletes the render: its row and its file', async () => {
    const key = `${renderFolder(jobId)}/${renderId}.mp4`;
    assert.ok(existsSync(srv.storage.path(key)));
    const del = await call(base, 'DELETE', `/v1/jobs/${jobId}`, { token: alice.accessToken });
    assert.equal(del.status, 204, del.text);
    assert.equal(existsSync(srv.storage.path(key)), false);
    assert.equal(existsSync(srv.storage.path(renderFolder(jobId))), false);
    assert.equal(await srv.repos.renders.get(renderId), null);
    const gone = await fetch(url);
    assert.equal(gone.status, 404);
    await gone.arrayBuffer();
  });

  test('CLI: web-detector detect <video> --render out.mp4 writes the same kind of annotated video', async () => {
    const out = join(work, 'cli', 'annotated.mp4');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'detect', video, '--fps', '5', '--render', out],
      {
        cwd: fileURLToPath(new URL('../../../', import.meta.url)),
        env: { ...process.env, LOG_LEVEL: 'silent', DATABASE_URL: '', REDIS_URL: '' },
        encoding: 'utf8',
        timeout: 300_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).frames.length, N / 2);
    assert.match(r.stderr, /annotated video written to /);
    const s = await probe(out);
    const v = s.streams.find((x) => x.codec_type === 'video');
    assert.equal(v?.codec_name, 'h264');
    assert.equal(Number(v?.nb_read_frames), N);
    assert.ok(s.streams.some((x) => x.codec_type === 'audio'));
  });
});
