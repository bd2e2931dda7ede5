import { childSucceeded, describeChildFailure, type MediaChildExit, runMediaChild } from './child.js';

/**
 * Runs one command of the media tool to completion (probe, image, jpeg; scan and decode stream:
 * see packets.ts and frames.ts). Resolves with stdout; rejects with a MediaToolError whose
 * message is one sentence: the tool's own (a refusal, "no frame at..."), or what happened to the
 * process (crash, time, memory).
 */
export class MediaToolError extends Error {
  override name = 'MediaToolError';
  constructor(
    message: string,
    /** true when the tool itself refused or failed with a sentence; false for a crash or a bound */
    readonly known: boolean,
    readonly exit: MediaChildExit | null = null,
    /** the tool's code for a refusal that must not be retried or skipped past (FRAME_TOO_LARGE) */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** The `@@error {json}` line the tool writes last on stderr, if any. */
export function toolErrorLine(
  stderrTail: string,
): { message: string; known: boolean; code: string | null } | null {
  const i = stderrTail.lastIndexOf('@@error ');
  if (i < 0) return null;
  const line = stderrTail.slice(i + 8).split('\n')[0];
  try {
    const j = JSON.parse(line) as { message?: unknown; known?: unknown; code?: unknown };
    if (typeof j.message !== 'string') return null;
    return { message: j.message, known: j.known === true, code: typeof j.code === 'string' ? j.code : null };
  } catch {
    return null;
  }
}

/** The sentence for a tool process that did not succeed. */
export function toolFailure(
  exit: MediaChildExit,
  what: string,
  ctx: { atSec?: number | null; timeoutMs?: number; maxRssMb?: number } = {},
): MediaToolError {
  const own = toolErrorLine(exit.stderrTail);
  if (own && exit.killed === null && exit.signal === null)
    return new MediaToolError(own.message, own.known, exit, own.code);
  const sentence =
    describeChildFailure(exit, what, ctx) ?? `${what} failed (exit code ${exit.code ?? 'none'}).`;
  return new MediaToolError(sentence, false, exit);
}

export async function runTool(
  command: 'probe' | 'image' | 'jpeg',
  request: unknown,
  opts: {
    what: string;
    timeoutMs: number;
    maxRssMb: number;
    maxStdoutBytes: number;
    input?: Uint8Array;
    signal?: AbortSignal;
  },
): Promise<Buffer> {
  const r = await runMediaChild({
    args: [command, JSON.stringify(request)],
    input: opts.input,
    timeoutMs: opts.timeoutMs,
    maxRssMb: opts.maxRssMb,
    maxStdoutBytes: opts.maxStdoutBytes,
    signal: opts.signal,
  });
  if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
  if (!childSucceeded(r)) throw toolFailure(r, opts.what, opts);
  return r.stdout;
}
