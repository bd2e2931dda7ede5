import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** Starts scripts/topology.mjs (API, processor, detector workers as separate processes) for e2e tests. */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface Topology {
  url: string;
  databaseUrl: string;
  prefix: string;
  dataDir: string;
  pids: { api: number; processor: number; detectors: number[] };
  proc: ChildProcess;
  /** stderr of the topology and its processes (warnings and errors) */
  logs(): string;
  /** a SQL query on the topology's database */
  query<T = any>(text: string, values?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export async function startTopology(
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<Topology> {
  const proc = spawn(process.execPath, ['scripts/topology.mjs', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  proc.stderr!.on('data', (b: Buffer) => {
    logs = (logs + b.toString()).slice(-200_000);
    if (process.env.TOPOLOGY_VERBOSE) process.stderr.write(b);
  });
  const info = await new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`topology did not start in 90 s:\n${logs}`)), 90_000);
    createInterface({ input: proc.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`topology exited (${code}) before it was ready:\n${logs}`));
    });
  });
  const pool = new pg.Pool({ connectionString: info.databaseUrl, max: 2 });
  return {
    ...info,
    proc,
    logs: () => logs,
    async query(text, values) {
      return (await pool.query(text, values)).rows;
    },
    async stop() {
      await pool.end().catch(() => {});
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
