import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sampleFrames } from '../../src/media/chunks.js';
import { allFramesPaged, waitForJob } from '../integration/pipeline/checks.js';
import { assertError, call, type Res, upload } from './http.js';

/**
 * Checks shared by the media corpus and hostile-file tests (issue 9, items 6 and 7): what a
 * completed job must hold (every decodable frame exactly once, skipped frames reported), what a
 * refusal must be (a 4xx with one sentence, nothing stored), and the memory of the server and
 * its child processes (decoders) read from /proc.
 */

export type ApiFrame = Awaited<ReturnType<typeof allFramesPaged>>['frames'][number];

/**
 * The skipped-frame count and reasons on a job: `progress.framesSkipped` and `warnings` (one
 * sentence per chunk that skipped frames), as the media branch names them; absent fields (the
 * engine before issue 9) read as none.
 */
export function skipped(job: any): { count: number; reason: string | null; reasons: string[] } {
  const count = Number(job.progress?.framesSkipped ?? 0);
  const reasons: string[] = Array.isArray(job.warnings) ? job.warnings : [];
  return { count, reason: reasons[0] ?? null, reasons };
}

/** One sentence for a user: a capital or digit or quote first, a full stop last, no stack, no path. */
export function assertSentence(msg: unknown, what: string): void {
  assert.equal(typeof msg, 'string', `${what}: not a string`);
  const s = msg as string;
  assert.match(s, /^[A-Za-z0-9"'].*[.!]$/s, `${what} is not a sentence: ${s}`);
  assert.ok(s.length < 400, `${what} is too long: ${s}`);
  assert.doesNotMatch(
    s,
    /\n\s+at |node_modules|\.ts:\d+|\/tmp\/|\/work\//,
    `${what} leaks a stack or a path: ${s}`,
  );
}

export interface FrameExpectation {
  /** the sampling option sent (`fps` form field); null: every frame */
  fps: number | null;
  /** Debian ffprobe's decoded frame times (relative to the first), where comparing is meaningful */
  reference?: number[];
  /** how the reference may differ: 'exact' (same frames, same times) or 'near' (damaged files: ±slack frames) */
  match?: 'exact' | 'near';
  slack?: number;
}

/**
 * A completed job over a video: every decodable frame once and the rest reported as skipped.
 * Frame indices unique and ascending, timestamps finite and strictly increasing, framesDone
 * frames back through the API, framesDone + framesSkipped = framesTotal, a reason when frames
 * were skipped; against Debian ffprobe's frames: the same planned frames (and times within 2 ms)
 * for 'exact', a count within `slack` for 'near'.
 */
export function assertEveryFrameOnce(job: any, frames: ApiFrame[], exp: FrameExpectation): void {
  assert.equal(job.status, 'completed', `job ${job.status}: ${job.error}`);
  assert.equal(job.error ?? null, null);
  const p = job.progress;
  const sk = skipped(job);
  assert.ok(frames.length > 0, 'no frame analysed');
  assert.equal(frames.length, p.framesDone, `frames returned ${frames.length} vs framesDone ${p.framesDone}`);
  assert.equal(
    p.framesDone + sk.count,
    p.framesTotal,
    `framesDone ${p.framesDone} + framesSkipped ${sk.count} != framesTotal ${p.framesTotal}`,
  );
  if (sk.count > 0) {
    assert.ok(sk.reasons.length > 0, `${sk.count} frames skipped without a reason`);
    for (const r of sk.reasons) assertSentence(r, `the reason for ${sk.count} skipped frames`);
  }
  const idx = frames.map((f) => f.frameIndex);
  assert.equal(new Set(idx).size, idx.length, 'a frame index appears twice');
  for (let i = 1; i < frames.length; i++) {
    assert.ok(idx[i] > idx[i - 1], `frame indices not ascending at ${i}: ${idx[i - 1]}, ${idx[i]}`);
    assert.ok(
      frames[i].timestamp > frames[i - 1].timestamp,
      `timestamps not strictly increasing: frame ${idx[i - 1]} at ${frames[i - 1].timestamp}, frame ${idx[i]} at ${frames[i].timestamp}`,
    );
  }
  for (const f of frames)
    assert.ok(Number.isFinite(f.timestamp) && f.timestamp >= 0, `timestamp ${f.timestamp}`);
  // boxes inside the displayed picture
  const probe = job.video?.probe?.video;
  if (probe) {
    const turned = probe.rotation === 90 || probe.rotation === 270;
    const w = turned ? probe.height : probe.width;
    const h = turned ? probe.width : probe.height;
    for (const f of frames)
      for (const d of f.detections)
        assert.ok(
          d.box.x1 >= -1 && d.box.y1 >= -1 && d.box.x2 <= w + 1 && d.box.y2 <= h + 1,
          `frame ${f.frameIndex}: box ${JSON.stringify(d.box)} outside ${w}x${h}`,
        );
  }
  if (!exp.reference) return;
  const planned = sampleFrames(exp.reference, exp.fps);
  if ((exp.match ?? 'exact') === 'exact') {
    assert.equal(
      p.framesTotal,
      planned.length,
      `planned ${p.framesTotal} frames, Debian's ffprobe gives ${planned.length}`,
    );
    if (sk.count === 0) {
      assert.deepEqual(idx, planned, 'the analysed frames are not the ones Debian ffprobe decodes');
      for (let i = 0; i < idx.length; i++) {
        const want = exp.reference[idx[i]];
        assert.ok(
          Math.abs(frames[i].timestamp - want) < 0.002,
          `frame ${idx[i]}: timestamp ${frames[i].timestamp}, Debian's ffprobe ${want}`,
        );
      }
    }
  } else {
    const slack = exp.slack ?? 2;
    assert.ok(
      Math.abs(p.framesTotal - planned.length) <= slack,
      `planned ${p.framesTotal} frames, Debian's ffprobe decodes ${planned.length} (slack ${slack})`,
    );
  }
}

/** Every file under a folder (relative paths), for "nothing stored". */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(p).isDirectory()) walk(p, r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

export type Outcome =
  | { kind: 'refused'; res: Res }
  | { kind: 'completed'; job: any; frames: ApiFrame[] }
  | { kind: 'failed'; job: any };

/**
 * Uploads a file over HTTP and follows it to its end: a refusal (4xx; asserted to be one
 * sentence with nothing stored: no job, no file), or the final job (with every frame for a
 * completed one). A 5xx or a job that is canceled fails the test.
 */
export async function uploadAndFollow(
  base: string,
  token: string,
  storageRoot: string,
  file: string,
  opts: {
    filename: string;
    fps: number | null;
    timeoutMs?: number;
    /** compare the storage folder before and after a refusal (only when no other upload runs at once) */
    checkStorage?: boolean;
  },
): Promise<Outcome> {
  const jobsBefore = await call(base, 'GET', '/v1/jobs?limit=100', { token });
  assert.equal(jobsBefore.status, 200, jobsBefore.text);
  const filesBefore = filesUnder(storageRoot);
  const fields: Record<string, string> = opts.fps == null ? {} : { fps: String(opts.fps) };
  const up = await upload(base, token, file, fields, { filename: opts.filename });
  if (up.status >= 400 && up.status < 500) {
    assertError(up, up.status);
    const jobsAfter = await call(base, 'GET', '/v1/jobs?limit=100', { token });
    assert.equal(jobsAfter.body.jobs.length, jobsBefore.body.jobs.length, 'a refused upload left a job');
    if (opts.checkStorage ?? true)
      assert.deepEqual(filesUnder(storageRoot), filesBefore, 'a refused upload left a file in storage');
    return { kind: 'refused', res: up };
  }
  assert.equal(up.status, 202, `upload answered ${up.status}: ${up.text.slice(0, 300)}`);
  const id: string = up.body.job.id;
  let job: any;
  try {
    job = await waitForJob(base, token, id, { timeoutMs: opts.timeoutMs ?? 120_000, pollMs: 200 });
  } catch (e) {
    // a job that does not end in time is canceled, so it does not weigh on the next case
    await call(base, 'POST', `/v1/jobs/${id}/cancel`, { token }).catch(() => {});
    throw e;
  }
  assert.notEqual(job.status, 'canceled');
  if (job.status === 'failed') {
    assertSentence(job.error, 'the failed job error');
    return { kind: 'failed', job };
  }
  // includeNoise: these checks are about decoding (every frame once, the picture right), so they
  // read every detection, also those of tracks too short to count (a 1-frame or 3-frame file has
  // only such tracks; by default the API leaves them out as flicker)
  const { frames } = await allFramesPaged(base, token, job.id, 'includeNoise=true', 500);
  return { kind: 'completed', job, frames };
}

export function describeOutcome(o: Outcome): string {
  if (o.kind === 'refused')
    return `refused ${o.res.status} ${o.res.body?.error?.code}: ${o.res.body?.error?.message}`;
  if (o.kind === 'failed') return `failed: ${o.job.error}`;
  return `completed: ${o.frames.length} frames, ${skipped(o.job).count} skipped (${skipped(o.job).reason ?? '-'})`;
}

/** GET /healthz answers 200: the server keeps serving. */
export async function assertServing(base: string): Promise<void> {
  const r = await call(base, 'GET', '/healthz');
  assert.equal(r.status, 200, `/healthz answered ${r.status}`);
}

// ---------------------------------------------------------------------------------------------
// memory, read from /proc

function statusKiB(pid: number | 'self', field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // the process has ended
  }
}

/** The pids of this process's descendants (decoder and probe children, and theirs). */
export function descendants(root = process.pid): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(name), ppid);
    } catch {}
  }
  const out: number[] = [];
  const want = new Set([root]);
  let grew = true;
  for (let round = 0; grew && round < 16; round++) {
    grew = false;
    for (const [pid, ppid] of parent)
      if (want.has(ppid) && !want.has(pid)) {
        want.add(pid);
        out.push(pid);
        grew = true;
      }
  }
  return out;
}

/**
 * Samples the resident memory of this process (the server under test runs in it) and of every
 * descendant every 50 ms until stopped; a child's own peak (VmHWM) is read too, so a peak between
 * two samples is still seen while the child lives. Returns the peaks in MiB.
 */
export function watchMemory(): { stop(): { serverMiB: number; childMiB: number; childPid: number | null } } {
  let child = 0;
  let childPid: number | null = null;
  const sample = () => {
    for (const pid of descendants()) {
      const kib = Math.max(statusKiB(pid, 'VmRSS'), statusKiB(pid, 'VmHWM'));
      if (kib > child) {
        child = kib;
        childPid = pid;
      }
    }
  };
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { serverMiB: statusKiB('self', 'VmHWM') / 1024, childMiB: child / 1024, childPid };
    },
  };
}
