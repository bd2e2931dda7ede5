import assert from 'node:assert/strict';
import { call } from '../../helpers/http.js';
import { makerFfprobe } from '../../helpers/maker.js';
import { runProgram } from '../../helpers/run-program.js';

/**
 * Shared checks for the pipeline tests (standalone, distributed, faults): ffprobe's own list of
 * frame times, waiting for a job over HTTP, reading every frame back through the API, and the
 * "real content" assertions on the person-then-cup video.
 */

export const FINAL = new Set(['completed', 'failed', 'canceled']);

/** ffprobe's decoded frame times (best_effort_timestamp_time) of the first video stream, relative to frame 0. */
export async function ffprobeFrameTimes(file: string): Promise<number[]> {
  const ffprobe = makerFfprobe();
  const r = await runProgram(ffprobe, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_frames',
    '-show_entries',
    'frame=best_effort_timestamp_time',
    '-of',
    'json',
    file,
  ]);
  assert.equal(r.code, 0, `ffprobe failed: ${r.stderr}`);
  const abs = (JSON.parse(r.stdout.toString('utf8')).frames as { best_effort_timestamp_time: string }[]).map(
    (f) => Number(f.best_effort_timestamp_time),
  );
  assert.ok(abs.length > 0 && abs.every(Number.isFinite), 'ffprobe printed frame times');
  return abs.map((t) => t - abs[0]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function getJob(base: string, token: string, id: string) {
  const r = await call(base, 'GET', `/v1/jobs/${id}`, { token });
  assert.equal(r.status, 200, r.text);
  return r.body.job;
}

/** Polls GET /v1/jobs/:id until `until(job)` is true (default: a final status). */
export async function waitForJob(
  base: string,
  token: string,
  id: string,
  opts: { timeoutMs?: number; pollMs?: number; until?: (job: any) => boolean } = {},
): Promise<any> {
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  const until = opts.until ?? ((j: any) => FINAL.has(j.status));
  let job: any;
  for (;;) {
    try {
      job = await getJob(base, token, id);
      if (until(job)) return job;
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      // the API may be restarting (fault tests): keep polling
    }
    if (Date.now() > deadline) {
      throw new Error(
        `job ${id} did not reach the expected state in time; last seen: ${JSON.stringify(job?.status)} ${JSON.stringify(job?.progress)}`,
      );
    }
    await sleep(opts.pollMs ?? 100);
  }
}

export interface ApiFrame {
  frameIndex: number;
  timestamp: number;
  detections: { label: string; score: number; box: { x1: number; y1: number; x2: number; y2: number } }[];
}

/** Every frame through JSON paging (following nextCursor), with the number of pages read. */
export async function allFramesPaged(base: string, token: string, id: string, query = '', limit = 7) {
  const frames: ApiFrame[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = `limit=${limit}${query ? `&${query}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r: { status: number; text: string; body: any } = await call(
      base,
      'GET',
      `/v1/jobs/${id}/detections?${q}`,
      { token },
    );
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.frames.length <= limit);
    frames.push(...r.body.frames);
    cursor = r.body.nextCursor;
    pages += 1;
    assert.ok(pages < 10_000, 'paging does not end');
  } while (cursor);
  return { frames, pages };
}

/**
 * The real-content assertions for a completed job of personThenCupVideo over every frame:
 * exactly the frames ffprobe decodes, once each, with ffprobe's timestamps; person in the first
 * segment, cup only in the second; and a summary consistent with the frames.
 */
