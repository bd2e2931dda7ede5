import type { IdempotencyKeysRepository } from '../db/repositories/idempotency-keys.js';
import type { JobsRepository } from '../db/repositories/jobs.js';
import type { RefreshTokensRepository } from '../db/repositories/refresh-tokens.js';
import { renderFolder } from '../storage/keys.js';
import type { BlobStore } from '../storage/local.js';
import { IDEMPOTENCY_TTL_MS } from './idempotency.js';

/**
 * The periodic sweep: expired refresh tokens and Idempotency-Keys are deleted, and with
 * RETENTION_DAYS, finished jobs older than that lose their video, their annotated videos and their
 * rows (detections, chunks, deliveries, renders go with the row). Every step is an idempotent DELETE, so several API
 * processes sweeping at once only repeat each other's work. A video is removed before its row: a
 * sweep that stops between the two finds the row again next time, never an orphaned file.
 */
export interface Housekeeping {
  /** One sweep now; what it removed. */
  runOnce(): Promise<SweepResult>;
  /** Sweeps now and then every interval (the timer does not keep the process alive). */
  start(): void;
  stop(): Promise<void>;
}

export interface SweepResult {
  refreshTokens: number;
  idempotencyKeys: number;
  jobs: number;
}

/** Jobs removed per query by the retention sweep (it loops until none are left). */
const RETENTION_BATCH = 100;

export function createHousekeeping(deps: {
  refreshTokens: Pick<RefreshTokensRepository, 'deleteExpired'>;
  idempotencyKeys: Pick<IdempotencyKeysRepository, 'deleteExpired'>;
  jobs: Pick<JobsRepository, 'listFinishedBefore' | 'delete'>;
  storage: Pick<BlobStore, 'remove' | 'removeFolder'>;
  retentionDays: number | null;
  intervalMs: number;
  log?: { info(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void };
  now?: () => Date;
}): Housekeeping {
  const now = deps.now ?? (() => new Date());
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  async function expireJobs(): Promise<number> {
    if (!deps.retentionDays) return 0;
    const before = new Date(now().getTime() - deps.retentionDays * 86_400_000);
    let removed = 0;
    for (;;) {
      const batch = await deps.jobs.listFinishedBefore(before, RETENTION_BATCH);
      for (const job of batch) {
        await deps.storage.remove(job.videoKey);
        await deps.storage.removeFolder(renderFolder(job.id));
        if (await deps.jobs.delete(job.id, job.userId)) removed += 1;
      }
      if (batch.length < RETENTION_BATCH || stopped) return removed;
    }
  }

  async function runOnce(): Promise<SweepResult> {
    const t = now();
    const result = {
      refreshTokens: await deps.refreshTokens.deleteExpired(t),
      idempotencyKeys: await deps.idempotencyKeys.deleteExpired(new Date(t.getTime() - IDEMPOTENCY_TTL_MS)),
      jobs: await expireJobs(),
    };
    if (result.refreshTokens || result.idempotencyKeys || result.jobs) deps.log?.info(result, 'housekeeping');
    return result;
  }

  const tick = () => {
    running = runOnce()
      .catch((err) => deps.log?.warn({ err }, 'housekeeping failed; it runs again at the next interval'))
      .finally(() => {
        running = undefined;
        if (!stopped) {
          timer = setTimeout(tick, deps.intervalMs);
          timer.unref();
        }
      });
  };

  return {
    runOnce,
    start() {
      if (timer || running || stopped) return;
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
