import { batched, type ExportFrame, num, type Source } from './types.js';

/**
 * CSV, one row per detection (RFC 4180: CRLF line ends, a field with a comma, quote, CR or LF is
 * quoted and its quotes doubled). A header row names the columns; a frame with no detection has
 * no row. track_id is empty for a detection in no track.
 */

export const CSV_COLUMNS = ['frame_index', 'timestamp', 'track_id', 'label', 'score', 'x1', 'y1', 'x2', 'y2'];

export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvRow(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

export async function* csvExport(frames: Source<ExportFrame>): AsyncGenerator<string> {
  yield* batched(
    (async function* () {
      yield csvRow(CSV_COLUMNS);
      for await (const f of frames) {
        const ts = num(f.timestamp, 6);
        for (const d of f.detections) {
          const b = d.box;
          yield csvRow([
            String(f.frameIndex),
            ts,
            d.trackId === null ? '' : String(d.trackId),
            d.label,
            num(d.score, 4),
            num(b.x1),
            num(b.y1),
            num(b.x2),
            num(b.y2),
          ]);
        }
      }
    })(),
  );
}
