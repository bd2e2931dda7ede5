/**
 * The checks of the deploy test (scripts/deploy-test.sh starts the compose project, then runs this
 * file with node --test; it is not part of `npm test`). Through the API's published port on
 * loopback: register, upload a real-content video, SIGKILL a detector container while it runs a
 * chunk, and check the job still completes with every frame exactly once and the killed chunk run
 * again. Environment:
 *   WD_API       the API's base URL (http://127.0.0.1:PORT)
 *   WD_COMPOSE   JSON array: the command that runs `docker compose` for the project
 *   DOCKER       the docker CLI
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { personThenCupVideo } from '../helpers/content.js';
import { call, registerAndLogin, upload } from '../helpers/http.js';
import { metricValue } from '../helpers/metrics.js';
import {
  allFramesPaged,
  assertPersonThenCup,
  ffprobeFrameTimes,
  sleep,
  waitForJob,
} from '../integration/pipeline/checks.js';

const run = promisify(execFile);
const API = process.env.WD_API ?? '';
const COMPOSE = JSON.parse(process.env.WD_COMPOSE ?? '[]') as string[];
const DOCKER = process.env.DOCKER ?? 'docker';
const SEGMENT = 3;

async function compose(...args: string[]): Promise<string> {
  const { stdout } = await run(COMPOSE[0], [...COMPOSE.slice(1), ...args], { timeout: 60_000 });
  return stdout.trim();
}

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run(DOCKER, args, { timeout: 60_000 });
  return stdout.trim();
}

/** One SQL answer from the compose project's PostgreSQL (psql inside its container). */
async function psql(query: string): Promise<string> {
  return compose(
    'exec',
    '-T',
    'postgres',
    'sh',
    '-c',
    'psql -v ON_ERROR_STOP=1 -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$0"',
    query,
  );
}

/** A detector container's own /metrics (its METRICS_PORT is not published: asked from inside). */
async function detectorMetrics(id: string): Promise<string> {
  return docker(
    'exec',
    id,
    'node',
    '-e',
    "fetch('http://127.0.0.1:9464/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))",
  );
}

test('compose deployment: a job survives a killed detector; every frame once; metrics', async () => {
  assert.ok(API && COMPOSE.length, 'WD_API and WD_COMPOSE are set by scripts/deploy-test.sh');
  const ready = await call(API, 'GET', '/readyz');
  assert.equal(ready.status, 200, ready.text);

  // 6 s at 12 fps, a keyframe a second: 72 frames, 6 one-second chunks (CHUNK_SECONDS=1)
  const video = await personThenCupVideo({
    width: 640,
    height: 360,
    fps: 12,
    segmentSeconds: SEGMENT,
    gop: 12,
  });
  const times = await ffprobeFrameTimes(video);
  const user = await registerAndLogin(API);
  const up = await upload(API, user.accessToken, video, {}, { filename: 'deploy-test.mp4' });
  assert.equal(up.status, 202, up.text);
  const jobId: string = up.body.job.id;
  assert.match(jobId, /^[0-9a-f-]{36}$/); // it goes into SQL below

  // once the job is under way, SIGKILL a detector that is running a chunk
  const detectors = (await compose('ps', '-q', 'detector')).split('\n').filter(Boolean);
  assert.equal(detectors.length, 2, 'two detector containers');
  await waitForJob(API, user.accessToken, jobId, {
    timeoutMs: 180_000,
    pollMs: 200,
    until: (j) => j.status === 'processing' && j.progress.chunksTotal > 0,
  });
  let victim: string | undefined;
  const deadline = Date.now() + 120_000;
  while (!victim && Date.now() < deadline) {
    for (const id of detectors) {
      if (metricValue(await detectorMetrics(id), 'worker_running_tasks{queue="detect"}') === 1) {
        victim = id;
        break;
      }
    }
    if (!victim) await sleep(100);
  }
  assert.ok(victim, 'a detector was seen running a chunk');
  await docker('kill', '--signal', 'KILL', victim);
  const killedAt = Date.now();
  const before = await waitForJob(API, user.accessToken, jobId, { timeoutMs: 1000, until: () => true });
  console.log(
    `killed detector ${victim.slice(0, 12)} at chunks ${before.progress.chunksDone}/${before.progress.chunksTotal}`,
  );

  const job = await waitForJob(API, user.accessToken, jobId, { timeoutMs: 300_000, pollMs: 250 });
  console.log(`job ${job.status} ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
  const { frames } = await allFramesPaged(API, user.accessToken, jobId, '', 1000);
  assertPersonThenCup(job, frames, times, SEGMENT);

  // the killed detector's chunk was taken up again by the other one (stalled-task detection)
  const rerun = Number(
    await psql(`select count(*) from job_chunks where job_id = '${jobId}' and attempts > 1`),
  );
  assert.ok(rerun >= 1, 'at least one chunk ran a second time');
  const rows = Number(await psql(`select count(*) from frames where job_id = '${jobId}'`));
  assert.equal(rows, times.length, 'one stored row per frame');

  // issue 11 in the deployment: the processor tracked the job (tracks with thumbnails), and a
  // detector worker (`--queues detect,render`) makes the annotated video
  const tracks = await call(API, 'GET', `/v1/jobs/${jobId}/tracks`, { token: user.accessToken });
  assert.equal(tracks.status, 200, tracks.text);
  assert.ok(tracks.body.tracks.length > 0, 'the person and the cup are tracked');
  const made = await call(API, 'POST', `/v1/jobs/${jobId}/renders`, { token: user.accessToken, json: {} });
  assert.equal(made.status, 202, made.text);
  let render = made.body.render;
  for (let i = 0; i < 600 && (render.status === 'queued' || render.status === 'running'); i++) {
    await sleep(500);
    const r = await call(API, 'GET', `/v1/jobs/${jobId}/renders/${render.id}`, { token: user.accessToken });
    assert.equal(r.status, 200, r.text);
    render = r.body.render;
  }
  assert.equal(render.status, 'completed', JSON.stringify(render));
  const mp4 = await fetch(`${API}${render.url}`);
  assert.equal(mp4.status, 200);
  const head = Buffer.from(await mp4.arrayBuffer());
  assert.equal(head.subarray(4, 8).toString('latin1'), 'ftyp', 'an MP4');
  console.log(`render of ${head.length} bytes made by a detector worker`);

  // metrics: queue depth on the API; the surviving detector counted what it analysed
  const m = await call(API, 'GET', '/metrics');
  assert.equal(m.status, 200);
  assert.equal(metricValue(m.text, 'queue_tasks{queue="detect",state="waiting"}'), 0);
  assert.equal(metricValue(m.text, 'queue_tasks{queue="detect",state="active"}'), 0);
  const survivor = detectors.find((id) => id !== victim) as string;
  const sm = await detectorMetrics(survivor);
  assert.ok(
    (metricValue(sm, 'frames_analysed_total{model="centernet"}') ?? 0) > 0,
    'survivor analysed frames',
  );
  assert.ok((metricValue(sm, 'decode_seconds_count') ?? 0) > 0);
  assert.equal(metricValue(sm, 'worker_slots{queue="detect"}'), 1);
});
