import { randomUUID } from 'node:crypto';
import type { DeliveriesRepository } from '../../db/repositories/deliveries.js';
import type { JobsRepository } from '../../db/repositories/jobs.js';
import { withoutPaths } from '../../errors.js';
import type { TaskContext } from '../../queue/port.js';
import {
  CallbackResponseError,
  CallbackUrlError,
  callbackPayload,
  type deliverCallback,
} from '../callbacks.js';

/**
 * The `notify` task: one signed POST of the finished job to its callbackUrl (the queue retries).
 * Every attempt is written to the job's delivery log (GET /v1/jobs/:id/deliveries): when, which
 * attempt, the receiver's status or why there was none, how long it took.
 */
export interface NotifyTaskDeps {
  jobs: Pick<JobsRepository, 'getById'>;
  deliveries: Pick<DeliveriesRepository, 'record'>;
  deliver: typeof deliverCallback;
  callbacks: { secret: string; allowlist: readonly string[] | null };
  log?: { warn(obj: unknown, msg?: string): void };
}

/** Why a delivery attempt failed, as a sentence for the delivery log. Pure. */
export function describeDeliveryError(e: unknown): string {
  if (e instanceof CallbackResponseError) return `The receiver answered HTTP ${e.status}.`;
  if (e instanceof CallbackUrlError) return withoutPaths(e.message);
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError')
    return 'The receiver did not answer in time.';
  const code = err?.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'The receiver refused the connection.';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return "The receiver's host name could not be resolved.";
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'The connection to the receiver was reset.';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'The connection to the receiver timed out.';
  }
  const text = (err?.cause?.message ?? err?.message ?? String(e)).replace(/\s+/g, ' ').trim().slice(0, 200);
  return withoutPaths(`The delivery failed: ${text}`).replace(/\.?$/, '.');
}

export function createNotifyTask(deps: NotifyTaskDeps) {
  async function record(
    jobId: string,
    attempt: number,
    attemptedAt: Date,
    started: number,
    outcome: {
      statusCode: number | null;
      error: string | null;
    },
  ) {
    try {
      await deps.deliveries.record({
        id: randomUUID(),
        jobId,
        attemptedAt,
        attempt,
        durationMs: Math.max(0, performance.now() - started),
        succeeded: outcome.error === null,
        ...outcome,
      });
    } catch (err) {
      // the job may have been deleted meanwhile; the log must never fail the delivery
      deps.log?.warn({ err, jobId }, 'could not record a callback delivery');
    }
  }

  return async function notifyJob(
    { jobId }: { jobId: string },
    ctx?: Pick<TaskContext, 'attempt'>,
  ): Promise<void> {
    const job = await deps.jobs.getById(jobId);
    if (!job?.options.callbackUrl) return;
    const attempt = ctx?.attempt ?? 1;
    const attemptedAt = new Date();
    const started = performance.now();
    try {
      const { status } = await deps.deliver(job.options.callbackUrl, callbackPayload(job), deps.callbacks);
      await record(jobId, attempt, attemptedAt, started, { statusCode: status, error: null });
    } catch (e) {
      const statusCode = e instanceof CallbackResponseError ? e.status : null;
      await record(jobId, attempt, attemptedAt, started, { statusCode, error: describeDeliveryError(e) });
      throw e;
    }
  };
}