export function assertPersonThenCup(
  job: any,
  frames: ApiFrame[],
  times: number[],
  segmentSeconds: number,
): void {
  const n = times.length;
  assert.equal(job.status, 'completed', `job ${job.status}: ${job.error}`);
  assert.equal(job.error, null);
  assert.equal(job.progress.framesTotal, n);
  assert.equal(job.progress.framesDone, n);
  assert.equal(job.progress.chunksDone, job.progress.chunksTotal);
  assert.equal(job.progress.percent, 100);
  // every frame exactly once, in order, no gaps, no duplicates
  assert.deepEqual(
    frames.map((f) => f.frameIndex),
    Array.from({ length: n }, (_, i) => i),
  );
  for (let i = 0; i < n; i++) {
    assert.ok(
      Math.abs(frames[i].timestamp - times[i]) < 1e-6,
      `frame ${i}: timestamp ${frames[i].timestamp} != ffprobe ${times[i]}`,
    );
  }
  const has = (f: ApiFrame, label: string) => f.detections.some((d) => d.label === label);
  const first = frames.filter((f) => f.timestamp < segmentSeconds - 1e-9);
  const second = frames.filter((f) => f.timestamp >= segmentSeconds - 1e-9);
  assert.ok(first.length > 0 && second.length > 0);
  const personShare = first.filter((f) => has(f, 'person')).length / first.length;
  assert.ok(personShare >= 0.9, `person in ${(personShare * 100).toFixed(0)}% of the first segment's frames`);
  assert.equal(first.filter((f) => has(f, 'cup')).length, 0, 'no cup before the second segment');
  const cupFrames = second.filter((f) => has(f, 'cup'));
  assert.ok(
    cupFrames.length >= second.length / 2,
    `cup in ${cupFrames.length}/${second.length} frames of the second segment`,
  );
  // boxes inside the picture and scores in range
  const { width, height } = job.video.probe.video;
  for (const f of frames) {
    for (const d of f.detections) {
      assert.ok(d.score >= job.options.minScore && d.score <= 1, `score ${d.score}`);
      assert.ok(
        d.box.x1 >= -1 &&
          d.box.y1 >= -1 &&
          d.box.x2 <= width + 1 &&
          d.box.y2 <= height + 1 &&
          d.box.x1 < d.box.x2 &&
          d.box.y1 < d.box.y2,
        JSON.stringify(d.box),
      );
    }
  }

  // the summary agrees with the frames
  const s = job.summary;
  assert.ok(s, 'summary');
  assert.equal(s.framesAnalysed, n);
  assert.equal(s.framesWithDetections, frames.filter((f) => f.detections.length > 0).length);
  const labels = new Set(frames.flatMap((f) => f.detections.map((d) => d.label)));
  assert.deepEqual(s.labels.map((l: any) => l.label).sort(), [...labels].sort());
  for (const l of s.labels) {
    const withIt = frames.filter((f) => has(f, l.label));
    assert.equal(l.frames, withIt.length, `${l.label} frames`);
    assert.equal(l.firstSeen, withIt[0].timestamp, `${l.label} firstSeen`);
    assert.equal(l.lastSeen, withIt[withIt.length - 1].timestamp, `${l.label} lastSeen`);
    const best = Math.max(
      ...withIt.flatMap((f) => f.detections.filter((d) => d.label === l.label).map((d) => d.score)),
    );
    assert.ok(Math.abs(l.maxScore - best) < 1e-4, `${l.label} maxScore ${l.maxScore} vs ${best}`);
    assert.ok(l.segments.length >= 1);
    assert.equal(l.segments[0].start, l.firstSeen);
    assert.equal(l.segments[l.segments.length - 1].end, l.lastSeen);
    for (const seg of l.segments) assert.ok(seg.start <= seg.end);
  }
  const person = s.labels.find((l: any) => l.label === 'person');
  const cup = s.labels.find((l: any) => l.label === 'cup');
  assert.ok(person && cup, 'person and cup in the summary');
  assert.ok(
    person.firstSeen < segmentSeconds && cup.firstSeen >= segmentSeconds - 1e-9,
    `person at ${person.firstSeen}, cup at ${cup.firstSeen}`,
  );
}

/** Reads an SSE stream with fetch until it ends (or timeoutMs), returning the events. */
export async function readEvents(
  url: string,
  token: string,
  timeoutMs = 60_000,
): Promise<{ event: string; data: any }[]> {
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const text = await res.text();
  const events: { event: string; data: any }[] = [];
  for (const block of text.split('\n\n')) {
    const ev = /^event: (.*)$/m.exec(block);
    const data = /^data: (.*)$/m.exec(block);
    if (ev && data) events.push({ event: ev[1], data: JSON.parse(data[1]) });
  }
  return events;
}
