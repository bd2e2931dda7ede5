// The web UI in a real browser against the real server, one server and one analysed video for
// every check: register, sign in, a label the model lacks (the server's sentence is shown), live
// progress strictly between 0 and 100, a wrong file, the list (thumbnail, counts, a 229-character
// name), the review page (boxes on the picture, a timeline click lands within a frame of the
// clicked time, frame stepping lands on the neighbouring analysed frames, filters survive a reload,
// the download holds what is shown), the objects (issue 11's tracks: the list with thumbnails, a
// click seeks to the track's first frame and highlights it, Shift + arrows follow it, "only this
// label"), an export of what is shown (CSV and MOT), an annotated video made from the page (its
// link serves an MP4), and on every page at 390x844 and 1440x900, light and dark:
// no horizontal scroll and no serious or critical axe-core violation. Screenshots of each page in
// each size and scheme: test-results/ui-<page>-<width>-<scheme>.png (git-ignored).
//
// Needs Debian's chromium (/usr/bin/chromium, or CHROMIUM_PATH). Starts `node bin/web-detector.js
// serve` with a temporary DATA_DIR and PORT; E2E_BASE_URL=http://host:port runs it against a
// server that is already running instead.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { personThenCupVideo } from '../helpers/content.js';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Frame {
  frameIndex: number;
  timestamp: number;
  detections: {
    label: string;
    score: number;
    box: { x1: number; y1: number; x2: number; y2: number };
    trackId?: number | null;
  }[];
}
interface TrackJson {
  id: number;
  label: string;
  firstFrame: number;
  firstSeen: number;
  frames: number;
  bestFrame: number;
  thumbnailUrl: string;
}
interface JobJson {
  id: string;
  status: string;
  options: { minScore: number };
  video: { probe: { video: { width: number; height: number } } };
  summary: { labels: { label: string; segments: { start: number; end: number }[] }[] } | null;
}

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

async function token(page: Page): Promise<string> {
  return page.evaluate(() => {
    const raw = sessionStorage.getItem('web-detector.tokens') ?? localStorage.getItem('web-detector.tokens');
    return raw ? (JSON.parse(raw) as { accessToken: string }).accessToken : '';
  });
}

const SIZES = [
  { width: 1440, height: 900 },
  { width: 390, height: 844 },
] as const;
const SCHEMES = ['light', 'dark'] as const;

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
}

/**
 * The page at both sizes in both colour schemes: no horizontal scroll, no serious or critical
 * axe-core violation; a screenshot of each. Leaves the page at 1440x900, light.
 */
async function checkEverywhere(page: Page, name: string): Promise<void> {
  await mkdir(join(root, 'test-results'), { recursive: true });
  for (const size of SIZES) {
    await page.setViewportSize(size);
    for (const colorScheme of SCHEMES) {
      await page.emulateMedia({ colorScheme });
      await page.waitForTimeout(250); // layout and canvases follow resize observers
      const where = `${name} at ${size.width}x${size.height}, ${colorScheme}`;
      const widths = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
      }));
      assert.ok(
        widths.scroll <= widths.inner,
        `${where}: the page is ${widths.scroll} px wide in a ${widths.inner} px window`,
      );
      // evaluated through the DevTools protocol, not added as an inline <script>: the page's CSP
      // (script-src 'self') rightly blocks inline scripts, and the test checks nothing is blocked
      if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
      const result = (await page.evaluate(() =>
        (window as unknown as { axe: { run(ctx: Document, o: object): Promise<unknown> } }).axe.run(
          document,
          {
            resultTypes: ['violations'],
          },
        ),
      )) as AxeResult;
      const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      assert.deepEqual(
        bad.map(
          (v) =>
            `${v.id} (${v.impact}): ${v.help} at ${v.nodes
              .map((n) => JSON.stringify(n.target))
              .slice(0, 4)
              .join(', ')}`,
        ),
        [],
        `${where}: axe-core`,
      );
      await page.screenshot({ path: join(root, `test-results/ui-${name}-${size.width}-${colorScheme}.png`) });
    }
  }
  await page.setViewportSize(SIZES[0]);
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForTimeout(250);
}

