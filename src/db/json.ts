/**
 * jsonb columns. Writes go in as JSON text (pg would turn a JS array into a SQL array); reads come
 * back parsed from pg but may come back as text from PGlite, so every read goes through fromJson.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value);
}

export function fromJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
