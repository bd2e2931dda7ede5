import type { JobRecord, JobsRepository } from '../db/repositories/jobs.js';

/**
 * What event streams read their jobs through: one database read per tick for every watched job
 * together (one query for up to READ_BATCH jobs), fanned out to all the streams watching each,
 * instead of one poll per connection. 500 streams of one job cost one row a second; 500 streams of
 * 500 jobs one query. Polling the database (not an in-process emitter) works the same when the
 * workers that make progress run in other processes or on other machines; each API process polls
 * for its own streams. The timer runs only while something is watched.
 */
export interface JobWatcher {
  /**
   * Calls `listener` after every tick with the job as it is then (null once it is gone), until
   * the returned function is called.
   */
  watch(jobId: string, listener: (job: JobRecord | null) => void): () => void;
  /** jobs and listeners watched now, and database reads made so far (for tests and benchmarks) */
  stats(): { jobs: number; listeners: number; reads: number };
  /** Stops the timer (listeners are not called again). */
  close(): void;
}

/** Jobs read in one query. */
export const READ_BATCH = 500;

export function createJobWatcher(deps: {
  jobs: Pick<JobsRepository, 'listByIds'>;
  pollMs: number;
  log?: { warn(obj: unknown, msg?: string): void };
}): JobWatcher {
  const watched = new Map<string, Set<(job: JobRecord | null) => void>>();
  let timer: NodeJS.Timeout | undefined;
  let reads = 0;
  let closed = false;
  let ticking = false;

  async function tick(): Promise<void> {
    timer = undefined;
    ticking = true;
    const ids = [...watched.keys()];
    try {
      for (let i = 0; i < ids.length; i += READ_BATCH) {
        const batch = ids.slice(i, i + READ_BATCH);
        reads += 1;
        const rows = new Map((await deps.jobs.listByIds(batch)).map((r) => [r.id, r]));
        for (const id of batch) {
          for (const listener of watched.get(id) ?? []) {
            try {
              listener(rows.get(id) ?? null);
            } catch (err) {
              deps.log?.warn({ err, jobId: id }, 'an event stream listener failed');
            }
          }
        }
      }
    } catch (err) {
      // the database is briefly unreachable: the streams wait for the next tick
      deps.log?.warn({ err }, 'could not read watched jobs');
    }
    ticking = false;
    schedule();
  }

  function schedule(): void {
    if (closed || ticking || timer || watched.size === 0) return;
    timer = setTimeout(() => void tick(), deps.pollMs);
    timer.unref();
  }

  return {
    watch(jobId, listener) {
      let set = watched.get(jobId);
      if (!set) {
        set = new Set();
        watched.set(jobId, set);
      }
      set.add(listener);
      schedule();
      return () => {
        const s = watched.get(jobId);
        if (!s) return;
        s.delete(listener);
        if (s.size === 0) watched.delete(jobId);
        if (watched.size === 0 && timer) {
          clearTimeout(timer);
          timer = undefined;
        }
      };
    },
    stats() {
      let listeners = 0;
      for (const s of watched.values()) listeners += s.size;
      return { jobs: watched.size, listeners, reads };
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * Per-user counts of something open (event streams), capped: `acquire` gives a release function,
 * or null when the user already holds `max`. In-process: with several API processes the cap holds
 * per process.
 */
export function createUserSlots(max: number) {
  const open = new Map<string, number>();
  return {
    max,
    acquire(userId: string): (() => void) | null {
      const n = open.get(userId) ?? 0;
      if (n >= max) return null;
      open.set(userId, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(userId) ?? 1) - 1;
        if (left <= 0) open.delete(userId);
        else open.set(userId, left);
      };
    },
    held(userId: string): number {
      return open.get(userId) ?? 0;
    },
  };
}
