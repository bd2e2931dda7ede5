import { withoutPaths } from '../errors.js';
import type { TaskName } from '../queue/port.js';

/** Thrown for conditions a retry cannot fix; the message is shown to the user as the job's error. */
export class PermanentTaskError extends Error {}

/**
 * The job's error text after a task's last attempt failed: one sentence a user can read. This is
 * where an error becomes a job's error, so it is where file paths (from ffmpeg, the file system)
 * are taken out.
 */
export function failureReason(name: TaskName, payload: { chunkIndex?: number }, error: Error): string {
  const msg = withoutPaths(error.message.replace(/\s+/g, ' ').trim()).replace(/\.?$/, '.');
  if (error instanceof PermanentTaskError) return msg;
  switch (name) {
    case 'process':
      return `The video could not be prepared for analysis: ${msg}`;
    case 'detect':
      return `Analysis failed in chunk ${payload.chunkIndex ?? '?'}: ${msg}`;
    case 'finalize':
      return `The results could not be summarised: ${msg}`;
    default:
      return msg;
  }
}
