/**
 * HTTP Range (RFC 9110 §14) and media types for serving stored videos to the browser's <video>.
 * Pure functions.
 */

/**
 * Parses a `Range` header against a file of `size` bytes (RFC 9110 §14.1.2). Returns the inclusive
 * byte range to send, 'unsatisfiable' for a 416, or null to ignore the header and send the whole
 * file (absent, malformed, not in bytes, or several ranges: a server may ignore Range).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null;
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    // suffix: the last n bytes
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  let end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return null; // invalid: ignore
  if (start >= size) return 'unsatisfiable';
  if (end >= size) end = size - 1;
  return { start, end };
}

const BY_EXTENSION: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  avi: 'video/x-msvideo',
  ogv: 'video/ogg',
  ts: 'video/mp2t',
  mpg: 'video/mpeg',
  mpeg: 'video/mpeg',
};

/** The MIME type for a stored video, from ffprobe's format name when known, else the key's extension; default video/mp4. */
export function videoContentType(key: string, formatName?: string | null): string {
  const f = (formatName ?? '').toLowerCase();
  if (f) {
    if (f.includes('mp4') || f.includes('mov')) return 'video/mp4';
    if (f.includes('webm') || f.includes('matroska')) return 'video/webm';
    if (f === 'avi') return 'video/x-msvideo';
    if (f === 'ogg') return 'video/ogg';
    if (f === 'mpegts') return 'video/mp2t';
    if (f.startsWith('mpeg')) return 'video/mpeg';
  }
  const ext = /\.([a-z0-9]+)$/i.exec(key)?.[1]?.toLowerCase();
  return (ext && BY_EXTENSION[ext]) || 'video/mp4';
}
