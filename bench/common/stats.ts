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
