// Progress for people: frames done of total, percent, and an estimate of the time left, from
// the progress events a job's stream sends (pure: unit-tested).
import { fmtDuration } from './format.js';
import type { Job, JobStatus, Progress } from './types.js';

export interface ProgressSample {
  /** when the sample was seen (ms, this browser's clock) */
  at: number;
  framesDone: number;
}

/** Samples older than this are forgotten: the estimate follows the current speed. */
const WINDOW_MS = 60_000;

/**
 * Keeps the recent (time, framesDone) samples of one job and estimates the seconds left from the
 * speed over them. `startedAt` (the server's clock) seeds the speed when the page opens on a job
 * that is already running, so an estimate shows before the next event arrives.
 */
export function createEta(startedAtMs?: number | null) {
  const samples: ProgressSample[] = [];
  let seed: ProgressSample | null =
    typeof startedAtMs === 'number' ? { at: startedAtMs, framesDone: 0 } : null;
  return {
    add(at: number, framesDone: number): void {
      const last = samples[samples.length - 1];
      if (last && framesDone < last.framesDone) samples.length = 0; // a retried chunk: start over
      if (!last || framesDone !== last.framesDone) samples.push({ at, framesDone });
      while (samples.length > 2 && at - samples[0].at > WINDOW_MS) samples.shift();
    },
    /** seconds left, or null while there is nothing to go on */
    secondsLeft(framesTotal: number, now: number): number | null {
      const last = samples[samples.length - 1];
      if (!last || framesTotal <= 0) return null;
      const first = samples.length >= 2 ? samples[0] : seed;
      if (!first || last.framesDone <= first.framesDone) return null;
      const spanMs = Math.max(now, last.at) - first.at;
      if (spanMs < 1000) return null;
      if (samples.length >= 2) seed = null; // own observations from now on
      const perSecond = (last.framesDone - first.framesDone) / (spanMs / 1000);
      const left = Math.max(0, framesTotal - last.framesDone) / perSecond;
      return Number.isFinite(left) ? left : null;
    },
  };
}

export type Eta = ReturnType<typeof createEta>;

/** One line: "48 of 120 frames · 40% · about 12 s left". */
export function progressLine(status: JobStatus, p: Progress, secondsLeft: number | null): string {
  switch (status) {
    case 'queued':
      return 'Queued: waiting for a worker';
    case 'processing': {
      if (p.framesTotal <= 0) return 'Reading the video’s frames…';
      const parts = [`${p.framesDone} of ${p.framesTotal} frames`, `${Math.floor(p.percent)}%`];
      if (secondsLeft !== null) parts.push(`about ${fmtDuration(Math.max(1, secondsLeft))} left`);
      return parts.join(' · ');
    }
    case 'completed':
      return `${p.framesTotal} frames analysed`;
    case 'failed':
      return 'Failed';
    case 'canceled':
      return `Canceled after ${p.framesDone} of ${p.framesTotal} frames`;
  }
}

/** The job's options in a few words: "every frame · min score 0.25 · labels: person, car". */
export function optionsLine(job: Pick<Job, 'options'>): string {
  const o = job.options;
  return [
    o.fps ? `${o.fps} fps sampled` : 'every frame',
    `min score ${o.minScore}`,
    o.labels?.length ? `labels: ${o.labels.join(', ')}` : 'all labels',
    `model ${o.model}`,
  ].join(' · ');
}
