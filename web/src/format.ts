// Pure formatting and parsing of times, sizes and counts (no DOM: unit-tested in test/unit/web).

/** 0:03.2 (tenths); 1:02:03.4 past an hour. */
export function fmtTime(sec: number, decimals = 1): string {
  if (!Number.isFinite(sec)) return '–';
  const neg = sec < 0;
  const scale = 10 ** decimals;
  let t = Math.round(Math.abs(sec) * scale) / scale;
  const h = Math.floor(t / 3600);
  t -= h * 3600;
  const m = Math.floor(t / 60);
  const s = t - m * 60;
  const ss = s.toFixed(decimals).padStart(decimals ? 3 + decimals : 2, '0');
  const body = h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
  return neg ? `-${body}` : body;
}

/** A duration for people: "12 s", "3 min 05 s", "1 h 02 min". */
export function fmtDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '–';
  if (sec < 10) return `${Math.max(0, Math.round(sec * 10) / 10)} s`;
  if (sec < 60) return `${Math.round(sec)} s`;
  const total = Math.round(sec);
  if (total < 3600) return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, '0')} s`;
  return `${Math.floor(total / 3600)} h ${String(Math.floor((total % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * Reads a time typed by a person: "12.5" (seconds), "1:02.5", "1:02:03". Returns seconds, or null
 * when it is not a time.
 */
export function parseTime(text: string): number | null {
  const t = text.trim();
  if (t === '') return null;
  if (!/^\d+(:\d{1,2}){0,2}(\.\d+)?$/.test(t)) return null;
  const parts = t.split(':');
  let sec = 0;
  for (const p of parts) sec = sec * 60 + Number(p);
  return Number.isFinite(sec) ? sec : null;
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** "5 min ago", "yesterday"-free relative time: short and unambiguous. */
export function fmtAgo(thenMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}
