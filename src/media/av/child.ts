import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/**
 * Crash containment for everything that decodes media: the FFmpeg libraries (node-av) run in a
 * child Node process, never in the API process or a worker. Whatever happens in there (a
 * segfault or abort in a decoder, memory running away, a file that makes the demuxer loop) kills
 * the child only, and the parent turns it into one sentence.
 *
 * The bounds, all enforced from the parent:
 * - `timeoutMs`: wall-clock limit, then SIGKILL;
 * - `maxRssMb`: the child's resident memory, read from /proc/<pid>/status (VmRSS) every
 *   `rssPollMs` (200 ms); over the bound, SIGKILL. The FFmpeg buffers live outside the V8 heap, so
 *   `--max-old-space-size` alone would not bound them; it is set too (`maxOldSpaceMb`) so that the
 *   JavaScript side fails early and cleanly;
 * - `signal`: an AbortSignal, then SIGKILL;
 * - stdout is handed to the caller as a stream (backpressure: a full pipe blocks the child), or
 *   collected up to `maxStdoutBytes` by runMediaChild;
 * - stderr: only the last 8 kB are kept (for logs; never shown to users as is: paths).
 *
 * The program run is src/media/av/tool.ts (dist/media/av/tool.js once built). From the compiled
 * code it runs the compiled .js; from the sources (tests under tsx) it runs the .ts with
 * `--import tsx`, so the child always runs the same code as the parent.
 *
 * Other programs may use the same runner (`program`), e.g. a renderer that encodes with node-av.
 */

export interface MediaChildOptions {
  /** arguments after the program (tool.ts takes a command and a JSON request) */
  args: string[];
  /** the program to run: a .js or .ts file (default: the media tool next to this file) */
  program?: string | URL;
  /** bytes written to the child's stdin (then closed); default: stdin closed at once */
  input?: Buffer | Uint8Array;
  /** wall-clock limit (ms), then SIGKILL */
  timeoutMs: number;
  /** resident memory bound (MiB), then SIGKILL */
  maxRssMb: number;
  /** V8 heap bound of the child (MiB); default min(512, maxRssMb / 2) */
  maxOldSpaceMb?: number;
  /** how often VmRSS is read (ms); default 200 */
  rssPollMs?: number;
  signal?: AbortSignal;
  /** environment for the child; default: this process's */
  env?: NodeJS.ProcessEnv;
}

/** Why the parent killed the child, if it did. */
export type KillReason = 'timeout' | 'memory' | 'aborted' | 'output' | null;

export interface MediaChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  killed: KillReason;
  /** the last 8 kB of stderr */
  stderrTail: string;
  /** the highest VmRSS seen (MiB) */
  peakRssMb: number;
  /** the child could not be started at all */
  spawnError: Error | null;
}

export interface MediaChild {
  stdout: Readable;
  /** resolves when the child has exited and its streams are closed; never rejects */
  exited: Promise<MediaChildExit>;
  /** SIGKILL now (idempotent); `reason` is what `exited` reports (default 'aborted') */
  kill(reason?: KillReason): void;
  pid: number | undefined;
}

const STDERR_TAIL = 8192;
const HERE = new URL('.', import.meta.url);
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** The media tool program (tool.js from dist/, or tool.ts when this file runs from the sources). */
export const MEDIA_TOOL: URL = new URL(FROM_SOURCE ? 'tool.ts' : 'tool.js', HERE);

/** The node arguments that run `program`: a .ts file under tsx, a .js file as it is. */
export function childNodeArgs(program: string | URL, maxOldSpaceMb: number): string[] {
  const file = program instanceof URL ? fileURLToPath(program) : program;
  const args = [`--max-old-space-size=${Math.max(32, Math.floor(maxOldSpaceMb))}`];
  if (/\.[cm]?ts$/.test(file)) args.push('--import', import.meta.resolve('tsx'));
  args.push(file);
  return args;
}

