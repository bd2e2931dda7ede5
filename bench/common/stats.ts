import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Shared by the pipeline and distributed benchmarks: timing, medians, the machine line. */

export const median = (xs: number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export async function timeMs<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = nowMs();
  const value = await fn();
  return { ms: nowMs() - t, value };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** "AMD EPYC ... x2, load 1.9 2.1 2.0" */
export function machineLine(): string {
  let load = '';
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {}
  return `CPU: ${cpus()[0]?.model ?? '?'} x${cpus().length}; Node ${process.version}; load average at the end: ${load}`;
}

/** A markdown table from a header and rows of cells. */
export function table(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const sep = header.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---'));
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** CPU seconds: this process, its reaped children (ffmpeg), and the whole machine by kind. */
export interface CpuSnapshot {
  self: number;
  children: number;
  machine: { busy: number; idle: number; steal: number };
}

const TICK = 100; // USER_HZ on Linux

export function cpuSnapshot(): CpuSnapshot {
  const u = process.cpuUsage();
  let children = 0;
  let machine = { busy: 0, idle: 0, steal: 0 };
  try {
    // /proc/self/stat: the fields after the ")" start at field 3; cutime, cstime are fields 16, 17
    const s = readFileSync('/proc/self/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    children = (Number(f[13]) + Number(f[14])) / TICK;
    const c = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    machine = {
      busy: (c[0] + c[1] + c[2] + c[5] + c[6]) / TICK,
      idle: (c[3] + c[4]) / TICK,
      steal: (c[7] ?? 0) / TICK,
    };
  } catch {}
  return { self: (u.user + u.system) / 1e6, children, machine };
}

/** Cores used per second of wall time between two snapshots: "self 1.7 + ffmpeg 0.3; machine busy 1.9, idle 0.1, steal 0.0". */
export function cpuLine(a: CpuSnapshot, b: CpuSnapshot, wallMs: number): string {
  const s = wallMs / 1000;
  const r = (x: number) => (x / s).toFixed(2);
  return `cores: self ${r(b.self - a.self)} + children ${r(b.children - a.children)}; machine busy ${r(b.machine.busy - a.machine.busy)}, idle ${r(b.machine.idle - a.machine.idle)}, steal ${r(b.machine.steal - a.machine.steal)}`;
}