/** The most opaque pixel around each box's left edge (halfway down) on the overlay canvas. */
function edgeAlphas(page: Page, dets: Frame['detections'], srcWidth: number): Promise<number[]> {
  return page.evaluate(
    ({ boxes, srcWidth }) => {
      const c = document.querySelector('canvas.overlay') as HTMLCanvasElement;
      const ctx = c.getContext('2d')!;
      const s = c.width / srcWidth;
      return boxes.map((box) => {
        const x = Math.min(c.width - 3, Math.max(2, Math.round(box.x1 * s)));
        const y = Math.min(c.height - 3, Math.max(2, Math.round(((box.y1 + box.y2) / 2) * s)));
        const d = ctx.getImageData(x - 2, y - 2, 5, 5).data;
        let max = 0;
        for (let i = 3; i < d.length; i += 4) max = Math.max(max, d[i]);
        return max;
      });
    },
    { boxes: dets.map((d) => d.box), srcWidth },
  );
}

const currentTime = (page: Page) =>
  page.evaluate(() => (document.querySelector('video.player') as HTMLVideoElement).currentTime);
const shownFrame = (page: Page) =>
  page.evaluate(() =>
    Number((document.querySelector('canvas.overlay') as HTMLCanvasElement).dataset.frameIndex),
  );
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const v = document.querySelector('video.player') as HTMLVideoElement;
    return !v.seeking && v.readyState >= 2;
  });
}