/** VmRSS of a process in MiB, from /proc/<pid>/status; null when it cannot be read (exited, not Linux). */
export async function readRssMb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Starts the child. Its stdout is the caller's to read; `exited` tells how it ended. */
export function spawnMediaChild(opts: MediaChildOptions): MediaChild {
  const program = opts.program ?? MEDIA_TOOL;
  const heap = opts.maxOldSpaceMb ?? Math.min(512, Math.max(64, Math.floor(opts.maxRssMb / 2)));
  let killed: KillReason = null;
  let stderrTail = '';
  let peakRssMb = 0;
  let spawnError: Error | null = null;
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(
    process.execPath,
    [...childNodeArgs(program, heap), ...opts.args],
    { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env },
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const kill = (reason: KillReason = 'aborted') => {
    if (!running()) return;
    if (killed === null) killed = reason;
    child.kill('SIGKILL');
  };
  child.stderr.on('data', (b: Buffer) => {
    stderrTail = (stderrTail + b.toString('utf8')).slice(-STDERR_TAIL);
  });
  child.stdin.on('error', () => {}); // the child may exit before reading all its input
  child.stdin.end(opts.input ?? undefined);

  const timer = setTimeout(() => kill('timeout'), Math.max(1, opts.timeoutMs));
  let polling = false;
  const poll = setInterval(
    () => {
      if (polling || child.pid === undefined) return;
      polling = true;
      void readRssMb(child.pid).then((mb) => {
        polling = false;
        if (mb == null) return;
        if (mb > peakRssMb) peakRssMb = mb;
        if (mb > opts.maxRssMb) kill('memory');
      });
    },
    Math.max(20, opts.rssPollMs ?? 200),
  );
  const onAbort = () => kill('aborted');
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  const exited = new Promise<MediaChildExit>((resolve) => {
    const finish = (code: number | null, sig: NodeJS.Signals | null) => {
      clearTimeout(timer);
      clearInterval(poll);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal: sig, killed, stderrTail, peakRssMb, spawnError });
    };
    child.on('error', (e) => {
      spawnError = e;
      if (child.pid === undefined) finish(null, null);
    });
    child.on('close', (code, sig) => finish(code, sig));
  });
  return { stdout: child.stdout, exited, kill, pid: child.pid };
}

export interface MediaChildResult extends MediaChildExit {
  stdout: Buffer;
}

/** Runs the child to the end and collects its stdout (over `maxStdoutBytes`: killed, 'output'). */
export async function runMediaChild(
  opts: MediaChildOptions & { maxStdoutBytes: number },
): Promise<MediaChildResult> {
  const c = spawnMediaChild(opts);
  const out: Buffer[] = [];
  let bytes = 0;
  c.stdout.on('data', (b: Buffer) => {
    bytes += b.length;
    if (bytes > opts.maxStdoutBytes) c.kill('output');
    else out.push(b);
  });
  const exit = await c.exited;
  return { ...exit, stdout: Buffer.concat(out) };
}

/** Whether the child ended normally (exit code 0, not killed). */
export function childSucceeded(exit: MediaChildExit): boolean {
  return exit.code === 0 && exit.killed === null && exit.spawnError === null;
}

/**
 * One sentence for a child that did not end normally, e.g. "The video decoder crashed (SIGSEGV)
 * at 12.4 s." `what` names the part ("The video decoder"); `atSec` is where it was, if known;
 * `limits` lets the sentence say which bound was hit. Null when the child ended normally or
 * exited with a code of its own (the caller reads its error message then).
 */
export function describeChildFailure(
  exit: MediaChildExit,
  what: string,
  ctx: { atSec?: number | null; timeoutMs?: number; maxRssMb?: number } = {},
): string | null {
  const at = ctx.atSec != null && Number.isFinite(ctx.atSec) ? ` at ${ctx.atSec.toFixed(1)} s` : '';
  if (exit.spawnError) return `${what} could not be started (${exit.spawnError.message}).`;
  switch (exit.killed) {
    case 'timeout':
      return `${what} took longer than ${secondsText(ctx.timeoutMs)} and was stopped${at}.`;
    case 'memory':
      return `${what} used more than ${ctx.maxRssMb ?? Math.round(exit.peakRssMb)} MB of memory and was stopped${at}.`;
    case 'output':
      return `${what} produced more output than expected and was stopped${at}.`;
    case 'aborted':
      return `${what} was stopped${at}.`;
    default:
      break;
  }
  if (exit.signal) {
    if (exit.signal === 'SIGKILL') return `${what} was killed (SIGKILL, perhaps out of memory)${at}.`;
    return `${what} crashed (${exit.signal})${at}.`;
  }
  // V8 heap exhaustion: node aborts with this on stderr (exit code 134 where not a signal)
  if (/JavaScript heap out of memory|Allocation failed/.test(exit.stderrTail))
    return `${what} ran out of memory${at}.`;
  return null;
}

function secondsText(ms: number | undefined): string {
  if (ms == null) return 'its time limit';
  const s = ms / 1000;
  return `${s >= 10 ? Math.round(s) : Number(s.toFixed(1))} s`;
}
