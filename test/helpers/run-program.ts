// Runs a program to completion (tests and benchmarks: Debian's ffmpeg makes their media; the
// service itself never spawns ffmpeg). Was src/media/run.ts before the media layer moved to node-av.
import { spawn } from 'node:child_process';

export interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs a program to completion, collecting stdout (bounded by maxStdoutBytes) and the tail of
 * stderr. Never throws on a non-zero exit: callers decide what an exit code means.
 */
export function runProgram(
  program: string,
  args: string[],
  opts: { input?: Buffer; timeoutMs?: number; maxStdoutBytes?: number; signal?: AbortSignal } = {},
): Promise<RunResult> {
  const maxStdout = opts.maxStdoutBytes ?? 256 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'], signal: opts.signal });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > maxStdout) child.kill('SIGKILL');
      else out.push(b);
    });
    // keep only the last 8 kB of stderr: enough for the error ffmpeg printed last
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-8192);
    });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out), stderr: err, code, signal });
    });
    child.stdin.on('error', () => {}); // the program may exit before reading all its input
    child.stdin.end(opts.input);
  });
}
