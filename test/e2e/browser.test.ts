// The web UI in a real browser against the real server: register, sign in, upload a short video,
// wait for the analysis, open it, check the boxes drawn over the video and the timeline seek, and
// that a wrong file shows the server's sentence. Artifact: test-results/ui.png.
//
// Needs Debian's chromium (/usr/bin/chromium, or CHROMIUM_PATH). Starts `node bin/web-detector.js
// serve` with a temporary DATA_DIR and PORT; E2E_BASE_URL=http://host:port runs it against a
// server that is already running instead.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { resolveMediaBinaries } from '../../src/media/binaries.js';
import { fixture as fixturePhoto } from '../fixtures/index.js';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const fixture = fixturePhoto('astronaut.png');

interface Frame {
  frameIndex: number;
  timestamp: number;
  detections: { label: string; score: number; box: { x1: number; y1: number; x2: number; y2: number } }[];
}
interface JobJson {
  id: string;
  status: string;
  options: { minScore: number };
  video: { probe: { video: { width: number; height: number } } };
  summary: { labels: { label: string; segments: { start: number; end: number }[] }[] } | null;
}

// The few browser globals the page.evaluate callbacks use (they run in the page, not here; the
// project's type check has no DOM lib, and these stay local to this module).
interface VideoEl {
  readyState: number;
  videoWidth: number;
  currentTime: number;
  seeking: boolean;
  pause(): void;
  getBoundingClientRect(): { width: number; height: number };
}
interface CanvasEl {
  width: number;
  height: number;
  dataset: Record<string, string | undefined>;
  style: { visibility: string };
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
  getBoundingClientRect(): { width: number; height: number };
}
declare const document: {
  querySelector(selector: string): unknown;
  getElementById(id: string): { textContent: string | null } | null;
};
declare const sessionStorage: { getItem(key: string): string | null };
declare const localStorage: { getItem(key: string): string | null };

let tmp = '';
let server: ChildProcess | undefined;
let serverLog = '';
let baseUrl = process.env.E2E_BASE_URL ?? '';
let browser: Browser | undefined;
let skipReason = '';

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