test('web UI: review a video end to end, on a phone and a desktop, light and dark', {
  timeout: 480_000,
}, async (t) => {
  if (skipReason) {
    t.skip(skipReason);
    return;
  }
  // 10 s, 640x360, 10 fps: 5 s of the astronaut (person) then 5 s of the coffee cup (cup)
  const video = await personThenCupVideo({ width: 640, height: 360, fps: 10, segmentSeconds: 5 });
  const FPS = 10;
  const notVideo = join(tmp, 'notes.mp4');
  await writeFile(notVideo, 'This is a text file, not a video.\n'.repeat(20));
  const longName = `${'security_camera_export_of_the_north_entrance_'.repeat(5).slice(0, 225)}.mp4`;
  assert.equal(longName.length, 229);
  const longCopy = join(tmp, longName);
  await writeFile(longCopy, await readFile(video));

  const context = await browser!.newContext({ viewport: SIZES[0], acceptDownloads: true });
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
  assert.equal(home?.status(), 200, 'the server serves the web UI at /');
  await t.test('sign-in page', () => checkEverywhere(page, 'sign-in'));
  const username = `e2e_${Date.now().toString(36)}`;
  const password = 'correct horse battery';

  // register (the UI signs in right after), sign out, sign in again
  const reg = page.locator('form[aria-labelledby="register-title"]');
  await reg.getByLabel('Username').fill(username);
  await reg.getByLabel('Password').fill(password);
  await reg.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'New analysis' }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  const login = page.locator('form[aria-labelledby="login-title"]');
  await login.getByLabel('Username').fill(username);
  await login.getByLabel('Password').fill(password);
  await login.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Your videos' }).waitFor();
  // focus moves to the page heading on navigation
  await page.waitForFunction(() => document.activeElement?.tagName === 'H1', null, { timeout: 3000 });
  const bearer = await token(page);
  assert.ok(bearer, 'the access token is stored');
  const api = async (path: string, init: RequestInit = {}) =>
    fetch(`${baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${bearer}`, ...init.headers } });

  await t.test("a label the model lacks is refused with the server's sentence", async () => {
    const form = new FormData();
    form.append('labels', 'persn, unicorn');
    form.append('video', new Blob([await readFile(video)], { type: 'video/mp4' }), 'clip.mp4');
    const direct = await api('/v1/jobs', { method: 'POST', body: form });
    assert.equal(direct.status, 400);
    const expected = ((await direct.json()) as { error: { message: string } }).error.message;
    assert.match(expected, /"persn" and "unicorn" are not labels of model centernet/);
    await page.getByLabel('Video file').setInputFiles(video);
    await page.getByLabel('Labels to keep').fill('persn, unicorn');
    await page.getByRole('button', { name: 'Upload and analyse' }).click();
    await page.waitForFunction(() => (document.getElementById('upload-error')?.textContent ?? '') !== '');
    assert.equal(await page.locator('#upload-error').textContent(), expected);
    assert.match(
      (await page.locator('#labels-warning').textContent()) ?? '',
      /has no label “persn”, “unicorn”/,
    );
    await page.getByLabel('Labels to keep').fill('');
  });

  // upload the video; the list shows live progress from the event stream
  await page.getByLabel('Video file').setInputFiles(video);
  await page.getByRole('button', { name: 'Upload and analyse' }).click();
  const item = page.locator('li.job[data-job-id]').first();
  await item.waitFor();
  const jobId = (await item.getAttribute('data-job-id'))!;

  await t.test('progress strictly between 0 and 100, with frames done of total', async () => {
    const partWay = await page.waitForFunction(
      (id) => {
        const li = document.querySelector(`li.job[data-job-id="${id}"]`);
        const bar = li?.querySelector('progress') as HTMLProgressElement | null;
        const text = li?.querySelector('.progress-text')?.textContent ?? '';
        return bar && bar.value > 0 && bar.value < 100 ? { value: bar.value, text } : null;
      },
      jobId,
      { timeout: 90_000, polling: 50 },
    );
    const seen = (await partWay.jsonValue()) as { value: number; text: string };
    assert.ok(seen.value > 0 && seen.value < 100, `progress part-way: ${seen.value}`);
    const m = /^(\d+) of (\d+) frames · (\d+)%/.exec(seen.text);
    assert.ok(m, `the progress line: ${seen.text}`);
    assert.equal(Number(m[2]), 100, 'framesTotal is every frame of the 10 s video');
    assert.ok(Number(m[1]) > 0 && Number(m[1]) < 100);
    assert.equal(Number(m[3]), Math.floor(seen.value));
  });

  await t.test("a wrong file: the server's own sentence is shown", async () => {
    const form = new FormData();
    form.append('video', new Blob([await readFile(notVideo)], { type: 'video/mp4' }), 'notes.mp4');
    const direct = await api('/v1/jobs', { method: 'POST', body: form });
    assert.ok(direct.status >= 400 && direct.status < 500, `a text file is refused (got ${direct.status})`);
    const expected = ((await direct.json()) as { error: { message: string } }).error.message;
    await page.getByLabel('Video file').setInputFiles(notVideo);
    await page.getByRole('button', { name: 'Upload and analyse' }).click();
    await page.waitForFunction(
      (msg) => document.getElementById('upload-error')?.textContent === msg,
      expected,
    );
    assert.equal(await page.locator('#upload-error').getAttribute('role'), 'alert');
  });

  // a job with a 229-character name (canceled at once: only its name matters)
  await page.getByLabel('Video file').setInputFiles(longCopy);
  await page.getByLabel('Sampling (frames per second)').fill('1');
  await page.getByRole('button', { name: 'Upload and analyse' }).click();
  const longItem = page.locator('li.job').filter({ hasText: longName.slice(0, 40) });
  await longItem.waitFor();
  await longItem.getByRole('button', { name: /^Cancel / }).click();
  await page.locator(`li.job[data-status="canceled"]`).waitFor({ timeout: 30_000 });

  await page.locator(`li.job[data-job-id="${jobId}"][data-status="completed"]`).waitFor({ timeout: 120_000 });

  await t.test('job list: thumbnail, counts, ellipsis, fits every width', async () => {
    const done = page.locator(`li.job[data-job-id="${jobId}"]`);
    await page.waitForFunction(
      (id) =>
        (document.querySelector(`li.job[data-job-id="${id}"] img`) as HTMLImageElement | null)
          ?.naturalWidth === 256,
      jobId,
    );
    const labels = (await done.locator('.top-labels').textContent()) ?? '';
    assert.match(labels, /person \d+/);
    assert.match(labels, /cup \d+/);
    const link = longItem.locator('a.job-link');
    assert.equal(await link.getAttribute('title'), longName, 'the whole name on hover');
    const cut = await link.evaluate((a) => ({ scroll: a.scrollWidth, client: a.clientWidth }));
    assert.ok(cut.scroll > cut.client, 'the long name is cut with an ellipsis');
    // search by name
    await page.getByLabel('Search by file name').fill('north_entrance');
    await page.waitForFunction(() => document.querySelectorAll('li.job').length === 1);
    await page.getByLabel('Search by file name').fill('');
    await page.waitForFunction(() => document.querySelectorAll('li.job').length === 2);
    await checkEverywhere(page, 'jobs');
  });

  // open the job
  await page.locator(`li.job[data-job-id="${jobId}"] a.job-link`).click();
  await page.locator('video.player').waitFor();
  await page.waitForFunction(() => {
    const v = document.querySelector('video.player') as HTMLVideoElement | null;
    return !!v && v.readyState >= 2 && v.videoWidth > 0;
  });
  await page.waitForFunction(() => document.activeElement?.tagName === 'H1', null, { timeout: 3000 });
  const job = ((await (await api(`/v1/jobs/${jobId}`)).json()) as { job: JobJson }).job;
  const frames: Frame[] = [];
  for (let cursor: string | null = null; ; ) {
    const q: string = `format=json&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const body = (await (await api(`/v1/jobs/${jobId}/detections?${q}`)).json()) as {
      frames: Frame[];
      nextCursor: string | null;
    };
    frames.push(...body.frames);
    if (!body.nextCursor) break;
    cursor = body.nextCursor;
  }
  frames.sort((a, b) => a.timestamp - b.timestamp);
  const minScore = job.options.minScore;
  // what this server has of issue 11 (the page shows only what the server offers, the same way)
  const openapi = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const hasPath = (path: string, method: string) =>
    Boolean(openapi.paths[path]?.[method] ?? openapi.paths[path.replace('{id}', ':id')]?.[method]);
  const hasTracks = hasPath('/v1/jobs/{id}/tracks', 'get');
  const hasExports = hasPath('/v1/jobs/{id}/export', 'get');
  const hasRenders = hasPath('/v1/jobs/{id}/renders', 'post');

  await t.test('boxes are drawn on the picture', async () => {
    const withBoxes = frames.filter((f) => f.detections.some((d) => d.score >= minScore));
    assert.ok(withBoxes.length > 0, 'the detector found something');
    const target = withBoxes[Math.floor(withBoxes.length / 2)];
    await page.evaluate((ts) => {
      const v = document.querySelector('video.player') as HTMLVideoElement;
      v.pause();
      v.currentTime = ts + 0.01;
    }, target.timestamp);
    await page.waitForFunction(
      (fi) =>
        (document.querySelector('canvas.overlay') as HTMLCanvasElement).dataset.frameIndex === String(fi),
      target.frameIndex,
    );
    await settled(page);
    const det = target.detections.find((d) => d.score >= minScore)!;
    const edge = await page.evaluate(
      ({ box, srcWidth }) => {
        const c = document.querySelector('canvas.overlay') as HTMLCanvasElement;
        const ctx = c.getContext('2d')!;
        const s = c.width / srcWidth;
        const x = Math.min(c.width - 3, Math.max(2, Math.round(box.x1 * s)));
        const y = Math.min(c.height - 3, Math.max(2, Math.round(((box.y1 + box.y2) / 2) * s)));
        const d = ctx.getImageData(x - 2, y - 2, 5, 5).data;
        let maxAlpha = 0;
        for (let i = 3; i < d.length; i += 4) maxAlpha = Math.max(maxAlpha, d[i]);
        const r = c.getBoundingClientRect();
        return { maxAlpha, w: r.width, h: r.height, boxes: Number(c.dataset.boxes) };
      },
      { box: det.box, srcWidth: job.video.probe.video.width },
    );
    assert.ok(edge.boxes > 0, 'boxes are drawn');
    assert.ok(edge.maxAlpha > 200, `the box edge is painted on the canvas (alpha ${edge.maxAlpha})`);
    assert.ok(Math.abs(edge.w / edge.h - 640 / 360) < 0.02, 'the canvas covers the picture (same aspect)');
  });

  await t.test(
    'the timeline is in view at 1440x900 and a click lands within a frame of the clicked time',
    async () => {
      const box = await page.locator('.timeline').boundingBox();
      assert.ok(
        box && box.y + box.height <= 900,
        `the timeline ends at ${box && box.y + box.height} px, inside the window`,
      );
      const lane = page.locator('.tl-row[data-key="label:cup"] canvas.tl-lane');
      const laneBox = (await lane.boundingBox())!;
      assert.ok(laneBox.height >= 24, `targets are at least 24 px tall (${laneBox.height})`);
      const win = await page.locator('.timeline').evaluate((el) => ({
        start: Number((el as HTMLElement).dataset.start),
        end: Number((el as HTMLElement).dataset.end),
      }));
      for (const at of [0.37, 0.81]) {
        await page.mouse.click(laneBox.x + laneBox.width * at, laneBox.y + laneBox.height / 2);
        await settled(page);
        const expected = win.start + at * (win.end - win.start);
        const now = await currentTime(page);
        assert.ok(
          Math.abs(now - expected) <= 1 / FPS,
          `clicked ${expected.toFixed(3)} s, the player is at ${now.toFixed(3)} s`,
        );
      }
    },
  );

  await t.test('frame stepping: ArrowRight/ArrowLeft land on the neighbouring analysed frames', async () => {
    await page.locator('video.player').focus();
    const i = 42;
    await page.locator('.frame-box').fill(String(frames[i].frameIndex));
    await page.locator('.frame-box').press('Enter');
    await page.waitForFunction(
      (fi) =>
        (document.querySelector('canvas.overlay') as HTMLCanvasElement).dataset.frameIndex === String(fi),
      frames[i].frameIndex,
    );
    await settled(page);
    await page.locator('video.player').focus();
    await page.keyboard.press('ArrowRight');
    await settled(page);
    assert.equal(
      await shownFrame(page),
      frames[i + 1].frameIndex,
      'ArrowRight: the next analysed frame (not a 5 s seek)',
    );
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await settled(page);
    assert.equal(await shownFrame(page), frames[i - 1].frameIndex, 'ArrowLeft twice: the frame before');
    const t0 = await currentTime(page);
    assert.ok(Math.abs(t0 - frames[i - 1].timestamp) < 1 / FPS);
    // with the page focused too
    await page.locator('h1').focus();
    await page.keyboard.press('ArrowRight');
    await settled(page);
    assert.equal(await shownFrame(page), frames[i].frameIndex);
    // Shift+ArrowRight: the next frame with the chosen label
    await page.locator('.jump-label').selectOption('cup');
    await page.locator('.frame-box').fill(String(frames[0].frameIndex));
    await page.locator('.frame-box').press('Enter');
    await settled(page);
    await page.locator('h1').focus();
    await page.keyboard.press('Shift+ArrowRight');
    await settled(page);
    const firstCup = frames.find((f) => f.detections.some((d) => d.label === 'cup' && d.score >= minScore))!;
    assert.equal(await shownFrame(page), firstCup.frameIndex, 'Shift+ArrowRight: the first frame with a cup');
  });

  await t.test(
    'objects: the track list with thumbnails; a click seeks to the first frame and highlights the track',
    { skip: hasTracks ? false : 'this server has no GET /v1/jobs/:id/tracks yet' },
    async (st) => {
      const tracks = (
        (await (await api(`/v1/jobs/${jobId}/tracks?limit=1000`)).json()) as { tracks: TrackJson[] }
      ).tracks;
      assert.ok(tracks.length >= 1, 'the API has at least one track for the clip');
      const rows = page.locator('.track-list button.track');
      await rows.first().waitFor();
      assert.equal(await rows.count(), Math.min(40, tracks.length), 'one row per track (40 at a time)');
      // the thumbnail of the first row: lazy, so it loads once in view
      await rows.first().scrollIntoViewIfNeeded();
      const thumb = rows.first().locator('img.track-thumb');
      assert.ok(((await thumb.getAttribute('alt')) ?? '').length > 0, 'the thumbnail has alt text');
      assert.equal(await thumb.getAttribute('loading'), 'lazy');
      await page.waitForFunction(
        () => {
          const img = document.querySelector('.track-list img.track-thumb') as HTMLImageElement | null;
          return !!img && img.complete && img.naturalWidth > 0;
        },
        null,
        { timeout: 15_000 },
      );
      // counts per label
      const chips = page.locator('.object-counts button.chip');
      assert.ok((await chips.count()) >= 1, 'counts per label');

      // click a cup track (or the first): the player seeks to its first frame, its box is highlighted
      const track = tracks.find((x) => x.label === 'cup') ?? tracks[0];
      const row = page.locator(`.track-list button.track[data-track-id="${track.id}"]`);
      // the other objects' boxes on that frame: drawn as always before the click, dimmed after
      const f0 = frames.find((f) => f.frameIndex === track.firstFrame)!;
      const others = f0.detections.filter((d) => d.trackId !== track.id && d.score >= minScore);
      await page.locator('.frame-box').fill(String(track.firstFrame));
      await page.locator('.frame-box').press('Enter');
      await settled(page);
      const before = await edgeAlphas(page, others, job.video.probe.video.width);
      await row.scrollIntoViewIfNeeded();
      await row.click();
      await settled(page);
      await page.waitForFunction(
        (id) => (document.querySelector('canvas.overlay') as HTMLCanvasElement).dataset.track === String(id),
        track.id,
      );
      const now = await currentTime(page);
      assert.ok(
        Math.abs(now - track.firstSeen) <= 1 / FPS,
        `the track starts at ${track.firstSeen.toFixed(3)} s, the player is at ${now.toFixed(3)} s`,
      );
      assert.equal(await shownFrame(page), track.firstFrame, "the track's first frame is on screen");
      assert.equal(await row.getAttribute('aria-pressed'), 'true');
      assert.match(page.url(), new RegExp(`track=${track.id}`), 'the selection is in the URL');
      const det = f0.detections.find((d) => d.trackId === track.id);
      assert.ok(det, 'the detections carry the track id');
      const [selectedEdge] = await edgeAlphas(page, [det], job.video.probe.video.width);
      assert.ok(selectedEdge > 200, `the selected box is painted (alpha ${selectedEdge})`);
      const after = await edgeAlphas(page, others, job.video.probe.video.width);
      let dimmed = 0;
      others.forEach((d, i) => {
        if (before[i] <= 200) return; // another box or caption crosses the sampled edge
        assert.ok(after[i] < 160, `${d.label} #${d.trackId} is dimmed: alpha ${before[i]} → ${after[i]}`);
        dimmed++;
      });
      st.diagnostic(
        `selected ${track.label} #${track.id}: ${dimmed} other box(es) on its first frame seen dimmed`,
      );
      // Shift+ArrowRight follows the selected track (the stepper's jump control follows it)
      assert.equal(await page.locator('.jump-label').inputValue(), `track:${track.id}`);
      const withTrack = frames.filter((f) =>
        f.detections.some((d) => d.trackId === track.id && d.score >= minScore),
      );
      const next = withTrack.find((f) => f.frameIndex > track.firstFrame);
      if (next) {
        await page.locator('h1').focus();
        await page.keyboard.press('Shift+ArrowRight');
        await settled(page);
        assert.equal(
          await shownFrame(page),
          next.frameIndex,
          'Shift+ArrowRight: the next frame of the track',
        );
        await page.keyboard.press('Shift+ArrowLeft');
        await settled(page);
        assert.equal(await shownFrame(page), track.firstFrame, 'Shift+ArrowLeft: back to the first');
      }
      // the timeline has a row for the selected track
      await page.locator(`.tl-row[data-key="track:${track.id}"]`).waitFor();
      // Best frame: the frame of its highest score
      await page.getByRole('button', { name: `Best frame of ${track.label} #${track.id}` }).click();
      await settled(page);
      assert.equal(
        await shownFrame(page),
        track.bestFrame,
        "Best frame: the track's best frame is on screen",
      );

      // "only this label": the list and the filters keep only that label; pressed again, every label
      const chip = page.locator(`.object-counts button.chip[data-key="label:${track.label}"]`);
      await chip.click();
      await page.waitForFunction(() => location.hash.includes('labels='));
      assert.equal(await chip.getAttribute('aria-pressed'), 'true');
      const labelsShown = await page
        .locator('.track-list button.track .track-name')
        .evaluateAll((els) => els.map((e) => (e.textContent ?? '').replace(/ #\d+$/, '')));
      assert.ok(labelsShown.length > 0 && labelsShown.every((l) => l === track.label), labelsShown.join());
      await chip.click();
      await page.waitForFunction(() => !location.hash.includes('labels='));
      assert.equal(await page.locator('.track-list button.track').count(), Math.min(40, tracks.length));
      // clear the selection: every box drawn as before
      await page.getByRole('button', { name: /^Clear the selection/ }).click();
      await page.waitForFunction(
        () => (document.querySelector('canvas.overlay') as HTMLCanvasElement).dataset.track === '',
      );
    },
  );

  await t.test(
    'filters live in the URL, survive a reload, and the download holds what is shown',
    async () => {
      await page.getByLabel('Minimum score').fill('0.4');
      await page.getByRole('checkbox', { name: /^person/ }).uncheck();
      await page.waitForFunction(
        () => location.hash.includes('minScore=0.4') && location.hash.includes('labels='),
      );
      const hash = await page.evaluate(() => location.hash);
      assert.doesNotMatch(decodeURIComponent(hash), /labels=[^&]*person/);
      await page.reload();
      await page.locator('video.player').waitFor();
      assert.equal(await page.getByLabel('Minimum score').inputValue(), '0.4');
      assert.equal(await page.getByRole('checkbox', { name: /^person/ }).isChecked(), false);
      assert.equal(await page.getByRole('checkbox', { name: /^cup/ }).isChecked(), true);
      await page.locator('summary', { hasText: 'Download' }).click();
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Detections, JSON' }).click(),
      ]);
      const body = JSON.parse(await readFile((await download.path())!, 'utf8')) as { frames: Frame[] };
      const shown = new Set(frames.flatMap((f) => f.detections.map((d) => d.label)));
      shown.delete('person');
      const expected = frames
        .map((f) => ({ ...f, detections: f.detections.filter((d) => shown.has(d.label) && d.score >= 0.4) }))
        .filter((f) => f.detections.length > 0);
      assert.ok(expected.length > 0);
      assert.deepEqual(
        body.frames.map((f) => [f.frameIndex, f.detections.length]),
        expected.map((f) => [f.frameIndex, f.detections.length]),
        'the JSON download has the shown labels at the shown score, nothing else',
      );
      assert.ok(body.frames.every((f) => f.detections.every((d) => d.label !== 'person' && d.score >= 0.4)));
      await page.keyboard.press('Escape');
    },
  );

  await t.test(
    'export what I see: CSV and MOT with the filters on screen',
    { skip: hasExports ? false : 'this server has no GET /v1/jobs/:id/export yet' },
    async () => {
      // the filters are still cup only at 0.4 (the test before)
      const exportOf = async (name: RegExp) => {
        await page.locator('summary', { hasText: 'Download' }).click();
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.getByRole('button', { name }).click(),
        ]);
        const text = await readFile((await download.path())!, 'utf8');
        await page.keyboard.press('Escape');
        return { text, name: download.suggestedFilename() };
      };
      const csv = await exportOf(/^CSV/);
      const [header, ...lines] = csv.text.trim().split(/\r?\n/);
      const cols = header.split(',');
      assert.ok(cols.includes('label') && cols.includes('score'), `the CSV header: ${header}`);
      assert.ok(lines.length > 0, 'the CSV has rows');
      const li = cols.indexOf('label');
      const si = cols.indexOf('score');
      for (const line of lines) {
        const c = line.split(',');
        assert.equal(c[li], 'cup', `only the label shown: ${line}`);
        assert.ok(Number(c[si]) >= 0.4 - 1e-6, `only at the score shown: ${line}`);
      }
      assert.match(csv.name, /\.csv$/);
      const mot = await exportOf(/^MOT/);
      const motLines = mot.text.trim().split(/\r?\n/).filter(Boolean);
      assert.ok(motLines.length > 0, 'the MOT file has lines');
      for (const line of motLines) {
        const c = line.split(',').map(Number);
        assert.equal(c.length, 10, `MOT: frame, id, x, y, w, h, conf, -1, -1, -1: ${line}`);
        assert.ok(Number.isInteger(c[0]) && c[0] >= 1, `MOT frames are 1-based: ${line}`);
        assert.ok(c[6] >= 0.4 - 1e-6, `MOT conf at the score shown: ${line}`);
      }
    },
  );

  await t.test(
    'make an annotated video from the page: progress, then a link that serves an MP4',
    { skip: hasRenders ? false : 'this server has no POST /v1/jobs/:id/renders yet' },
    async () => {
      const make = page.getByRole('button', { name: 'Make an annotated video' });
      await make.scrollIntoViewIfNeeded();
      await make.click();
      const link = page.locator('a.render-link:not([hidden])');
      await link.waitFor({ timeout: 240_000 });
      const href = (await link.getAttribute('href'))!;
      assert.ok(href, 'the link has the signed URL');
      const head = await page.evaluate(async (url) => {
        const res = await fetch(url);
        const b = new Uint8Array(await res.arrayBuffer());
        return {
          status: res.status,
          type: res.headers.get('content-type'),
          size: b.length,
          ftyp: String.fromCharCode(...b.slice(4, 8)),
        };
      }, href);
      assert.equal(head.status, 200);
      assert.equal(head.ftyp, 'ftyp', 'an MP4 (ftyp box first)');
      assert.ok(head.size > 1000, `the MP4 has ${head.size} bytes`);
    },
  );

  // the review page as checked below: a track selected (its box highlighted, the others dimmed)
  if (hasTracks) {
    const first = page.locator('.track-list button.track').first();
    await first.scrollIntoViewIfNeeded();
    await first.click();
    await settled(page);
  }

  await t.test('review page fits every width and passes axe-core in both schemes', async () => {
    // the narrowest and widest layouts: no horizontal scroll (axe-core runs at the two sizes below)
    for (const size of [
      { width: 360, height: 740 },
      { width: 1920, height: 1080 },
    ]) {
      await page.setViewportSize(size);
      await page.waitForTimeout(250);
      const w = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
      }));
      assert.ok(w.scroll <= w.inner, `review at ${size.width} px: the page is ${w.scroll} px wide`);
    }
    await checkEverywhere(page, 'review');
  });
  await page.screenshot({ path: join(root, 'test-results/ui.png') });
  // the README's picture (docs/review.png is made from this one)
  await page.setViewportSize({ width: 1280, height: 760 });
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(root, 'test-results/ui-review-1280.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(root, 'test-results/ui-review-390-full.png'), fullPage: true });
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  assert.deepEqual(cspViolations, [], 'nothing blocked by the Content-Security-Policy');
  await context.close();
});
