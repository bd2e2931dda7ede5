import { ServiceUnavailableError } from '../errors.js';

/**
 * At most `max` tasks at once; up to `maxWaiting` more wait their turn in order; beyond that a
 * task is refused at once. A task that has not finished `timeoutMs` after it asked (waiting
 * included) is answered with a 503, while its work, which cannot be interrupted (inference in a
 * worker thread), still holds its turn until it really ends. Refusals carry `retryAfterSeconds`.
 */
export class BusyError extends ServiceUnavailableError {
  constructor(
    message: string,
    code: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, code);
  }
}

export interface ConcurrencyLimiter {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** tasks running and waiting now */
  stats(): { running: number; waiting: number };
}

export function createConcurrencyLimiter(opts: {
  max: number;
  maxWaiting: number;
  timeoutMs: number;
  /** what the refusals say is busy, e.g. "Image detection" */
  what: string;
}): ConcurrencyLimiter {
  let running = 0;
  const waiting: (() => void)[] = [];
  const retryAfter = Math.max(1, Math.ceil(opts.timeoutMs / 1000));

  const release = () => {
    running -= 1;
    const next = waiting.shift();
    if (next) {
      running += 1;
      next();
    }
  };

  return {
    stats: () => ({ running, waiting: waiting.length }),
    run<T>(task: () => Promise<T>): Promise<T> {
      if (running >= opts.max && waiting.length >= opts.maxWaiting) {
        return Promise.reject(
          new BusyError(`${opts.what} is busy; try again in a few seconds.`, 'BUSY', retryAfter),
        );
      }
      return new Promise<T>((resolve, reject) => {
        let settled = false;
        const timer = setTimeout(() => {
          if (settled) return;
          settled = true;
          const i = waiting.indexOf(start);
          if (i >= 0) waiting.splice(i, 1); // it never started: it takes no turn
          reject(
            new BusyError(
              `${opts.what} took longer than ${opts.timeoutMs / 1000} s; try again later.`,
              'TIMEOUT',
              retryAfter,
            ),
          );
        }, opts.timeoutMs);
        timer.unref();
        function start() {
          new Promise<T>((r) => r(task())).then(
            (v) => {
              release();
              clearTimeout(timer);
              if (!settled) {
                settled = true;
                resolve(v);
              }
            },
            (e) => {
              release();
              clearTimeout(timer);
              if (!settled) {
                settled = true;
                reject(e);
              }
            },
          );
        }
        if (running < opts.max) {
          running += 1;
          start();
        } else waiting.push(start);
      });
    },
  };
}