async function waitHealthy(url: string, ms: number, proc?: ChildProcess): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc && proc.exitCode !== null) return false;
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return true;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'e2e-browser-'));
  if (!baseUrl) {
    // bin/web-detector.js runs dist/main.js, or src/main.ts through tsx when there is no build
    if (!existsSync(join(root, 'dist/main.js')) && !existsSync(join(root, 'src/main.ts'))) {
      skipReason = 'neither dist/main.js nor src/main.ts exists: there is no server to start yet.';
      return;
    }
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [join(root, 'bin/web-detector.js'), 'serve'], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATA_DIR: join(tmp, 'data'),
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        // several chunks, so progress moves in steps the page can be seen showing
        CHUNK_SECONDS: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => {
      serverLog = (serverLog + b.toString()).slice(-4000);
    };
    server.stdout?.on('data', keep);
    server.stderr?.on('data', keep);
    if (!(await waitHealthy(baseUrl, 60_000, server))) {
      skipReason = `the server did not start (node bin/web-detector.js serve): ${serverLog.trim().slice(-1500) || 'no output'}`;
      return;
    }
  } else if (!(await waitHealthy(baseUrl, 5000))) {
    skipReason = `E2E_BASE_URL=${baseUrl} does not answer /healthz`;
    return;
  }
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        server?.kill('SIGKILL');
        r();
      }, 10_000);
      server?.once('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/**
 * 12 s, 640x360, 10 fps, H.264: the astronaut portrait, centre-cropped to 16:9. (Letterboxed, the
 * default model, which stretches frames to 512x512, scores the person under 0.25.) Long enough
 * (120 frames, 6 chunks) for the page to show the analysis part-way.
 */
function makeVideo(out: string): void {
  const { ffmpeg } = resolveMediaBinaries();
  execFileSync(
    ffmpeg,
    [
      ...['-hide_banner', '-loglevel', 'error', '-y', '-loop', '1', '-i', fixture],
      ...['-vf', 'scale=640:-2,crop=640:360,fps=10,format=yuv420p'],
      ...['-t', '12', '-c:v', 'libx264', '-preset', 'veryfast', '-movflags', '+faststart', out],
    ],
    { stdio: 'pipe', timeout: 30_000 },
  );
}

async function token(page: Page): Promise<string> {
  return page.evaluate(() => {
    const raw = sessionStorage.getItem('web-detector.tokens') ?? localStorage.getItem('web-detector.tokens');
    return raw ? (JSON.parse(raw) as { accessToken: string }).accessToken : '';
  });
}

test('web UI: sign up, upload, watch, play with boxes, seek by timeline, wrong file', {
  timeout: 120_000,
}, async (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  const video = join(tmp, 'astronaut.mp4');
  makeVideo(video);
  const notVideo = join(tmp, 'notes.mp4');
  await writeFile(notVideo, 'This is a text file, not a video.\n'.repeat(20));

  const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  // the server's Content-Security-Policy must not block anything the UI does
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.setDefaultTimeout(15_000);

  const home = await page.goto(baseUrl);
  assert.equal(
    home?.status(),
    200,
    'the server serves the web UI at / (register src/http/routes/web.ts and build it with scripts/build-web.mjs)',
  );
  const username = `e2e_${Date.now().toString(36)}`;
  const password = 'correct horse battery';

  // register (the UI signs in right after)
  const reg = page.locator('form[aria-labelledby="register-title"]');
  await reg.getByLabel('Username').fill(username);
  await reg.getByLabel('Password').fill(password);
  await reg.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'New analysis' }).waitFor();

  // sign out and sign in again
  await page.getByRole('button', { name: 'Sign out' }).click();
  const login = page.locator('form[aria-labelledby="login-title"]');
  await login.getByLabel('Username').fill(username);
  await login.getByLabel('Password').fill(password);
  await login.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'New analysis' }).waitFor();
  const bearer = await token(page);
  assert.ok(bearer, 'the access token is stored');

  // upload the video
  await page.getByLabel('Video file').setInputFiles(video);
  await page.getByRole('button', { name: 'Upload and analyse' }).click();
  const row = page.locator('tr[data-job-id]').first();
  await row.waitFor();
  const jobId = (await row.getAttribute('data-job-id'))!;

  // live progress from the event stream: the list shows the job part-way, strictly between 0 and 100
  const partWay = await page.waitForFunction(
    (id) => {
      const bar = document.querySelector(`tr[data-job-id="${id}"] progress`) as HTMLProgressElement | null;
      const cell = document.querySelector(
        `tr[data-job-id="${id}"] .progress-cell span`,
      ) as HTMLElement | null;
      const text = cell?.textContent ?? '';
      return bar && bar.value > 0 && bar.value < 100 ? { value: bar.value, text } : null;
    },
    jobId,
    { timeout: 60_000, polling: 50 },
  );
  const seen = (await partWay.jsonValue()) as { value: number; text: string };
  assert.ok(seen.value > 0 && seen.value < 100, `progress part-way: ${seen.value}`);
  assert.match(seen.text, /^\s*\d+%$/);
  assert.ok(Math.abs(Number(seen.text.trim().replace('%', '')) - seen.value) <= 0.5, seen.text);

  // a wrong file: the server's own sentence is shown
  const form = new FormData();
  form.append('video', new Blob([await readFile(notVideo)], { type: 'video/mp4' }), 'notes.mp4');
  const direct = await fetch(`${baseUrl}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}` },
    body: form,
  });
  assert.ok(direct.status >= 400 && direct.status < 500, `a text file is refused (got ${direct.status})`);
  const expected = ((await direct.json()) as { error: { message: string } }).error.message;
  await page.getByLabel('Video file').setInputFiles(notVideo);
  await page.getByRole('button', { name: 'Upload and analyse' }).click();
  const alert = page.locator('#upload-error');
  await page.waitForFunction(() => (document.getElementById('upload-error')?.textContent ?? '') !== '');
  assert.equal(await alert.textContent(), expected);
  assert.equal(await alert.getAttribute('role'), 'alert');

  // live status until completed (EventSource)
  await page.locator(`tr[data-job-id="${jobId}"][data-status="completed"]`).waitFor({ timeout: 90_000 });

  // open the job
  await page.locator(`tr[data-job-id="${jobId}"] a.job-link`).click();
  await page.locator('video.player').waitFor();
  await page.waitForFunction(() => {
    const v = document.querySelector('video.player') as VideoEl | null;
    return !!v && v.readyState >= 2 && v.videoWidth > 0;
  });
  const playable = await page.evaluate(() => (document.querySelector('video.player') as VideoEl).videoWidth);
  assert.equal(playable, 640, 'the video plays in the browser');

  const job = (await (
    await fetch(`${baseUrl}/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${bearer}` } })
  ).json()) as {
    job: JobJson;
  };
  const frames: Frame[] = [];
  for (let cursor: string | null = null; ; ) {
    const q: string = `format=json&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await fetch(`${baseUrl}/v1/jobs/${jobId}/detections?${q}`, {
      headers: { authorization: `Bearer ${bearer}` },
    });
    const body = (await res.json()) as { frames: Frame[]; nextCursor: string | null };
    frames.push(...body.frames);
    if (!body.nextCursor) break;
    cursor = body.nextCursor;
  }
  const minScore = job.job.options.minScore;
  const withBoxes = frames.filter((f) => f.detections.some((d) => d.score >= minScore));
  assert.ok(withBoxes.length > 0, 'the detector found something in the astronaut video');

  // seek to an analysed frame that has a box, paused, and wait for the overlay to show it
  const target = withBoxes[Math.floor(withBoxes.length / 2)];
  await page.evaluate((ts) => {
    const v = document.querySelector('video.player') as VideoEl;
    v.pause();
    v.currentTime = ts + 0.01;
  }, target.timestamp);
  await page.waitForFunction(
    (fi) => (document.querySelector('canvas.overlay') as CanvasEl).dataset.frameIndex === String(fi),
    target.frameIndex,
  );
  await page.waitForFunction(() => !(document.querySelector('video.player') as VideoEl).seeking);

  // the box's left edge, in canvas pixels, is painted (not transparent)
  const det = target.detections.find((d) => d.score >= minScore)!;
  const srcWidth = job.job.video.probe.video.width;
  const edge = await page.evaluate(
    ({ box, srcWidth }) => {
      const c = document.querySelector('canvas.overlay') as CanvasEl;
      const ctx = c.getContext('2d')!;
      const s = c.width / srcWidth;
      const x = Math.min(c.width - 3, Math.max(2, Math.round(box.x1 * s)));
      const y = Math.min(c.height - 3, Math.max(2, Math.round(((box.y1 + box.y2) / 2) * s)));
      const d = ctx.getImageData(x - 2, y - 2, 5, 5).data;
      let maxAlpha = 0;
      for (let i = 3; i < d.length; i += 4) maxAlpha = Math.max(maxAlpha, d[i]);
      const r = c.getBoundingClientRect();
      const v = (document.querySelector('video.player') as VideoEl).getBoundingClientRect();
      return {
        maxAlpha,
        canvas: { w: r.width, h: r.height },
        video: { w: v.width, h: v.height },
        boxes: Number(c.dataset.boxes),
      };
    },
    { box: det.box, srcWidth },
  );
  assert.ok(edge.boxes > 0, 'boxes are drawn');
  assert.ok(edge.maxAlpha > 200, `the box edge is painted on the canvas (alpha ${edge.maxAlpha})`);
  assert.ok(
    Math.abs(edge.canvas.w / edge.canvas.h - 640 / 360) < 0.02,
    'the canvas covers the picture (same aspect)',
  );

  // the picture with the overlay differs from the same frame without it
  const stage = page.locator('.stage');
  const withOverlay = await stage.screenshot();
  await page.evaluate(() => {
    (document.querySelector('canvas.overlay') as CanvasEl).style.visibility = 'hidden';
  });
  const without = await stage.screenshot();
  await page.evaluate(() => {
    (document.querySelector('canvas.overlay') as CanvasEl).style.visibility = '';
  });
  assert.ok(!withOverlay.equals(without), 'the overlay changes what is on screen');

  // the timeline seeks: move away from the segment's start, click it, the video is there
  const label = det.label;
  const seg = job.job.summary?.labels.find((l) => l.label === label)?.segments[0];
  assert.ok(seg, `the summary has a segment for ${label}`);
  const away = seg.start > 0.5 ? 0 : Math.min(1.8, seg.end + 0.3, 1.8);
  await page.evaluate(
    (t) => {
      (document.querySelector('video.player') as VideoEl).currentTime = t;
    },
    away === seg.start ? seg.start + 0.5 : away,
  );
  await page.locator(`.timeline .segment[data-label="${label}"]`).first().click();
  const now = await page.evaluate(() => (document.querySelector('video.player') as VideoEl).currentTime);
  assert.ok(Math.abs(now - seg.start) < 0.05, `clicking the timeline seeks to ${seg.start} s (now ${now})`);

  // summary table and downloads are there
  await page.getByRole('table').filter({ hasText: label }).waitFor();
  await page.getByRole('button', { name: 'Download NDJSON' }).waitFor();

  await mkdir(join(root, 'test-results'), { recursive: true });
  await page.screenshot({ path: join(root, 'test-results/ui.png'), fullPage: true });
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  assert.deepEqual(cspViolations, [], 'nothing blocked by the Content-Security-Policy');
  await context.close();
});
